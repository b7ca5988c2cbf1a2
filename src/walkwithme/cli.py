"""The `walkwithme` command: serve, migrate, and administration of people and devices.

Commands that create credentials print them once; with `--json` they print one JSON object so a
script can read them.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from walkwithme import __version__, cli_devices, cli_people, cli_upkeep, startup
from walkwithme.cli_common import (
    DataOpt,
    JsonOpt,
    command,
    console,
    err,
    fail,
    load,
    machine_timezone,
    open_services,
    out,
)
from walkwithme.clock import MAX_DRILL_SPEED
from walkwithme.config import Config, ConfigError, load_config
from walkwithme.domain.errors import DomainError
from walkwithme.domain.offers import describe
from walkwithme.security import hash_secret
from walkwithme.store.database import Database
from walkwithme.usecases import accounts, offer_views, people

app = typer.Typer(help="Walk With Me: walks people home.", no_args_is_help=True)
people_app = typer.Typer(
    help="Accounts: add, import, list, reset a password, disable, enable, export, delete.",
    no_args_is_help=True,
)
devices_app = typer.Typer(help="A person's phones and their tokens.", no_args_is_help=True)
invites_app = typer.Typer(help="Invites for invite-only sign-up.", no_args_is_help=True)
offers_app = typer.Typer(help="Offers to walk someone home.", no_args_is_help=True)
app.add_typer(people_app, name="people")
app.add_typer(devices_app, name="devices")
app.add_typer(invites_app, name="invites")
app.add_typer(offers_app, name="offers")


def _version(asked: bool) -> None:
    if asked:
        print(f"walkwithme {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Say the version."),
    ] = False,
) -> None:
    """Walk With Me: walks people home."""


# The old names, kept: every command below uses them.
_services = open_services
_out = out
_fail = fail


@app.command()
def serve(
    data: DataOpt = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on (WWM_HOST)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (WWM_PORT)", min=0, max=65535)] = None,
    clock_speed: Annotated[
        float | None,
        typer.Option("--clock-speed", help="Run the clock N times faster (demos, drills)"),
    ] = None,
    drill: Annotated[
        bool,
        typer.Option(
            "--drill",
            help="Demo and drill mode: the operator may jump the clock (never in production)",
        ),
    ] = False,
) -> None:
    """Run the service (migrating the database first)."""
    from walkwithme import serving
    from walkwithme.logs import setup_logging
    from walkwithme.upkeep import at_start

    was = _schema_before(data)
    _refuse_a_port_in_use(data, host, port)
    svc = _services(
        data,
        drill=drill,
        streets=True,
        where_to=console,
        host=host,
        port=port,
        clock_speed=clock_speed,
    )
    setup_logging(svc.config.log_level)
    config = svc.config
    _say_schema(was)  # (deploy.md: serve migrates as it starts, and says so)
    refused = startup.clock_refused(config, drill=drill)
    if refused is not None:
        err.print(f"[red]error:[/red] {refused}")
        svc.db.dispose()
        raise typer.Exit(2)
    locks, other = startup.hold_the_database(config)
    if other is not None:
        err.print(f"[red]cannot start:[/red] {other}")
        svc.db.dispose()
        raise typer.Exit(2)
    busy = startup.port_taken(config.host, config.port)
    if busy is None and svc.mqtt is not None:
        busy = svc.mqtt.already_running()  # a second one would take its MQTT session over
    if busy is not None:
        err.print(f"[red]cannot start:[/red] {busy}")
        svc.db.dispose()
        raise typer.Exit(2)
    os.umask(0o077)  # whatever it writes in its data folder is for this account only
    startup.remember_address(config)
    where = f"http://{config.host}:{config.port}"
    console.print(f"Walk With Me listening on [bold]{where}[/bold]  (API docs: {where}/docs)")
    if config.public_url:
        console.print(f"Its public address: [bold]{config.public_url}[/bold]")
    if config.clock_speed != 1.0:
        console.print(f"[yellow]Fast clock: {config.clock_speed:g}x real time[/yellow]")
    if drill:
        console.print("[yellow]Drill mode: the operator may jump the clock.[/yellow]")
    for line in at_start.said_at_start(svc):
        console.print(line)
    if svc.db.read_sync(accounts.count_people) == 0:
        console.print(
            "First time? In another terminal, create the operator's account (it prints the "
            "password once):\n"
            f"  {command(data, 'people add you@example.org --name You --operator')}"
            " --timezone Europe/Helsinki\n"
            "(your time zone: the night rules and every time shown to you are read in it), "
            f"then open {config.base_url}/ in a browser and sign in with it."
        )
    sys.stdout.flush()
    # The watchdog catches up on what fell due while the service was down before the web
    # app is built and the port opens (serving.py says why).
    serving.run(svc, host=config.host, port=config.port)
    for lock in locks:
        lock.close()


@app.command()
def migrate(data: DataOpt = None) -> None:
    """Bring the database's schema up to date (serve does this too)."""
    from walkwithme.store.migrate import NewerDatabase, refuse_newer

    was = _schema_before(data)
    try:
        refuse_newer(None if was == UNKNOWN else was)
    except NewerDatabase as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    svc = _services(data)
    svc.db.dispose()
    if not _say_schema(was):
        console.print(f"The database is up to date (schema {was}).")


