"""Offers: a companion offers to walk someone home, now, at a time, or every weekday at 22:00.

Only the walker's accepted companions can offer; anyone else gets the answer a stranger gets.
The walker accepts (a walk starts, that companion following) or declines, with a note and a
promise that is reminded to both at its time (`offer_times.py`). Times people give are local
times in the walker's own zone (`domain/offers.py`); what each side sees is `offer_views.py`.

What keeps an offer from becoming pressure:
- one open offer (and one recurring offer) from a person to a walker at a time;
- after a decline, no new offer for 12 hours, or, when she promised a time, until that time;
- at most 3 offers a day from a person to a walker (withdrawing doesn't reset the count);
- her mutes and blocks (`offer_mutes.py`), never announced to the person;
- offers carry no text from the person offering: only a time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Changed, Conflict, Invalid, NotFound
from walkwithme.domain.offers import (
    Weekly,
    day_names,
    days_mask,
    describe,
    local_date,
    local_instant,
    parse_day,
    parse_days,
    parse_time,
)
from walkwithme.domain.walks import check_message
from walkwithme.store.schema import insert_id, offer_series, offers
from walkwithme.store.tx import Tx
from walkwithme.streets import StreetMap
from walkwithme.usecases import alerts, contacts, offer_mutes
from walkwithme.usecases.offer_views import (
    ACCEPTED,
    ACTIVE,
    DECLINED,
    PENDING,
    PROMISED,
    STOPPED,
    WITHDRAWN,
    name_of,
    received_one,
    sent_one,
    series_one,
    state_of,
    zone_of,
)
from walkwithme.usecases.starting import WalkPlan, start_walk

HOUR_MS = 3_600_000
OPEN_FOR_MS = 2 * HOUR_MS  # a pending offer lapses two hours after the time it is for
AHEAD_MS = 14 * 24 * HOUR_MS  # offers and promises reach at most two weeks ahead
AFTER_DECLINE_MS = 12 * HOUR_MS
PER_DAY = 3


@dataclass(frozen=True)
class LocalTime:
    """A day and a time as the walker's clock shows them: ("tomorrow", "20:00")."""

    day: str
    time: str


@dataclass(frozen=True)
class Repeat:
    """'weekdays', 'weekend', 'daily' or day names, at a local time ("22:00")."""

    days: str | list[str]
    time: str


# -- who may offer, and when -----------------------------------------------------------------


def _walker_for(conn: Connection, walker_id: int, offerer_id: int) -> None:
    """Only her accepted companions may offer; anyone else hears what a stranger hears."""
    if not contacts.is_accepted_companion(conn, walker_id, offerer_id):
        raise NotFound("nobody here you can offer to walk home", field="walker")


def instant(when: LocalTime, tz: str, now_ms: int, field: str) -> int:
    """A local day and time in `tz` as an instant, in the next two weeks."""
    day = parse_day(when.day, local_date(now_ms, tz), field=f"{field}.day")
    at = local_instant(day, parse_time(when.time, field=f"{field}.time"), tz)
    if not now_ms < at <= now_ms + AHEAD_MS:
        raise Invalid(f"{field} must be in the next 14 days", field=field)
    return at


# -- offering ----------------------------------------------------------------------------------


def held_back(conn: Connection, walker_id: int, offerer_id: int, now_ms: int) -> str | None:
    """What keeps this person from offering now, told in words they may hear: only things
    they know already (her decline, their own offers). Mutes and blocks come after."""
    last = conn.execute(
        sa.select(offers.c.answered_at, offers.c.promise_at)
        .where(
            offers.c.walker_id == walker_id,
            offers.c.offerer_id == offerer_id,
            offers.c.state == DECLINED,
        )
        .order_by(offers.c.answered_at.desc())
        .limit(1)
    ).first()
    if last is not None:
        again = last.promise_at or last.answered_at + AFTER_DECLINE_MS
        if now_ms < again:
            return "declined your last offer; you can offer again from " + describe(
                again, zone_of(conn, offerer_id)
            )
    pending = conn.execute(
        sa.select(offers.c.id).where(
            offers.c.walker_id == walker_id,
            offers.c.offerer_id == offerer_id,
            offers.c.state == PENDING,
            offers.c.expires_at > now_ms,
        )
    ).first()
    if pending is not None:
        return "has an offer of yours waiting for an answer already"
    return None


def _count_today(conn: Connection, walker_id: int, offerer_id: int, now_ms: int) -> int:
    made = [
        sa.select(sa.func.count()).where(
            table.c.walker_id == walker_id,
            table.c.offerer_id == offerer_id,
            table.c.created_at > now_ms - 24 * HOUR_MS,
            *extra,
        )
        for table, extra in (
            (offers, [offers.c.series_id.is_(None), offers.c.state != PROMISED]),
            (offer_series, []),
        )
    ]
    return sum(int(conn.execute(q).scalar_one()) for q in made)


