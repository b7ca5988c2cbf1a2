"""`walkwithme check`'s line on the emergency hook (`WWM_EMERGENCY_HOOK`): whether the alarms
posted to it arrived, whether it is signed, and whether anything answers at its address at
all (a mistyped port said "ok" until the night an alarm climbed to it: an outside review).
Nothing is posted to it here: a post may call out help (`walkwithme hook test` does, when asked
to)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from walkwithme.config import Config
from walkwithme.upkeep.findings import Finding, Verdict
from walkwithme.upkeep.hook import Health, shown

CONNECT_S = 3.0


def connects(url: str) -> str | None:
    """Why nothing answers at the hook's host and port (None: something does): a connection
    opened and closed, nothing sent."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:  # a port out of range, or not a number (a diff review)
        return f"{shown(url)} is no address to connect to ({exc})"
    try:
        with socket.create_connection((host, port), timeout=CONNECT_S):
            return None
    except OSError as exc:
        return f"nothing answers at {shown(url)} ({exc.strerror or type(exc).__name__})"


def finding(
    config: Config, health: Health | None, answers: Callable[[str], str | None] | None = None
) -> Finding:
    """The emergency hook: whether the alarms posted to it arrived (None: the database could
    not say), and signed. Alarms given up there are a failure (the exit code says so, for
    monitors): the top of the ladder reached nobody; alarms being tried again, a warning; and
    nothing answering at its address, a failure (`answers`: why not, or None; `connects`
    unless a test says)."""
    test = "walkwithme hook test posts a signed test to it"
    unsigned = (
        ""
        if config.hook_secret
        else "WWM_EMERGENCY_HOOK is set without WWM_HOOK_SECRET: what is posted to it is "
        "unsigned, and it can't tell a real alarm from a forged one"
    )
    unreachable = (answers or connects)(config.emergency_hook or "")
    if unreachable is not None:
        return Finding(
            "emergency hook",
            Verdict.FAIL,
            f"{unreachable}: an alarm nobody acknowledges would reach nobody at the top of its "
            f"ladder. {test}",
        )
    if health is not None and (health.given_up or health.retrying):
        failing = [
            f"{health.retrying} being tried again" if health.retrying else "",
            f"{health.given_up} given up" if health.given_up else "",
        ]
        said = (
            f"alarms posted to it are not arriving ({health.last_error or 'no answer'}): "
            f"{', '.join(f for f in failing if f)}. {test}"
        )
        verdict = Verdict.FAIL if health.given_up else Verdict.WARN
        return Finding("emergency hook", verdict, f"{said}; {unsigned}" if unsigned else said)
    if unsigned:
        return Finding("emergency hook", Verdict.WARN, unsigned)
    fared = (
        "no alarm has reached it yet"
        if health is None or not health.delivered
        else f"it took the last alarm posted to it, {when(health)} ({health.delivered} in all)"
    )
    return Finding(
        "emergency hook", Verdict.OK, f"set, signed with WWM_HOOK_SECRET; {fared}; {test}"
    )


def when(health: Health) -> str:
    """The time of its last delivery, on this machine's clock face (UTC if it has none)."""
    at = health.last_delivered_at
    if at is None:
        return "at an unknown time"
    return datetime.fromtimestamp(at / 1000, UTC).astimezone().strftime("on %Y-%m-%d at %H:%M")