UNKNOWN = "unknown"


def _schema_before(data: Path | None) -> str | None:
    """The database's schema before anything migrates it (None: no database yet)."""
    from walkwithme.store.migrate import recorded_revision

    config = load(data)
    before = Database(config.database_url)
    try:
        return recorded_revision(before.write_engine) if _exists(config) else None
    except SQLAlchemyError:
        return UNKNOWN  # (not reachable: opening it says why, in one line)
    finally:
        before.dispose()


def _say_schema(was: str | None) -> bool:
    """Says what opening the database did to its schema, if anything (False: nothing)."""
    from walkwithme.store.migrate import script_head

    if was == UNKNOWN:
        return False
    if was is None:
        console.print(f"Created the database's tables (schema {script_head()}).")
    elif was != script_head():
        console.print(f"Upgraded the database's schema from {was} to {script_head()}.")
    else:
        return False
    return True


@people_app.command("add")
def people_add(
    email: str,
    name: Annotated[str, typer.Option(help="Display name")] = "",
    operator: Annotated[bool, typer.Option("--operator", help="May administer the server")] = False,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="IANA time zone, e.g. Europe/Helsinki (the rules' night hours are read in it); "
            "default: this machine's"
        ),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Create an account. Without --password-stdin a password is made and printed once."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(12)
    svc = _services(data)
    try:
        email_, name_, tz = accounts.check_new_person(
            email, name or email.split("@")[0], password, timezone or machine_timezone()
        )
        new = accounts.NewPerson(email_, name_, hash_secret(password), tz, is_operator=operator)
        person = svc.writer.run_sync(lambda tx: accounts.create_person(tx, new))
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        svc.db.dispose()
    shown = None if password_stdin else password
    _out(
        as_json,
        {**person.as_listed(), "password": shown},
        f"Created {person.email} (id {person.id})"
        + (" as operator" if operator else "")
        + (f"\nPassword (shown once): [bold]{shown}[/bold]" if shown else ""),
    )


