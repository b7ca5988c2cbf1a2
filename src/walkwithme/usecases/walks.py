"""Walks: who sees one, and what happens inside it (her PIN's moments, messages).

Who may see a walk is decided here, in one place (`audience_of`): the walker always; a
companion only while the walk is live, only if she was chosen for it, and only while the
contact between them still stands. The walk as stored is walk_store.py's; starting one,
starting.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain import walks as rules
from walkwithme.domain.errors import Conflict, Invalid, NotFound
from walkwithme.domain.walks import LIVE_STATES, LIVE_VALUES, WalkState
from walkwithme.store.schema import alerts as alerts_table
from walkwithme.store.schema import people, walk_companions, walks
from walkwithme.store.tx import Tx
from walkwithme.usecases import contacts, throttle, timeline
from walkwithme.usecases.timeline import Audience
from walkwithme.usecases.walk_columns import ShownToHer, shown_to_her_columns
from walkwithme.usecases.walk_record import WALK_COLUMNS, Walk, walk_from_row
from walkwithme.usecases.walk_store import get_walk


def audience_of(
    conn: Connection, walk: Walk, person_id: int, *, finished_ok: bool = False
) -> Audience | None:
    """The one rule for who sees a walk. None means: nothing at all, not even that it exists.

    `finished_ok` is only for a live stream that was following the walk when it ended, so the
    companion sees how it ended before the stream closes.
    """
    if walk.walker_id == person_id:
        return Audience.WALKER
    if not walk.live and not finished_ok:
        return None
    chosen = conn.execute(
        sa.select(walk_companions.c.person_id).where(
            walk_companions.c.walk_id == walk.id, walk_companions.c.person_id == person_id
        )
    ).first()
    if chosen and contacts.is_accepted_companion(
        conn,
        walk.walker_id,
        person_id,
        alarm_at=walk.alarm_since,
        # A stream that followed it to its end: one she ended during it stayed on it until
        # then, and is told how it ended (it was cut off as if refused: an outside review).
        walking_since=walk.started_at if finished_ok else walk.walking_since,
    ):
        return Audience.COMPANION
    return None


def visible_walk(conn: Connection, walk_id: int, person_id: int) -> tuple[Walk, Audience]:
    walk = get_walk(conn, walk_id)
    audience = audience_of(conn, walk, person_id) if walk else None
    if walk is None or audience is None:
        raise NotFound("no such walk")
    return walk, audience


def over_for_companion(conn: Connection, walk_id: int, person_id: int) -> Walk | None:
    """A walk that is over, for one of its companions (chosen for it, the contact between
    them still standing): enough to say that it is over and how, never where she was (who
    sees a live walk stays `audience_of`'s). Anyone else, or a walk still going on for the
    companions: None, the same as for a walk that doesn't exist."""
    walk = get_walk(conn, walk_id)
    if walk is None or walk.live or walk.walker_id == person_id:
        return None
    chosen = conn.execute(
        sa.select(walk_companions.c.person_id).where(
            walk_companions.c.walk_id == walk.id, walk_companions.c.person_id == person_id
        )
    ).first()
    if chosen and contacts.is_accepted_companion(conn, walk.walker_id, person_id):
        return walk
    return None


def pin_hashes_of(conn: Connection, walk_id: int, walker_id: int) -> tuple[str, str | None]:
    """Her PIN's hash and her duress PIN's (if she has one), for the PIN checks, which happen
    outside the writer (argon2 is slow)."""
    row = conn.execute(
        sa.select(walks.c.pin_hash, walks.c.duress_pin_hash).where(
            walks.c.id == walk_id, walks.c.walker_id == walker_id
        )
    ).first()
    if row is None:
        raise NotFound("no such walk")
    return str(row.pin_hash), row.duress_pin_hash


def companion_names(conn: Connection, walk_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(people.c.id, people.c.name)
        .join(walk_companions, walk_companions.c.person_id == people.c.id)
        .where(walk_companions.c.walk_id == walk_id)
        .order_by(people.c.id)
    )
    return [{"id": r.id, "name": r.name} for r in rows]


def person_name(conn: Connection, person_id: int) -> str:
    return str(conn.execute(sa.select(people.c.name).where(people.c.id == person_id)).scalar_one())


@dataclass(frozen=True)
class Reach:
    """How to call the walker, for those who may: her number, or None if she gave none."""

    phone: str | None


def under_duress(conn: Connection, walker_id: int, known_to: int | None) -> bool:
    """A silent alarm her duress PIN gave is in force on a walk of hers that `known_to`
    follows (after it ended a walk for her devices she may start another, with whoever made
    her give it beside her). While it is, he is not offered to call or message her on any
    walk of hers (views.py, `reach_walker`). Only he who knows of it already: a companion of
    the other walk only would learn of the silent alarm from it (a coercer among them)."""
    if known_to is None:
        return False
    found = conn.execute(
        sa.select(walks.c.id)
        .join(walk_companions, walk_companions.c.walk_id == walks.c.id)
        .where(
            walks.c.walker_id == walker_id,
            walks.c.state == WalkState.ALARM.value,
            walks.c.cover_state.is_not(None),
            walk_companions.c.person_id == known_to,
        )
        .limit(1)
    )
    return found.first() is not None


def reach_walker(
    conn: Connection,
    walk: Walk,
    seen_as: Audience,
    *,
    through_link: bool,
    viewer_id: int | None = None,
) -> Reach | None:
    """Her phone number is for her companions while the walk is live, and for whoever holds
    an alarm's link (her guardians, the hook) while the alarm lasts. Anyone else, a link she
    made included, gets None: not even whether she gave one.

    `seen_as`: the audience the walk was shown to, by `visible_walk` or, through a link, by
    `shares.walk_for_link` (an alarm's link shows it as her companions see it)."""
    if seen_as is not Audience.COMPANION or not walk.live or walk.covert:
        return None  # (after her duress PIN: calling her could give the silent alarm away)
    if under_duress(conn, walk.walker_id, viewer_id):
        return None  # (...given on another walk of hers he follows, still in its silent alarm)
    if through_link and walk.state is not WalkState.ALARM:
        return None
    phone = conn.execute(sa.select(people.c.phone).where(people.c.id == walk.walker_id))
    return Reach(phone.scalar_one_or_none())


def walks_of(conn: Connection, person_id: int) -> list[tuple[Walk, Audience]]:
    """Her own walks (newest first), and the live walks she follows."""
    own = conn.execute(
        sa.select(*WALK_COLUMNS)
        .where(walks.c.walker_id == person_id)
        .order_by(walks.c.id.desc())
        .limit(50)
    )
    result = [(walk_from_row(r), Audience.WALKER) for r in own]
    followed = conn.execute(
        sa.select(*WALK_COLUMNS)
        .join(walk_companions, walk_companions.c.walk_id == walks.c.id)
        .where(walk_companions.c.person_id == person_id, walks.c.state.in_(LIVE_VALUES))
        .order_by(walks.c.id.desc())
    )
    for row in followed:
        walk = walk_from_row(row)
        if audience_of(conn, walk, person_id) is Audience.COMPANION:
            result.append((walk, Audience.COMPANION))
    return result


def own_live_walk(tx: Tx, walk_id: int, walker_id: int) -> Walk:
    """Her walk, live as her own devices see it (after her duress PIN, they see what her real
    PIN would have left)."""
    walk = get_walk(tx.conn, walk_id)
    if walk is None or walk.walker_id != walker_id:
        raise NotFound("no such walk")
    if not walk.walker_live:
        raise Conflict(f"this walk is over ({walk.walker_state.value})")
    return walk


def post_message(tx: Tx, walk_id: int, person_id: int, text: str, quick: bool) -> int:
    walk = get_walk(tx.conn, walk_id)
    audience = audience_of(tx.conn, walk, person_id) if walk else None
    if walk is None or audience is None:
        raise NotFound("no such walk")
    state = walk.walker_state if audience is Audience.WALKER else walk.state
    if state not in LIVE_STATES:
        raise Conflict(f"this walk is over ({state.value})")
    cleaned = rules.check_message(text)
    if quick and cleaned not in rules.QUICK_REPLIES:
        raise Invalid("not one of the quick replies", field="text")
    if audience is not Audience.WALKER:
        # Hers are never held back: she may be the one in danger, tapping "Call me" again and
        # again, or her page sending what waited while she had no network.
        throttle.message(tx, person_id)  # 429 past its limits: nothing said
    event_id = timeline.record(
        tx,
        walk_id,
        "message",
        audience=_heard_by(tx.conn, walk, person_id, audience),
        actor_id=person_id,
        sender={"id": person_id, "name": person_name(tx.conn, person_id)},
        text=cleaned,
        quick=quick,
    )
    if audience is Audience.WALKER and not _said_lately(tx, walk_id, cleaned):
        # Hers reach her companions where they hear alerts, as her walk's other news does:
        # on his walk page only, "Taking the long way, a bit scared" waited at the bottom of
        # a page he did not have open (a review of a first walk).
        from walkwithme.usecases import alerts  # (alerts' own imports reach this module)

        told = alerts.companion_ids(tx.conn, walk_id)
        alerts.tell(tx, walk, "message", {"text": cleaned}, told, event_id=event_id)
    return timeline.seq_of(tx.conn, event_id, audience)


def _heard_by(conn: Connection, walk: Walk, person_id: int, audience: Audience) -> str:
    """Whose timeline a message goes on: everyone's on the walk, but hers only from someone
    who is a companion of the walk her own devices are shown. After her duress PIN, one whose
    contact ended during the silent alarm alone still follows it, and his message reached her
    devices, where her real PIN would have left him no walk to write on (a duress review)."""
    if audience is Audience.WALKER or not walk.covert or walk.everyone != timeline.FOR_ALL:
        return walk.everyone
    shown = contacts.is_accepted_companion(
        conn,
        walk.walker_id,
        person_id,
        alarm_at=walk.shown_alarm_since,
        walking_since=walk.shown_walking_since,
    )
    return timeline.FOR_ALL if shown else timeline.FOR_COMPANIONS


# Her same words again within this long are one alert ("Call me" tapped again and again, or
# her page sending what waited offline): her companions' pages show each.
MESSAGE_FOLDED_MS = 2 * 60_000


def _said_lately(tx: Tx, walk_id: int, text: str) -> bool:
    """Whether her companions were alerted of these very words on this walk lately."""
    lately = tx.conn.execute(
        sa.select(alerts_table.c.payload).where(
            alerts_table.c.walk_id == walk_id,
            alerts_table.c.kind == "message",
            alerts_table.c.created_at > tx.now_ms - MESSAGE_FOLDED_MS,
        )
    ).scalars()
    return any(payload.get("text") == text for payload in lately)


def forgotten_for(walk: Walk, audience: Audience) -> bool:
    """Her devices were shown this walk forgotten while it is kept for its silent alarm
    (usecases/retention.py, `forget_for_her`): its timeline shows them no place, as a
    forgotten walk keeps none."""
    shown = walk.shown_to_her
    return audience is Audience.WALKER and shown is not None and shown.forgotten_at is not None


def shown_until(walk: Walk, audience: Audience) -> int | None:
    """For her own devices, after her duress PIN ended the walk for them: the track stops
    where it would have stopped (the last number of it they see; what arrives later is for
    those looking out for her). None: the whole track."""
    shown = walk.shown_to_her
    return shown.fix_seq if audience is Audience.WALKER and shown is not None else None


def ended_for_her(conn: Connection, walk: Walk) -> dict[str, Any]:
    """Her duress PIN ends the walk for her devices, while it goes on for the people looking
    for her: what her devices see of where she is stops here, as her real PIN's walk would
    have stopped (its track and its last position, as the one path for fixes left them)."""
    fix_seq = conn.execute(sa.select(walks.c.fix_seq).where(walks.c.id == walk.id)).scalar_one()
    # And when her phone was last heard: her real PIN's walk would have kept it too.
    return shown_to_her_columns(ShownToHer(int(fix_seq), walk.last, walk.heard_at))
