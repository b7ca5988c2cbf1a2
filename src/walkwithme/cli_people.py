"""`walkwithme people reset-password`, `people disable` and `people enable`: the operator's
hand on one account, as on the admin page. Registered on `walkwithme people` by cli.py."""

from __future__ import annotations

import secrets
import sys
from typing import Annotated

import typer
from rich.markup import escape

from walkwithme.cli_common import DataOpt, JsonOpt, fail, open_services, out
from walkwithme.domain import people as rules
from walkwithme.domain.errors import DomainError, Invalid
from walkwithme.security import hash_secret
from walkwithme.usecases import people


def reset_password(
    email: str,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input")
    ] = False,
    data: DataOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Give someone a new password (made up and printed once, unless --password-stdin).

    Their sign-ins end; their phones keep reporting."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else secrets.token_urlsafe(12)
    svc = open_services(data)
    try:
        if len(password) < rules.MIN_PASSWORD_CHARS:
            raise Invalid(f"the password must be at least {rules.MIN_PASSWORD_CHARS} characters")
        person_id = svc.db.read_sync(lambda c: people.id_by_email(c, email))
        hashed = hash_secret(password)
        ended = svc.writer.run_sync(lambda tx: people.set_password(tx, person_id, hashed))
    except DomainError as exc:
        raise fail(exc) from None
    finally:
        svc.db.dispose()
    shown = None if password_stdin else password
    out(
        as_json,
        {"email": email, "password": shown, "sessions_ended": ended},
        f"New password for {escape(email)}; {ended} sign-in(s) ended"
        + (f"\nPassword (shown once): [bold]{shown}[/bold]" if shown else ""),
    )


def disable(email: str, data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Disable someone: they can't sign in, their sign-ins end, their phones stop reporting.

    A server that is running takes a phone's last fixes for up to 5 seconds more."""
    svc = open_services(data)
    try:
        person_id = svc.db.read_sync(lambda c: people.id_by_email(c, email))
        svc.writer.run_sync(lambda tx: people.disable(tx, person_id, None))
    except DomainError as exc:
        raise fail(exc) from None
    finally:
        svc.db.dispose()
    out(as_json, {"email": email, "disabled": True}, f"Disabled {escape(email)}")


def enable(email: str, data: DataOpt = None, as_json: JsonOpt = False) -> None:
    """Enable someone disabled: they sign in again and their phones report again."""
    svc = open_services(data)
    try:
        person_id = svc.db.read_sync(lambda c: people.id_by_email(c, email))
        svc.writer.run_sync(lambda tx: people.enable(tx, person_id))
    except DomainError as exc:
        raise fail(exc) from None
    finally:
        svc.db.dispose()
    out(as_json, {"email": email, "disabled": False}, f"Enabled {escape(email)}")


def register(people_app: typer.Typer) -> None:
    people_app.command("reset-password")(reset_password)
    people_app.command("disable")(disable)
    people_app.command("enable")(enable)