def make_offer(
    tx: Tx,
    offerer_id: int,
    walker_id: int,
    *,
    at: LocalTime | None = None,
    repeat: Repeat | None = None,
) -> dict[str, Any]:
    """A one-off offer (now, or `at` a local time), or a recurring one (`repeat`)."""
    _walker_for(tx.conn, walker_id, offerer_id)
    if at is not None and repeat is not None:
        raise Invalid("give a time (at) or a recurrence (repeat), not both", field="repeat")
    tz = zone_of(tx.conn, walker_id)
    weekly = _weekly(repeat) if repeat is not None else None
    when = instant(at, tz, tx.now_ms, "at") if at is not None else tx.now_ms
    reason = held_back(tx.conn, walker_id, offerer_id, tx.now_ms)
    if reason is not None:
        raise Conflict(f"{name_of(tx.conn, walker_id)} {reason}", field="walker")
    if _count_today(tx.conn, walker_id, offerer_id, tx.now_ms) >= PER_DAY:
        raise Conflict(f"at most {PER_DAY} offers a day to the same person", field="walker")
    # Muted or blocked by her: made as any offer, and answered so, but quiet: never told or
    # shown to her, even once the mute is over (a refusal of its own told him he was muted).
    quiet = offer_mutes.held(tx.conn, walker_id, offerer_id, tx.now_ms) is not None
    if weekly is not None:
        return _start_series(tx, offerer_id, walker_id, weekly, tz, quiet=quiet)
    offer_id = create(tx, offerer_id, walker_id, when, series_id=None, quiet=quiet)
    return sent_one(tx.conn, offerer_id, offer_id, tx.now_ms)


def _weekly(repeat: Repeat) -> Weekly:
    return Weekly(
        parse_days(repeat.days, field="repeat.days"),
        parse_time(repeat.time, field="repeat.time"),
    )


def create(
    tx: Tx, offerer_id: int, walker_id: int, at: int, *, series_id: int | None, quiet: bool = False
) -> int:
    """A pending offer, and the walker told through her channels: who offers, and when. The
    payload says nothing else (it is the same bytes whoever reads it). `quiet`: she muted or
    blocked him, and is not told."""
    offer_id = insert_id(
        tx.conn,
        offers,
        walker_id=walker_id,
        offerer_id=offerer_id,
        series_id=series_id,
        state=PENDING,
        created_at=tx.now_ms,
        at=at,
        expires_at=max(at, tx.now_ms) + OPEN_FOR_MS,
        quiet=quiet,
    )
    if quiet:
        return offer_id
    tz = zone_of(tx.conn, walker_id)
    when = "" if at <= tx.now_ms else f" at {describe(at, tz)}"
    tell(tx, walker_id, "offer", offerer_id, offer_id=offer_id, when=when, for_at=at)
    return offer_id


def tell(tx: Tx, to: int, kind: str, about: int, **facts: Any) -> int:
    """An alert about an offer to one person, naming the other one (`about`) and nothing of
    theirs but the name."""
    payload = {"kind": kind, "at": tx.now_ms, "by": {"name": name_of(tx.conn, about)}, **facts}
    # Where to answer it (or see it): the offers page. (Its email had no link: a review.)
    return alerts.enqueue(tx, None, kind, {"link_path": "/offers", **payload}, [to])


def _start_series(
    tx: Tx, offerer_id: int, walker_id: int, weekly: Weekly, tz: str, *, quiet: bool
) -> dict[str, Any]:
    running = tx.conn.execute(
        sa.select(offer_series.c.id).where(
            offer_series.c.walker_id == walker_id,
            offer_series.c.offerer_id == offerer_id,
            offer_series.c.state == ACTIVE,
        )
    ).first()
    if running is not None:
        raise Conflict("you offer a recurring walk to this person already", field="repeat")
    series_id = insert_id(
        tx.conn,
        offer_series,
        walker_id=walker_id,
        offerer_id=offerer_id,
        days=days_mask(weekly.days),
        local_time=f"{weekly.at:%H:%M}",
        state=ACTIVE,
        created_at=tx.now_ms,
        next_due_at=weekly.next_after(tx.now_ms, tz),
        quiet=quiet,
    )
    if not quiet:  # (and its occurrences are quiet too: offer_times.occur)
        tell(tx, walker_id, "offer", offerer_id, series_id=series_id, when=f" {_every(weekly)}")
    return series_one(tx.conn, offerer_id, series_id)


def _every(weekly: Weekly) -> str:
    names = {frozenset(range(5)): "weekday", frozenset(range(7)): "day"}
    days = names.get(weekly.days) or ", ".join(day_names(weekly.days))
    return f"every {days} at {weekly.at:%H:%M}"


# -- answering ---------------------------------------------------------------------------------


def _open_offer_to(tx: Tx, walker_id: int, offer_id: int) -> Any:
    row = tx.conn.execute(
        sa.select(offers).where(offers.c.id == offer_id, offers.c.walker_id == walker_id)
    ).first()
    silenced = offer_mutes.silenced_ids(tx.conn, walker_id, tx.now_ms)
    if row is None or row.quiet or row.offerer_id in silenced:
        raise NotFound("no such offer")
    state = state_of(row, tx.now_ms)
    if state != PENDING:
        raise Conflict(f"this offer is {state}")
    return row


