"""What every `walkwithme` command shares: its consoles, the `--data` and `--json` options,
opening the service's parts, and saying which data it works on.

Every command that opens the data says, on standard error, which folder or database it uses and
why (so the operator never works on a stray empty one), and names misspelled settings.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.core
from rich.console import Console
from rich.markup import escape

from walkwithme import startup
from walkwithme.config import Config, ConfigError, load_config
from walkwithme.domain.errors import DomainError
from walkwithme.services import Services, build_services

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)  # one line a message, however long

DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Data folder (WWM_DATA); default: the per-user folder (~/.local/share/walkwithme)",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object, for scripts.")]

_type_of = typer.core.TyperOption.display_type_rich


def _no_type_on_flags(self: typer.core.TyperOption, ctx: Any) -> str | None:
    # Typer labels every option with its type, flags too ("--drill <bool>"), which reads as if
    # the flag wanted a value: a flag takes none, so it shows none.
    return None if self.is_flag else _type_of(self, ctx)


setattr(typer.core.TyperOption, "display_type_rich", _no_type_on_flags)  # noqa: B010


def load(data: Path | None, **overrides: Any) -> Config:
    try:
        config = load_config(data=str(data) if data else None, **overrides)
    except (ConfigError, ValueError) as exc:
        err.print(f"[red]configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    for line in config.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(line)}")
    return config


def where(config: Config) -> str:
    """The data this command works on, in one line."""
    if config.database_url.startswith("sqlite"):
        return f"Data: {config.data_dir.resolve()} ({config.data_from})"
    data = f"data: {config.data_dir.resolve()} ({config.data_from})"
    return f"Database: {startup.safe_url(config.database_url)} (WWM_DATABASE_URL); {data}"


def open_services(
    data: Path | None,
    *,
    drill: bool = False,
    streets: bool = False,
    where_to: Console = err,
    **overrides: Any,
) -> Services:
    """`streets`: load the street map (WWM_STREETS); only the service itself routes walks.
    `where_to`: `serve` says the data it works on with its other news (stdout), so that a
    failure to start stays one line on stderr."""
    config = load(data, **overrides)
    new = (
        config.database_url.startswith("sqlite")
        and not (config.data_dir / "walkwithme.db").exists()
    )
    if not new:
        where_to.print(escape(where(config)), style="dim")
    try:
        svc = build_services(config, drill=drill, load_streets=streets)
    except (ConfigError, ValueError) as exc:
        err.print(f"[red]configuration error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    except Exception as exc:
        # One line that names the cause; the traceback only for whoever asked for it.
        err.print(f"[red]cannot start:[/red] {escape(startup.cause(exc, config))}")
        if config.log_level == "debug":
            err.print_exception()
        raise typer.Exit(2) from None
    if new:  # said once it is so: a folder that couldn't be made is the error's one line
        where_to.print(escape(where(config) + "; new, created now"), style="dim")
    return svc


def out(as_json: bool, data: dict[str, Any] | list[Any], text: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps(data) + "\n")
    else:
        console.print(text)


def fail(exc: DomainError) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(exc.message)}")
    return typer.Exit(1)


def command(data: Path | None, rest: str) -> str:
    """How to run `walkwithme REST` on the same data, as the operator can type it here (in
    another terminal too): `walkwithme` if that is on PATH, else its path
    (`.venv/bin/walkwithme`), with the settings that select the same data spelled out."""
    program = Path(sys.argv[0])
    on_path = shutil.which("walkwithme")
    if program.name == "__main__.py" or program.suffix == ".py":
        words = f"{shlex.quote(sys.executable)} -m walkwithme"
    elif on_path and Path(on_path).resolve() == program.resolve():
        words = "walkwithme"
    else:
        words = shlex.quote(os.path.relpath(program) if not program.is_absolute() else str(program))
    chosen = []
    if os.environ.get("WWM_CONFIG"):
        chosen.append(f"WWM_CONFIG={shlex.quote(str(Path(os.environ['WWM_CONFIG']).resolve()))}")
    if os.environ.get("WWM_DATABASE_URL"):
        # Its password, if any, is shown as *** (fill it in): the rest is what to type.
        url = startup.safe_url(os.environ["WWM_DATABASE_URL"])
        chosen.append(f"WWM_DATABASE_URL={shlex.quote(url)}")
    if os.environ.get("WWM_DATA") and not data:
        chosen.append(f"WWM_DATA={shlex.quote(str(Path(os.environ['WWM_DATA']).resolve()))}")
    suffix = f" --data {shlex.quote(str(data.resolve()))}" if data else ""
    return " ".join([*chosen, words, rest]) + suffix


def machine_timezone() -> str:
    """This machine's IANA time zone (a new account's default), or UTC if it has none."""
    import tzlocal

    try:
        return tzlocal.get_localzone_name() or "UTC"
    except Exception:  # an unusual /etc/localtime: UTC, as before, rather than no account
        return "UTC"


def when(epoch_ms: int | None) -> str:
    """A time a person reads: this machine's local date and time, to the minute."""
    if epoch_ms is None:
        return ""
    from datetime import datetime

    return datetime.fromtimestamp(epoch_ms / 1000).astimezone().strftime("%Y-%m-%d %H:%M %Z")
