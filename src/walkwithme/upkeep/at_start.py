"""What `serve` says as it starts, beside where it listens: what would make alarms late or
lost without the operator knowing, found where `walkwithme check` finds it (an outside review
of an operator's first hour: a clock two days behind, and email channels left broken by one
start without WWM_SMTP_URL, were said only by `check`, which nobody had run)."""

from __future__ import annotations

import logging

from walkwithme.services import Services
from walkwithme.upkeep.checks import clock_behind
from walkwithme.usecases import channels

log = logging.getLogger("walkwithme.start")


def said_at_start(svc: Services) -> list[str]:
    """Lines for the console (Rich markup), each logged too; and the email channels broken
    only while this server sent no email mended, now that it does."""
    said: list[str] = []
    now = svc.clock.now_ms()
    behind = svc.db.read_sync(lambda conn: clock_behind(conn, now))
    if behind is not None:
        log.error("the clock: %s", behind)
        said.append(f"[red]warning:[/red] {behind}; walks going on are judged late until it is")
    if svc.config.smtp is None:
        emails = svc.db.read_sync(channels.email_channels)
        if emails:
            line = (
                f"{emails} email channel(s) get no alerts: WWM_SMTP_URL is not set "
                "(set it again, and they work again as serve starts)"
            )
            log.error("email: %s", line)
            said.append(f"[red]warning:[/red] {line}")
        return said
    mended = svc.writer.run_sync(channels.mend_email)
    if mended:
        line = f"{mended} email channel(s) broken while this server sent no email work again"
        log.warning("email: %s", line)
        said.append(line)
    return said
