"""Offers' due times, fired by the watchdog: the reminders of promises (`offers.remind_at`)
and the occurrences of recurring offers (`offer_series.next_due_at`).

Each is claimed with a conditional update on the due value the watchdog read, in the same
transaction as what it does (the alerts, the new offer): it fires exactly once, on any number
of watchdogs, and after a restart too. A recurring offer that missed several occurrences while
the service was down fires once, for the latest of them, and moves on to the next one ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.offers import Weekly, days_of, describe, parse_time
from walkwithme.store.schema import offer_series, offers
from walkwithme.store.tx import Tx
from walkwithme.usecases import contacts, offer_mutes
from walkwithme.usecases.offer_mutes import Silence
from walkwithme.usecases.offer_views import ACTIVE, STOPPED, zone_of
from walkwithme.usecases.offers import create, held_back, tell

Kind = Literal["reminder", "recurring"]


@dataclass(frozen=True)
class Due:
    kind: Kind
    id: int
    seen: int  # the due value the decision is based on


def due(conn: Connection, now_ms: int, limit: int = 500) -> list[Due]:
    reminders = conn.execute(
        sa.select(offers.c.id, offers.c.remind_at)
        .where(offers.c.remind_at <= now_ms)
        .order_by(offers.c.remind_at)
        .limit(limit)
    )
    recurring = conn.execute(
        sa.select(offer_series.c.id, offer_series.c.next_due_at)
        .where(offer_series.c.next_due_at <= now_ms, offer_series.c.state == ACTIVE)
        .order_by(offer_series.c.next_due_at)
        .limit(limit)
    )
    found = [Due("reminder", r.id, r.remind_at) for r in reminders]
    found += [Due("recurring", r.id, r.next_due_at) for r in recurring]
    return sorted(found, key=lambda d: d.seen)


def earliest_due(conn: Connection) -> int | None:
    times = [
        conn.execute(sa.select(sa.func.min(offers.c.remind_at))).scalar(),
        conn.execute(
            sa.select(sa.func.min(offer_series.c.next_due_at)).where(offer_series.c.state == ACTIVE)
        ).scalar(),
    ]
    found = [int(t) for t in times if t is not None]
    return min(found) if found else None


def fire(tx: Tx, item: Due) -> str | None:
    """What the watchdog runs for a due offer time. Returns what it did: "reminder", "offer",
    "offer_held" (an occurrence skipped: she silenced the person, or is still within her
    decline), "offer_stopped" (the contact is gone), or None (someone else fired it, or it
    was called off, since the watchdog looked)."""
    if item.kind == "reminder":
        return remind(tx, item.id, item.seen)
    return occur(tx, item.id, item.seen)


def postpone(tx: Tx, item: Due, delay_ms: int) -> None:
    """For a due time whose firing failed: look again later instead of failing in a loop."""
    table, column = (
        (offers, offers.c.remind_at)
        if item.kind == "reminder"
        else (offer_series, offer_series.c.next_due_at)
    )
    tx.conn.execute(
        table.update()
        .where(table.c.id == item.id, column == item.seen)
        .values({column.name: tx.now_ms + delay_ms})
    )


def remind(tx: Tx, offer_id: int, seen: int) -> str | None:
    """The promise's time has come: an alert to each of the two, once."""
    claimed = tx.conn.execute(
        offers.update()
        .where(offers.c.id == offer_id, offers.c.remind_at == seen)
        .values(remind_at=None, reminded_at=tx.now_ms)
    )
    if claimed.rowcount != 1:
        return None
    row = tx.conn.execute(sa.select(offers).where(offers.c.id == offer_id)).one()
    held = offer_mutes.held(tx.conn, row.walker_id, row.offerer_id, tx.now_ms)
    blocked = held is not None and held.kind is Silence.BLOCK
    if blocked or not contacts.is_accepted_companion(tx.conn, row.walker_id, row.offerer_id):
        return "reminder_held"  # she blocked them, or the contact between them has ended
    promised = row.promise_at or seen
    for to, other in ((row.walker_id, row.offerer_id), (row.offerer_id, row.walker_id)):
        tell(
            tx,
            to,
            "offer_reminder",
            other,
            offer_id=row.id,
            promised_at=promised,
            when=describe(promised, zone_of(tx.conn, to)),
        )
    return "reminder"


def occur(tx: Tx, series_id: int, seen: int) -> str | None:
    """An occurrence of a recurring offer: a pending offer for that local time."""
    row = tx.conn.execute(sa.select(offer_series).where(offer_series.c.id == series_id)).first()
    if row is None or row.state != ACTIVE or row.next_due_at != seen:
        return None
    tz = zone_of(tx.conn, row.walker_id)
    weekly = Weekly(days_of(row.days), parse_time(row.local_time))
    # After an outage: the latest occurrence that fell due, once; then the next one ahead.
    occurrence = max(seen, weekly.latest_until(tx.now_ms, tz))
    values: dict[str, object] = {"next_due_at": weekly.next_after(tx.now_ms, tz)}
    still = contacts.is_accepted_companion(tx.conn, row.walker_id, row.offerer_id)
    if not still:
        values = {"next_due_at": None, "state": STOPPED, "stopped_at": tx.now_ms}
    claimed = tx.conn.execute(
        offer_series.update()
        .where(
            offer_series.c.id == series_id,
            offer_series.c.state == ACTIVE,
            offer_series.c.next_due_at == seen,
        )
        .values(**values)
    )
    if claimed.rowcount != 1:
        return None
    if not still:
        return "offer_stopped"
    if held_back(tx.conn, row.walker_id, row.offerer_id, tx.now_ms) is not None:
        # Skipped, as he couldn't have offered by hand now: she declined him lately, or his
        # offer is still open (what he knows).
        return "offer_held"
    # While she has silenced him: made quiet, as an offer by hand is then (a skipped
    # occurrence would tell him he was muted).
    silenced = offer_mutes.held(tx.conn, row.walker_id, row.offerer_id, tx.now_ms) is not None
    quiet = bool(row.quiet) or silenced
    create(tx, row.offerer_id, row.walker_id, occurrence, series_id=series_id, quiet=quiet)
    return "offer"
