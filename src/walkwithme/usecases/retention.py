"""Forgetting where people walked: a walk that is over keeps its track only as long as its
walker chose (7 days unless she chose otherwise; "as soon as I'm home" is a choice), or, if it
had an alarm, as long as the operator keeps alarmed walks (90 days: someone may need them).

Then the walk is *forgotten*: its fixes are deleted, its events keep no position and no place,
the walk's own columns lose its destination and last position, its links are deleted and its
alerts keep only what they were about. What remains says that a walk happened, when, and how
it ended, never where.

The due time lives in the database (`walks.forget_at`, set by the watchdog's first look after
the walk ended), so a service that was down forgets on its first look after it is back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.keeping import Keeping
from walkwithme.domain.walks import LIVE_VALUES
from walkwithme.store.schema import (
    alerts,
    answer_links,
    deliveries,
    events,
    fixes,
    people,
    share_links,
    walks,
)
from walkwithme.store.tx import Tx
from walkwithme.usecases import looks
from walkwithme.usecases.alerts import PENDING
from walkwithme.usecases.timeline import FOR_ALL, FOR_WALKER, scrub
from walkwithme.usecases.walk_columns import LAST_FIX

PER_LOOK = 200  # walks a look sets or forgets (the rest at the next look, moments later)

# The walk's columns that say where it went or where she was.
_WHERE = {
    "dest_name": None,
    "dest_lat": None,
    "dest_lon": None,
    "dest_radius_m": None,
    "last_lat": None,
    "last_lon": None,
    "last_accuracy_m": None,
    "last_speed_mps": None,
    "last_bearing_deg": None,
    "progress_m": None,
    "closer_m": None,
    "straight_m": None,
    "behind_m": None,
    "door_still": None,
    "walked": None,
    "walker_last": None,
}


def _had_alarm(*, seen_by_walker: bool = False) -> sa.Exists:
    """An alarm of any kind (a silent one too); `seen_by_walker`: one her devices were shown."""
    found = sa.select(events.c.id).where(
        events.c.walk_id == walks.c.id, events.c.kind.in_(("alarm", "sos", "duress"))
    )
    if seen_by_walker:
        found = found.where(events.c.audience.in_((FOR_ALL, FOR_WALKER)))
    return found.exists()


@dataclass(frozen=True)
class Over:
    """A walk that is over, as retention needs it: really, or only as her devices were shown
    it (after a duress PIN ended it for them while the silent alarm goes on)."""

    walk_id: int
    ended_at: int | None  # None: over only for her devices so far
    walker_ended_at: int  # as her own devices were shown it (after a duress PIN: earlier)
    chosen_ms: int | None  # her choice; None: the operator's default
    alarmed: bool  # any alarm, a silent one too
    alarm_seen: bool  # an alarm her devices were shown


Ended = list[Over]


def unscheduled(conn: Connection) -> Ended:
    """Walks that are over and have no forget time yet, and walks her devices were shown end
    (a duress PIN) with no time told to her yet: her devices are told theirs when a real
    end would have been told, so the two can't be told apart. Read first: most looks find
    none, and a look that finds none writes nothing."""
    over = sa.and_(walks.c.ended_at.is_not(None), walks.c.state.not_in(LIVE_VALUES))
    rows = conn.execute(
        sa.select(
            walks.c.id,
            sa.case((over, walks.c.ended_at), else_=None),
            sa.func.coalesce(walks.c.cover_ended_at, walks.c.ended_at),
            people.c.keep_walks_ms,
            _had_alarm(),
            _had_alarm(seen_by_walker=True),
        )
        .join(people, people.c.id == walks.c.walker_id)
        .where(
            walks.c.forgotten_at.is_(None),
            sa.or_(
                sa.and_(walks.c.forget_at.is_(None), over),
                sa.and_(walks.c.walker_forget_at.is_(None), walks.c.cover_ended_at.is_not(None)),
            ),
        )
        .limit(PER_LOOK)
    ).all()
    return [Over(r[0], r[1], r[2], r[3], bool(r[4]), bool(r[5])) for r in rows]


def schedule(tx: Tx, ended: Ended, keeping: Keeping) -> int:
    """Give each walk that is over its forget time, and the one her devices are told (once:
    a walk her devices saw end earlier keeps what they were told then)."""
    for walk in ended:
        chosen = keeping.default_ms if walk.chosen_ms is None else walk.chosen_ms
        chosen = min(chosen, keeping.most_ms)
        shown = walk.walker_ended_at + (keeping.alarmed_ms if walk.alarm_seen else chosen)
        told = sa.func.coalesce(walks.c.walker_forget_at, shown)
        if walk.ended_at is None:
            tx.conn.execute(
                walks.update().where(walks.c.id == walk.walk_id).values(walker_forget_at=told)
            )
            continue
        real = walk.ended_at + (keeping.alarmed_ms if walk.alarmed else chosen)
        tx.conn.execute(
            walks.update()
            .where(walks.c.id == walk.walk_id, walks.c.forget_at.is_(None))
            .values(forget_at=real, walker_forget_at=told)
        )
    return len(ended)


def due_for_her(conn: Connection, now_ms: int) -> list[int]:
    """Walks her duress PIN ended for her devices, kept longer for their silent alarm, whose
    time to be forgotten as her devices were told has come (`forget_for_her`)."""
    return list(
        conn.execute(
            sa.select(walks.c.id)
            .where(
                walks.c.walker_forget_at <= now_ms,
                walks.c.walker_fix_seq.is_not(None),  # her devices saw it end early
                walks.c.walker_forgotten_at.is_(None),
                walks.c.forgotten_at.is_(None),
            )
            .order_by(walks.c.walker_forget_at)
            .limit(PER_LOOK)
        ).scalars()
    )


def forget_for_her(tx: Tx, walk_id: int) -> bool:
    """After her duress PIN, the walk is kept as long as an alarmed walk is, for the people
    looking for her; her own devices must see it forgotten when her real PIN's walk would
    have been, or whoever holds her phone could pick out the one walk that was not (and know
    she raised an alarm). So, at the time her devices were told: they see no track (the last
    number of it they see is 0), her last position keeps only its time and battery, the walk
    no destination and its timeline no place (`Walk.walker_view`, `walks.forgotten_for`); her
    own share links and who looked go (a forgotten walk keeps neither). What the people
    looking for her see is kept until the walk itself is forgotten. False if not due."""
    row = tx.conn.execute(
        sa.select(
            walks.c.walker_forget_at,
            walks.c.walker_forgotten_at,
            walks.c.forgotten_at,
            walks.c.walker_last,
        ).where(walks.c.id == walk_id)
    ).first()
    if row is None or row.forgotten_at is not None or row.walker_forgotten_at is not None:
        return False
    if row.walker_forget_at is None or row.walker_forget_at > tx.now_ms:
        return False
    tx.conn.execute(
        share_links.delete().where(
            share_links.c.walk_id == walk_id, share_links.c.for_alarm.is_(False)
        )
    )
    looks.forget(tx, walk_id)
    tx.conn.execute(
        walks.update()
        .where(walks.c.id == walk_id)
        .values(
            walker_forgotten_at=tx.now_ms,
            walker_fix_seq=0,
            walker_last=_placeless(row.walker_last or dict.fromkeys(LAST_FIX)),
            version=walks.c.version + 1,
        )
    )
    return True


def _placeless(walker_last: dict[str, Any]) -> dict[str, Any]:
    """Where her devices last saw her, as a forgotten walk keeps it: its time and battery."""
    return {name: None if name in _WHERE else value for name, value in walker_last.items()}


def due(conn: Connection, now_ms: int) -> list[int]:
    return list(
        conn.execute(
            sa.select(walks.c.id)
            .where(walks.c.forget_at <= now_ms, walks.c.forgotten_at.is_(None))
            .order_by(walks.c.forget_at)
            .limit(PER_LOOK)
        ).scalars()
    )


def forget(tx: Tx, walk_id: int) -> bool:
    """Forget where one walk went. False if it isn't due (any more)."""
    walk = tx.conn.execute(
        sa.select(
            walks.c.forget_at, walks.c.forgotten_at, walks.c.state, walks.c.walker_last
        ).where(walks.c.id == walk_id)
    ).first()
    if walk is None or walk.forgotten_at is not None or walk.forget_at is None:
        return False
    if walk.forget_at > tx.now_ms or walk.state in LIVE_VALUES:
        return False
    tx.conn.execute(fixes.delete().where(fixes.c.walk_id == walk_id))
    tx.conn.execute(share_links.delete().where(share_links.c.walk_id == walk_id))
    tx.conn.execute(answer_links.delete().where(answer_links.c.walk_id == walk_id))
    looks.forget(tx, walk_id)  # who looked goes with what they looked at
    for event_id, data in tx.conn.execute(
        sa.select(events.c.id, events.c.data).where(events.c.walk_id == walk_id)
    ).all():
        kept = scrub(data)
        if kept != data:
            tx.conn.execute(events.update().where(events.c.id == event_id).values(data=kept))
    for alert_id, payload in tx.conn.execute(
        sa.select(alerts.c.id, alerts.c.payload).where(alerts.c.walk_id == walk_id)
    ).all():
        kept = _settled(payload)
        if kept != payload:
            tx.conn.execute(alerts.update().where(alerts.c.id == alert_id).values(payload=kept))
    forgotten: dict[str, Any] = dict(_WHERE)
    if walk.walker_last is not None:
        # After her duress PIN her devices were shown the walk as it was then: they keep
        # that time and battery, as her real PIN's walk would have, and never the later ones
        # (NULL here would show them the walk's own).
        forgotten["walker_last"] = _placeless(walk.walker_last)
    tx.conn.execute(
        walks.update().where(walks.c.id == walk_id).values(**forgotten, forgotten_at=tx.now_ms)
    )
    return True


