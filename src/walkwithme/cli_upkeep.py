"""The operator's upkeep commands: `check`, `backup`, `restore`, `people import`,
`streets path`, `hook test`. Registered on the `walkwithme` command by cli.py."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import Progress

from walkwithme.cli_common import (
    DataOpt,
    JsonOpt,
    console,
    err,
    load,
    machine_timezone,
    open_services,
    out,
    where,
)
from walkwithme.clock import SystemClock
from walkwithme.config import Config
from walkwithme.notify.outbound import Outbound
from walkwithme.upkeep import backups, checks, hook, imports

SHIPPED_STREETS = Path(__file__).parent / "data" / "helsinki.osm.pbf"

_COLOUR = {checks.Verdict.OK: "green", checks.Verdict.WARN: "yellow", checks.Verdict.FAIL: "red"}


def check(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Is this deployment ready? One line a finding; exit code 1 if anything failed.

    Settings, database, data folder, channels, clock, streets, email alerts and the public
    address."""
    config = load(data)
    found = checks.run(config, SystemClock())
    if as_json:
        out(True, [{"what": f.what, "verdict": f.verdict.value, "said": f.said} for f in found], "")
    else:
        for f in found:
            word = f.verdict.value
            colour = _COLOUR[f.verdict]
            pad = " " * (8 - len(word))
            console.print(f"[{colour}]{word}[/{colour}]{pad}{f.what}: {escape(f.said)}")
    if any(f.verdict is checks.Verdict.FAIL for f in found):
        raise typer.Exit(1)