@people_app.command("list")
def people_list(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """List accounts (never anyone's whereabouts)."""
    svc = _services(data)
    found = svc.db.read_sync(accounts.list_people)
    statuses = svc.db.read_sync(people.statuses_of)
    svc.db.dispose()
    if as_json:
        _out(True, [{**p.as_listed(), "status": statuses.get(p.id, "active")} for p in found], "")
        return
    head = ("id", "email", "name", "operator", "time zone", "status")
    rows = [
        (
            str(p.id),
            p.email,
            p.name,
            "yes" if p.is_operator else "",
            p.timezone,
            statuses.get(p.id, "active"),
        )
        for p in found
    ]
    if not console.is_terminal:
        # Piped (`| grep`) or to a file: a line a person, tab-separated, every address whole
        # (a table 80 columns wide cut them short, and `grep` found none).
        for row in (head, *rows):
            print("\t".join(row))
        return
    table = Table(*head)
    table.columns[1].overflow = "fold"  # whole, however narrow the terminal
    for row in rows:
        # As typed, never read as Rich's markup: a name "[/bold]" stopped the list with a
        # traceback, and "[link=...]" made another's name a link (an outside review).
        table.add_row(*(escape(cell) for cell in row))
    console.print(table)


@invites_app.command("create")
def invites_create(data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Make a sign-up invite (valid 7 days, used once): the link to send, and its code."""
    svc = _services(data)
    token = svc.writer.run_sync(lambda tx: accounts.create_invite(tx, None))
    svc.db.dispose()
    base = startup.served_at(svc.config)
    link = f"{base}/signup?invite={token}"
    _out(
        as_json,
        {"invite": token, "link": link},
        f"Invite link (shown once, works 7 days, for one account): [bold]{link}[/bold]",
    )
    if not svc.config.public_url and not as_json:
        err.print(
            f"[yellow]warning:[/yellow] only this machine can open {base}: set "
            "WWM_PUBLIC_URL to the address people reach this service at (docs/deploy.md)"
        )


@app.command()
def export(
    walk: Annotated[int, typer.Argument(help="The walk's id")],
    token: Annotated[
        str,
        typer.Option(
            envvar="WWM_TOKEN",
            help="Your session token (from signing in): exports are for the walker only",
        ),
    ],
    server: Annotated[
        str | None,
        typer.Option(
            envvar="WWM_SERVER",
            help="The service's address; default: WWM_PUBLIC_URL, else where the last serve of "
            "the data folder listened, else http://WWM_HOST:WWM_PORT",
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder to write into")] = Path(),
    as_json: JsonOpt = False,
) -> None:
    """Write your walk as GPX and GeoJSON (track, route, events as waypoints)."""
    from walkwithme.exports_client import ExportError, export_walk

    try:
        written = export_walk(server or _own_address(), token, walk, out)
    except ExportError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    _out(as_json, {"files": [str(p) for p in written]}, "\n".join(f"wrote {p}" for p in written))


def _own_address() -> str:
    """Where the service these settings configure listens: its public address, else where
    it last listened, else its host and port (a service moved off 8000 is found there)."""
    return startup.served_at(load(None))


@app.command()
def replay(
    gpx: Annotated[Path, typer.Argument(help="A recorded walk: a GPX file's track or route")],
    device: Annotated[
        str,
        typer.Option(
            envvar="WWM_DEVICE_TOKEN",
            help="The token of the device to post as (dev_...): her live walk takes the fixes",
        ),
    ],
    server: Annotated[
        str | None,
        typer.Option(
            envvar="WWM_SERVER",
            help="The service's address; default: WWM_PUBLIC_URL, else where the last serve of "
            "the data folder listened, else http://WWM_HOST:WWM_PORT",
        ),
    ] = None,
    speed: Annotated[
        float, typer.Option(help="How many times faster than recorded (on the service's clock)")
    ] = 1.0,
    as_json: JsonOpt = False,
) -> None:
    """Post a recorded walk through the fix path, as her phone would (drills, bug reports)."""
    import httpx2
    from rich.progress import Progress

    from walkwithme.replay import Replay, ReplayError, read_gpx

    try:
        points = read_gpx(gpx)
        with (
            httpx2.Client(base_url=server or _own_address(), timeout=30) as client,
            Progress(console=err, disable=as_json) as bar,
        ):
            task = bar.add_task(f"replaying {len(points)} points", total=len(points))
            counts = Replay(client, device).run(
                points, speed, lambda done: bar.update(task, completed=done)
            )
    except ReplayError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    said = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    _out(as_json, {"points": len(points), "results": counts}, f"{len(points)} points: {said}")


# The story's slowest clock: it waits at most 20 s of real time for what the service does on
# its own (a reminder comes 30 s of the story after the operator's jump).
MIN_DEMO_SPEED = 10.0


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the walk's GPX and GeoJSON")] = Path(),
    speed: Annotated[
        float,
        typer.Option(
            min=MIN_DEMO_SPEED,
            max=MAX_DRILL_SPEED,
            help="How many times faster than real time the story's clock runs (slower on a "
            "busy machine, which could stall her phone for minutes of the story)",
        ),
    ] = MAX_DRILL_SPEED,
) -> None:
    """Tell the story Walk With Me comes from, against a real service (about 30 seconds)."""
    from walkwithme.demo import play, print_story

    console.print(
        f"Starting a service with the streets of central Helsinki ({cli_upkeep.SHIPPED_STREETS}; "
        "WWM_STREETS=$(walkwithme streets path) serves them too)..."
    )
    print_story(play(out, speed), console)


@offers_app.command("list")
def offers_list(email: str, data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """A person's offers: waiting for their answer, made by them, and recurring ones.

    Names and times in their time zone, never anyone's whereabouts."""
    svc = _services(data)
    try:
        person = svc.db.read_sync(lambda c: accounts.find_by_email(c, email))
        if person is None:
            raise DomainError(f"nobody with the email {email}")
        now = svc.clock.now_ms()
        found = svc.db.read_sync(lambda c: offer_views.overview(c, person.id, now))
    except DomainError as exc:
        raise _fail(exc) from None
    finally:
        svc.db.dispose()
    if as_json:
        _out(True, found, "")
        return
    table = Table("id", "", "with", "state", "for", "reminder", title=f"Offers of {email}")
    for direction, key, arrow in (("received", "from", "from"), ("sent", "to", "to")):
        for o in found[direction]:
            reminder = describe(o["reminder_at"], person.timezone) if o["reminder_at"] else ""
            at = describe(o["at"], person.timezone)
            table.add_row(str(o["id"]), arrow, escape(o[key]["name"]), o["state"], at, reminder)
    for r in found["recurring"]:
        every = f"{','.join(r['days'])} {r['time']}"
        arrow = "to" if r["direction"] == "by_me" else "from"
        table.add_row(f"r{r['id']}", arrow, escape(r["person"]["name"]), "recurring", every, "")
    console.print(table)


def _exists(config: Config) -> bool:
    sqlite = config.database_url.startswith("sqlite")
    return not sqlite or (config.data_dir / "walkwithme.db").exists()


cli_upkeep.register(app, people_app)
cli_people.register(people_app)
cli_devices.register(devices_app)


def main() -> None:
    app()


def _refuse_a_port_in_use(data: Path | None, host: str | None, port: int | None) -> None:
    """Before anything is made: a port in use (or an address not ours) stops `serve` with
    nothing created (it made a data folder and a database first, then said so: an operator's
    first hour). A configuration that can't be read is said by what comes next."""
    try:
        config = load_config(data=str(data) if data else None, host=host, port=port)
    except (ConfigError, ValueError):
        return
    busy = startup.port_taken(config.host, config.port)
    if busy is not None:
        err.print(f"[red]cannot start:[/red] {busy}")
        raise typer.Exit(2)