# -- the outbox forgets sooner ------------------------------------------------------------------

OUTBOX_KEEP_MS = 24 * 3_600_000  # an alert keeps where she was this long once it is settled

_STILL_SENDING = (
    sa.select(deliveries.c.id)
    .where(deliveries.c.alert_id == alerts.c.id, deliveries.c.state == PENDING)
    .exists()
)
# A cheap filter before the JSON is read (the same on SQLite and PostgreSQL): where she was,
# and her phone number, which an alarm's alert carries (only an alarm's: nothing else of an
# alert says "phone" as a word of its own).
_LOCATES = sa.or_(
    *(sa.cast(alerts.c.payload, sa.Text).like(f'%"{key}"%') for key in ("lat", "destination")),
    sa.and_(alerts.c.kind == "alarm", sa.cast(alerts.c.payload, sa.Text).like('%"phone"%')),
)


def _settled(payload: dict[str, Any]) -> dict[str, Any]:
    """An alert as kept once it was sent: nothing of where she was, nor her phone number (for
    the alarm alone: privacy.md; a privacy review found it in alerts of walks long forgotten)."""
    kept: dict[str, Any] = scrub(payload)
    walker = kept.get("walker")
    if isinstance(walker, dict) and "phone" in walker:
        kept["walker"] = {k: v for k, v in walker.items() if k != "phone"}
    return kept