def backup(
    dest: Annotated[Path, typer.Argument(help="A new folder to write the backup into")],
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Copy the database and its keys into DEST, consistently, while the service runs."""
    config = load(data)
    if not config.database_url.startswith("sqlite"):
        err.print(
            "[red]error:[/red] this service keeps its data in PostgreSQL: back it up with "
            "pg_dump (docs/deploy.md#backups)"
        )
        raise typer.Exit(2)
    err.print(escape(where(config)), style="dim")
    try:
        copied = backups.backup(config.data_dir, dest)
    except backups.BackupError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    out(
        as_json,
        {"folder": str(copied.folder), "files": list(copied.files), "bytes": copied.size},
        f"Backed up into {copied.folder}: {', '.join(copied.files)} "
        f"({copied.size / 1_000_000:.1f} MB). It holds where people walked: keep it private.",
    )


def restore(
    source: Annotated[Path, typer.Argument(help="A folder `walkwithme backup` wrote")],
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Put a backup into an empty data folder, for `serve` to run on.

    A backup from an older release is migrated when the service starts."""
    config = load(data)
    if not config.database_url.startswith("sqlite"):
        err.print("[red]error:[/red] restore a PostgreSQL database with pg_restore or psql")
        raise typer.Exit(2)
    try:
        copied = backups.restore(source, config.data_dir)
    except backups.BackupError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(1) from None
    out(
        as_json,
        {
            "folder": str(copied.folder),
            "files": list(copied.files),
            "live_walks": copied.live,
            "alarms": copied.alarms,
        },
        f"Restored {', '.join(copied.files)} into {copied.folder}.{_still_going_on(copied)}",
    )


def _still_going_on(copied: backups.Copied) -> str:
    """What `serve` will do with the walks the backup holds as going on: judge them again at
    once, as things were when it was taken."""
    if not copied.live:
        return ""
    walks = "1 walk" if copied.live == 1 else f"{copied.live} walks"
    alarms = f" ({copied.alarms} in alarm)" if copied.alarms else ""
    return (
        f"\nIt holds {walks} going on when it was taken{alarms}: `serve` watches them again at "
        "once, as they were then. They may have ended since; if not, they are late or silent "
        "by now and are asked about, and an alarm climbs on to guardians and the emergency "
        "hook. Before serving, tell their walkers and companions; a companion ends an alarm "
        'that is over with "Mark her safe" (docs/deploy.md#backups).'
    )


def people_import(
    file: Annotated[Path, typer.Argument(help="CSV with the columns email,name,timezone,operator")],
    timezone: Annotated[
        str | None,
        typer.Option(help="Time zone for rows that give none; default: this machine's"),
    ] = None,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create many accounts from a CSV file, all or none; prints each password once."""
    problems: list[str] = []
    try:
        rows = imports.read(file, timezone or machine_timezone())
    except imports.ImportRefused as exc:
        rows, problems = exc.rows, exc.problems
    if not rows:  # (nothing the database could say more of: it is not opened, nor made)
        for problem in problems:
            err.print(f"[red]error:[/red] {escape(problem)}")
        err.print("Nothing was imported.")
        raise typer.Exit(1)
    svc = open_services(data)
    try:
        # Every problem at once, an address taken already too (it came on a second run).
        good = rows
        problems = imports.by_line(problems + svc.db.read_sync(lambda c: imports.taken(c, good)))
        if problems:
            for problem in problems:
                err.print(f"[red]error:[/red] {escape(problem)}")
            err.print("Nothing was imported.")
            raise typer.Exit(1)
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("Making passwords", total=len(rows))
            made = imports.make_passwords(rows, os.cpu_count() or 1, lambda: bar.advance(task))
        created = svc.writer.run_sync(lambda tx: imports.create(tx, made))
    finally:
        svc.db.dispose()
    listed = [{**p.as_json(), "password": m.password} for p, m in zip(created, made, strict=True)]
    if as_json:
        out(True, listed, "")
        return
    err.print(f"Created {len(created)} accounts. Their passwords, shown once (CSV):")
    sys.stdout.write("email,password\n")
    for entry in listed:
        sys.stdout.write(f"{entry['email']},{entry['password']}\n")


def people_export(
    email: str,
    out: Annotated[Path, typer.Option(help="The ZIP file to write (made private: 0600)")],
    data: DataOpt = None,
) -> None:
    """Everything the service holds about one person, as a ZIP, for them on their request.

    The same archive they download themselves (GET /api/me/export); hand it to them alone."""
    from walkwithme.usecases import accounts, archive

    if out.exists():
        err.print(f"[red]error:[/red] {escape(str(out))} exists: choose a new file")
        raise typer.Exit(1)
    svc = open_services(data, streets=True)
    try:
        person = svc.db.read_sync(lambda c: accounts.find_by_email(c, email))
        if person is None:
            err.print(f"[red]error:[/red] nobody with the email {escape(email)}")
            raise typer.Exit(1)
        now = svc.clock.now_ms()
        files = svc.db.read_sync(lambda c: archive.gather(c, person.id, now, svc.streets))
    finally:
        svc.db.dispose()
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(archive.zipped(files))
    console.print(f"Wrote everything about {escape(email)} into {escape(str(out))}.")


def people_delete(
    email: str,
    yes: Annotated[
        bool, typer.Option("--yes", help="Yes, delete them: it can't be undone")
    ] = False,
    data: DataOpt = None,
) -> None:
    """Delete a person and everything that names or locates them, on their request.

    Refused during their own walk or alarm. Their contacts are told only that a contact
    ended. Backups made before keep them until those are deleted too."""
    from walkwithme.domain.errors import DomainError
    from walkwithme.usecases import accounts, deletion

    if not yes:
        err.print("[red]error:[/red] this can't be undone: add --yes to delete them")
        raise typer.Exit(2)
    svc = open_services(data)
    try:
        person = svc.db.read_sync(lambda c: accounts.find_by_email(c, email))
        if person is None:
            err.print(f"[red]error:[/red] nobody with the email {escape(email)}")
            raise typer.Exit(1)
        if svc.writer.run_sync(lambda tx: deletion.request(tx, person.id, by_operator=True)):
            svc.db.checkpoint()  # (as api/privacy.delete_account: nothing of her left in the WAL)
    except DomainError as exc:
        err.print(f"[red]error:[/red] {escape(exc.message)}")
        raise typer.Exit(1) from None
    finally:
        svc.db.dispose()
    console.print(f"Deleted {escape(email)} and everything that named or located them.")


def streets_path() -> None:
    """Where the shipped street map of central Helsinki is (for WWM_STREETS)."""
    console.print(str(SHIPPED_STREETS))


def hook_test(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Post a signed test to the emergency hook (WWM_EMERGENCY_HOOK) now, as an alarm that
    nobody acknowledged is posted to it, and say whether it took it; exit code 1 if not."""
    config = load(data)
    if not config.emergency_hook:
        err.print("[red]WWM_EMERGENCY_HOOK is not set:[/red] there is no emergency hook to test")
        raise typer.Exit(1)
    failed = asyncio.run(_post_test(config))
    where = hook.shown(config.emergency_hook)
    signed = bool(config.hook_secret)
    if as_json:
        out(True, {"hook": where, "took_it": failed is None, "signed": signed, "error": failed}, "")
    elif failed is None and not signed:
        console.print(
            f"[yellow]warning[/yellow] {escape(where)} took the test alert, UNSIGNED: set "
            "WWM_HOOK_SECRET, or it can't tell a real alarm from a forged one"
        )
    elif failed is None:
        console.print(f"[green]ok[/green]      {escape(where)} took a signed test alert")
    else:
        console.print(f"[red]failed[/red]  {escape(where)}: {escape(failed)}")
    if failed is not None:
        raise typer.Exit(1)


async def _post_test(config: Config) -> str | None:
    http = Outbound()
    try:
        return await hook.send_test(config, SystemClock(), http)
    finally:
        await http.aclose()


def register(app: typer.Typer, people_app: typer.Typer) -> None:
    app.command()(check)
    app.command()(backup)
    app.command()(restore)
    people_app.command("import")(people_import)
    people_app.command("export")(people_export)
    people_app.command("delete")(people_delete)
    streets_app = typer.Typer(help="The street map walks are routed along.", no_args_is_help=True)
    streets_app.command("path")(streets_path)
    app.add_typer(streets_app, name="streets")
    hook_app = typer.Typer(help="The operator's emergency hook.", no_args_is_help=True)
    short = "Post a signed test to the emergency hook now; exit code 1 if it didn't take it."
    hook_app.command("test", short_help=short)(hook_test)
    app.add_typer(hook_app, name="hook")