def _close(tx: Tx, row: Any, state: str, **values: Any) -> None:
    done = tx.conn.execute(
        offers.update()
        .where(offers.c.id == row.id, offers.c.state == PENDING)
        .values(state=state, answered_at=tx.now_ms, **values)
    )
    if done.rowcount != 1:
        raise Changed("this offer changed meanwhile; try again")


def accept(
    tx: Tx, walker_id: int, offer_id: int, plan: WalkPlan, streets: StreetMap | None = None
) -> int:
    """She accepts: a walk starts now, in her time zone, with the person who offered following
    (and any other companions she chose). Returns the walk's id."""
    row = _open_offer_to(tx, walker_id, offer_id)
    if not contacts.is_accepted_companion(tx.conn, walker_id, row.offerer_id):
        raise Conflict("the person who offered no longer follows your walks")
    chosen = {row.offerer_id, *(plan.companion_ids or ())}
    walk_plan = replace(
        plan, timezone=zone_of(tx.conn, walker_id), companion_ids=tuple(sorted(chosen))
    )
    walk_id = start_walk(tx, walker_id, walk_plan, streets)
    _close(tx, row, ACCEPTED, walk_id=walk_id)
    return walk_id


def decline(
    tx: Tx, walker_id: int, offer_id: int, note: str | None, promise: LocalTime | None
) -> dict[str, Any]:
    """She declines, maybe with a note and a promise ("tomorrow at 20:00", her local time)
    that is reminded to both of them at that time. The person who offered is told at once."""
    row = _open_offer_to(tx, walker_id, offer_id)
    cleaned = check_message(note) if note else None
    promise_at = (
        instant(promise, zone_of(tx.conn, walker_id), tx.now_ms, "promise") if promise else None
    )
    _close(tx, row, DECLINED, note=cleaned, promise_at=promise_at, remind_at=promise_at)
    promised = (
        {"promised_at": promise_at, "when": describe(promise_at, zone_of(tx.conn, row.offerer_id))}
        if promise_at
        else {}
    )
    tell(tx, row.offerer_id, "offer_declined", walker_id, offer_id=row.id, note=cleaned, **promised)
    return received_one(tx.conn, walker_id, row, tx.now_ms)


def withdraw(tx: Tx, offerer_id: int, offer_id: int) -> dict[str, Any]:
    """The person who offered takes back an offer still waiting for an answer."""
    row = tx.conn.execute(
        sa.select(offers).where(offers.c.id == offer_id, offers.c.offerer_id == offerer_id)
    ).first()
    if row is None:
        raise NotFound("no such offer")
    if state_of(row, tx.now_ms) != PENDING:
        raise Conflict(f"this offer is {state_of(row, tx.now_ms)}")
    _close(tx, row, WITHDRAWN)
    return sent_one(tx.conn, offerer_id, offer_id, tx.now_ms)


def _seen_by(person_id: int) -> sa.ColumnElement[bool]:
    """A recurring offer this person made, or one made to her that is not quiet."""
    return sa.or_(
        offer_series.c.offerer_id == person_id,
        sa.and_(offer_series.c.walker_id == person_id, offer_series.c.quiet.is_(False)),
    )


def stop_series(tx: Tx, person_id: int, series_id: int) -> dict[str, Any]:
    """Either side stops a recurring offer; the other is told."""
    row = tx.conn.execute(
        sa.select(offer_series).where(
            offer_series.c.id == series_id,
            _seen_by(person_id),
        )
    ).first()
    if row is None:
        raise NotFound("no such recurring offer")
    done = tx.conn.execute(
        offer_series.update()
        .where(offer_series.c.id == series_id, offer_series.c.state == ACTIVE)
        .values(state=STOPPED, stopped_at=tx.now_ms, stopped_by=person_id, next_due_at=None)
    )
    if done.rowcount != 1:
        raise Conflict("this recurring offer is stopped already")
    other = row.offerer_id if person_id == row.walker_id else row.walker_id
    silenced = offer_mutes.silenced_ids(tx.conn, row.walker_id, tx.now_ms)
    # She hears nothing from someone she silenced; he is always told when she stops it (not
    # telling him would give her mute away).
    if other == row.offerer_id or (row.offerer_id not in silenced and not row.quiet):
        tell(tx, other, "offer_series_stopped", person_id, series_id=series_id)
    return series_one(tx.conn, person_id, series_id)


def cancel_reminder(tx: Tx, person_id: int, offer_id: int) -> None:
    """Either of the two calls off the reminder of a promise before it is sent."""
    done = tx.conn.execute(
        offers.update()
        .where(
            offers.c.id == offer_id,
            sa.or_(offers.c.walker_id == person_id, offers.c.offerer_id == person_id),
            offers.c.remind_at.is_not(None),
        )
        .values(remind_at=None)
    )
    if done.rowcount != 1:
        raise NotFound("no reminder to call off")