def settled_alerts(conn: Connection, now_ms: int) -> list[int]:
    """Alerts that no delivery will send any more, a day old, that still say where: what they
    said has reached whoever it could; the walk's own timeline keeps the rest as long as the
    walk is kept."""
    return list(
        conn.execute(
            sa.select(alerts.c.id)
            .where(alerts.c.created_at <= now_ms - OUTBOX_KEEP_MS, ~_STILL_SENDING, _LOCATES)
            .order_by(alerts.c.id)
            .limit(PER_LOOK)
        ).scalars()
    )


def scrub_alerts(tx: Tx, alert_ids: list[int]) -> int:
    """Take where she was, and her number, out of these alerts (if no delivery may send them
    meanwhile)."""
    changed = 0
    for alert_id, payload in tx.conn.execute(
        sa.select(alerts.c.id, alerts.c.payload).where(alerts.c.id.in_(alert_ids), ~_STILL_SENDING)
    ).all():
        kept = _settled(payload)
        if kept != payload:
            tx.conn.execute(alerts.update().where(alerts.c.id == alert_id).values(payload=kept))
            changed += 1
    return changed


def choose(tx: Tx, person_id: int, keep_ms: int | None, keeping: Keeping) -> None:
    """A walker's choice for her walks that end from now on (and those ended but not yet
    given a forget time); None: the operator's default."""
    value = None if keep_ms is None else keeping.check(keep_ms)
    tx.conn.execute(people.update().where(people.c.id == person_id).values(keep_walks_ms=value))


def chosen_ms(conn: Connection, person_id: int) -> int | None:
    """How long this walker chose to keep her walks (None: the operator's default)."""
    value = conn.execute(
        sa.select(people.c.keep_walks_ms).where(people.c.id == person_id)
    ).scalar_one()
    return None if value is None else int(value)


def kept(conn: Connection, walk_id: int) -> dict[str, Any]:
    """For its walker, once her walk is over: until when its track is kept (None: not decided
    yet, within moments), whether it is forgotten already, and whether it is kept longer for
    its alarm, as her devices may be told (after her duress PIN, as if it had none)."""
    row = conn.execute(
        sa.select(
            walks.c.walker_forget_at,
            sa.func.coalesce(walks.c.forgotten_at, walks.c.walker_forgotten_at),
            _had_alarm(seen_by_walker=True),
        ).where(walks.c.id == walk_id)
    ).one()
    return {"until": row[0], "forgotten": row[1] is not None, "for_its_alarm": bool(row[2])}
