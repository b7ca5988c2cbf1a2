"""What each side sees of offers: the walker her offers waiting for an answer (none from
people she silenced), the person offering the offers they made and how each went (never whether
they were muted or blocked: an offer she doesn't see just expires), and the recurring offers
both ways."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import NotFound
from walkwithme.domain.offers import day_names, days_of
from walkwithme.domain.walks import WalkState
from walkwithme.store.schema import offer_series, offers, people, walk_companions, walks
from walkwithme.usecases import contacts, offer_mutes

PENDING, ACCEPTED, DECLINED, WITHDRAWN, EXPIRED = (
    "pending",
    "accepted",
    "declined",
    "withdrawn",
    "expired",
)
# Not an offer: the next walk she offered when she said she was inside (usecases/next_walks.py).
PROMISED = "promised"
# Not stored: an offer still pending to someone he no longer follows, as he sees it (`sent`).
CLOSED = "closed"
ACTIVE, STOPPED = "active", "stopped"


def zone_of(conn: Connection, person_id: int) -> str:
    return str(
        conn.execute(sa.select(people.c.timezone).where(people.c.id == person_id)).scalar_one()
    )


def name_of(conn: Connection, person_id: int) -> str:
    return str(conn.execute(sa.select(people.c.name).where(people.c.id == person_id)).scalar_one())


def state_of(row: Any, now_ms: int) -> str:
    """As stored, except a pending offer whose time has lapsed, which is expired."""
    if row.state == PENDING and row.expires_at <= now_ms:
        return EXPIRED
    return str(row.state)


def _offer_json(row: Any, now_ms: int) -> dict[str, Any]:
    return {
        "id": row.id,
        "state": state_of(row, now_ms),
        "at": row.at,
        "expires_at": row.expires_at,
        "answered_at": row.answered_at,
        "series_id": row.series_id,
        "note": row.note,
        "promise_at": row.promise_at,
        "reminder_at": row.remind_at,
        "reminded_at": row.reminded_at,
        "walk_id": row.walk_id,
    }


def _with_names(conn: Connection, condition: sa.ColumnElement[bool], other: Any) -> Any:
    return conn.execute(
        sa.select(offers, people.c.name.label("other_name"))
        .join(people, people.c.id == other)
        .where(condition)
        .order_by(offers.c.id.desc())
        .limit(50)
    )


def received(conn: Connection, walker_id: int, now_ms: int) -> list[dict[str, Any]]:
    """Her offers waiting for an answer, soonest first, and those she declined with a
    reminder still to come; none from people she silenced or who no longer follow her, nor
    any made while she had silenced them (`quiet`: usecases/offers.py)."""
    hidden = offer_mutes.silenced_ids(conn, walker_id, now_ms)
    companions = contacts.accepted_companion_ids(conn, walker_id)
    waiting = sa.or_(
        sa.and_(offers.c.state == PENDING, offers.c.expires_at > now_ms),
        sa.and_(offers.c.state == DECLINED, offers.c.remind_at.is_not(None)),
    )
    rows = _with_names(
        conn,
        sa.and_(offers.c.walker_id == walker_id, offers.c.quiet.is_(False), waiting),
        offers.c.offerer_id,
    )
    found = [
        {**_offer_json(r, now_ms), "from": {"id": r.offerer_id, "name": r.other_name}}
        for r in rows
        if r.offerer_id in companions - hidden
    ]
    return sorted(found, key=lambda o: (o["state"] != PENDING, o["at"]))


PROMISE_KEPT_EARLY_MS = 30 * 60_000  # a walk she started this long before its time keeps it
PROMISE_SHOWN_MS = 3 * 3_600_000  # a promise's time, once it came, is said on both homes so long


def promises_due(conn: Connection, person_id: int, now_ms: int) -> list[dict[str, Any]]:
    """Promises whose time came in the last few hours (their reminder went out), on either
    side, until she starts a walk with him near its time (kept: "It's time" would then be
    stale); none with someone who no longer follows her. `with` is the other person,
    `made_by_me` whether this person made the promise. (Only a walk he follows: that she
    walks with someone else is not his to learn.)"""
    since = now_ms - PROMISE_SHOWN_MS
    walked = (
        sa.select(walks.c.id)
        .join(walk_companions, walk_companions.c.walk_id == walks.c.id)
        .where(
            walks.c.walker_id == offers.c.walker_id,
            walk_companions.c.person_id == offers.c.offerer_id,
            walks.c.started_at >= offers.c.promise_at - PROMISE_KEPT_EARLY_MS,
            walks.c.started_at > offers.c.created_at,  # not the walk it was made at the end of
        )
        .exists()
    )
    rows = conn.execute(
        sa.select(
            offers.c.id,
            offers.c.promise_at,
            offers.c.walker_id,
            offers.c.offerer_id,
            offers.c.state,
        )
        .where(
            offers.c.reminded_at > since,
            sa.or_(offers.c.walker_id == person_id, offers.c.offerer_id == person_id),
            ~walked,
        )
        .order_by(offers.c.promise_at)
    ).all()
    return [
        {
            "id": r.id,
            "promise_at": r.promise_at,
            "made_by_me": r.walker_id == person_id,
            "with": name_of(conn, r.offerer_id if r.walker_id == person_id else r.walker_id),
            "next_walk": r.state == PROMISED,  # hers when she was inside, not with a decline
        }
        for r in rows
        if contacts.is_accepted_companion(conn, r.walker_id, r.offerer_id)
        # As her next walks (`next_walks`): none beside an alarm of hers he is told of.
        and (r.walker_id == person_id or not _in_an_alarm(conn, r.walker_id, person_id))
    ]


def received_one(conn: Connection, walker_id: int, row: Any, now_ms: int) -> dict[str, Any]:
    fresh = conn.execute(sa.select(offers).where(offers.c.id == row.id)).one()
    return {
        **_offer_json(fresh, now_ms),
        "from": {"id": row.offerer_id, "name": name_of(conn, row.offerer_id)},
    }


def sent(conn: Connection, offerer_id: int, now_ms: int) -> list[dict[str, Any]]:
    """The offers this person made, newest first, as they may see them: pending, accepted,
    declined (with her note and promise), withdrawn or expired, or closed: pending when the
    contact between them ended, which she is no longer shown and cannot accept (he said
    "waiting for an answer" for up to two hours after; that it ended is on his contacts page
    anyway). Never whether she muted or blocked them: an offer she doesn't see just expires."""
    made = sa.and_(offers.c.offerer_id == offerer_id, offers.c.state != PROMISED)
    rows = _with_names(conn, made, offers.c.walker_id)
    found = [
        {**_offer_json(r, now_ms), "to": {"id": r.walker_id, "name": r.other_name}} for r in rows
    ]
    walkers = {o["to"]["id"] for o in found if o["state"] == PENDING}
    gone = {w for w in walkers if not contacts.is_accepted_companion(conn, w, offerer_id)}
    return [
        {**o, "state": CLOSED} if o["to"]["id"] in gone and o["state"] == PENDING else o
        for o in found
    ]


def next_walks(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    """The next walks she offered when she said she was inside, on either side, whose reminder
    is still to come, soonest first: `with` is the other person, `made_by_me` whether this
    person is the walker. None with someone who no longer follows her; and to him, none while
    she is in an alarm on a walk he follows (after her duress PIN she was made to offer it:
    beside the silent alarm, an invitation would say all is well). Only that walk's: to anyone
    else, its hiding would tell of an alarm he is not told of."""
    rows = conn.execute(
        sa.select(offers.c.id, offers.c.promise_at, offers.c.walker_id, offers.c.offerer_id)
        .where(
            offers.c.state == PROMISED,
            offers.c.remind_at.is_not(None),
            sa.or_(offers.c.walker_id == person_id, offers.c.offerer_id == person_id),
        )
        .order_by(offers.c.promise_at, offers.c.id)
    ).all()
    found = []
    for r in rows:
        if not contacts.is_accepted_companion(conn, r.walker_id, r.offerer_id):
            continue
        if r.walker_id != person_id and _in_an_alarm(conn, r.walker_id, person_id):
            continue
        other = r.offerer_id if r.walker_id == person_id else r.walker_id
        found.append(
            {
                "id": r.id,
                "at": r.promise_at,
                "made_by_me": r.walker_id == person_id,
                "with": {"id": other, "name": name_of(conn, other)},
            }
        )
    return found


def _in_an_alarm(conn: Connection, walker_id: int, companion_id: int) -> bool:
    """She is in an alarm on a walk this companion was chosen for."""
    alarmed = (
        sa.select(walks.c.id)
        .join(walk_companions, walk_companions.c.walk_id == walks.c.id)
        .where(
            walks.c.walker_id == walker_id,
            walks.c.state == WalkState.ALARM.value,
            walk_companions.c.person_id == companion_id,
        )
    )
    return conn.execute(alarmed.limit(1)).first() is not None


def sent_one(conn: Connection, offerer_id: int, offer_id: int, now_ms: int) -> dict[str, Any]:
    found = [o for o in sent(conn, offerer_id, now_ms) if o["id"] == offer_id]
    if not found:
        raise NotFound("no such offer")
    return found[0]


def series_of(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    """Recurring offers both ways that are still running."""
    walker = people.alias("walker")
    offerer = people.alias("offerer")
    rows = conn.execute(
        sa.select(
            offer_series,
            walker.c.name.label("walker_name"),
            offerer.c.name.label("offerer_name"),
        )
        .join(walker, walker.c.id == offer_series.c.walker_id)
        .join(offerer, offerer.c.id == offer_series.c.offerer_id)
        .where(
            sa.or_(
                offer_series.c.offerer_id == person_id,
                # (Not one made to her while she had silenced him: usecases/offers.py.)
                sa.and_(offer_series.c.walker_id == person_id, offer_series.c.quiet.is_(False)),
            )
        )
        .order_by(offer_series.c.id)
    )
    result = []
    for r in rows:
        mine = r.offerer_id == person_id
        result.append(
            {
                "id": r.id,
                "direction": "by_me" if mine else "to_me",
                "person": {
                    "id": r.walker_id if mine else r.offerer_id,
                    "name": r.walker_name if mine else r.offerer_name,
                },
                "days": day_names(days_of(r.days)),
                "time": r.local_time,
                "state": r.state,
                "next_at": r.next_due_at,
            }
        )
    return result


def series_one(conn: Connection, person_id: int, series_id: int) -> dict[str, Any]:
    return next(s for s in series_of(conn, person_id) if s["id"] == series_id)


def overview(conn: Connection, person_id: int, now_ms: int) -> dict[str, Any]:
    """Everything about offers one person may see."""
    return {
        "received": received(conn, person_id, now_ms),
        "sent": sent(conn, person_id, now_ms),
        "recurring": [s for s in series_of(conn, person_id) if s["state"] == ACTIVE],
        "next_walks": next_walks(conn, person_id),
    }
