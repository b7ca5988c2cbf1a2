"""Alerts and their outbox: who is told what, through which of their channels.

An alert is made in the same transaction as the event it tells of, with one delivery row per
(alert, recipient's channel). The notifier sends them, at least once, retrying with backoff
(notify/notifier.py). Its payload is fixed when it is made, so every retry sends the same
facts, with the same idempotency key; only what is said as of the send is added to it then
(how long ago, and in whose time zone: notify/times.py; the streets' names).

A payload may carry a capability: the path of an answer link (`/answer/<token>`) or of an
alarm's share link (`/api/share/<token>`), whose tokens are otherwise kept only as hashes. It
is kept only while a delivery of the alert may still be sent: once none is pending (all sent,
given up, superseded or meant for removed channels), it is removed from the payload
(`forget_links`), in the same transaction that settled the last delivery.
"""

from __future__ import annotations

import functools
import secrets
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.people import ContactRole
from walkwithme.domain.rules import Reason
from walkwithme.domain.walks import LIVE_VALUES
from walkwithme.store.schema import (
    alerts,
    channels,
    contacts,
    deliveries,
    insert_id,
    people,
    walk_companions,
    walks,
)
from walkwithme.store.tx import Tx
from walkwithme.usecases.contacts import (
    ALARM_AT,
    WALKING_SINCE,
    standing,
    standing_ids,
)
from walkwithme.usecases.walk_record import Walk
from walkwithme.usecases.walk_store import get_walk

PENDING, SENT, DEAD = "pending", "sent", "dead"
# A channel that failed this many times in a row is "failing": still sent every alert (it may
# work again), but not counted on to be heard (usecases/outbox.py).
FAILING_AFTER = 5
# How often an alert is tried (usecases/outbox.py): about 40 minutes of trying again.
MAX_ATTEMPTS = 10


def after_failure(failures: int, *, permanent: bool, breaks: bool) -> tuple[int, bool]:
    """A channel's failures in a row after one more, and whether it is broken now: only a
    failure that says the channel can never work breaks it (`breaks`; a broken channel is told
    nothing more until a test revives it), or refusals of each alert FAILING_AFTER times in a
    row (a push service refusing every message since the server's key changed). Failures that
    may pass (a mail server down for an hour) never do: it is "failing", and the alarms made
    meanwhile are still queued for it, to reach her once it works again."""
    failures += 1
    return failures, breaks or (permanent and failures >= FAILING_AFTER)


def new_alert_key() -> str:
    """An alert's idempotency key: random, so it says nothing of how many alerts were made
    before it (after her duress PIN, a count that grew by the silent alarm's would give it
    away to whoever reads her notifications)."""
    return f"wwm-alert-{secrets.token_urlsafe(16)}"


# The statements of the watchdog's path, built once: an alarm runs each of them, and building
# a statement anew (and hashing it for SQLAlchemy's cache) cost more than running it.
_WORKING_CHANNELS = (
    sa.select(channels.c.person_id, channels.c.id)
    .where(
        channels.c.person_id.in_(sa.bindparam("people", expanding=True)),
        channels.c.removed_at.is_(None),
        channels.c.broken_at.is_(None),
    )
    .order_by(channels.c.id)
)


def working_channels(conn: Connection, people_ids: list[int]) -> dict[int, list[int]]:
    """Each person's channels that are neither removed nor broken, in the order they were
    added (one query for all of an alert's recipients)."""
    found: dict[int, list[int]] = {person: [] for person in people_ids}
    if people_ids:
        for row in conn.execute(_WORKING_CHANNELS, {"people": list(found)}):
            found[row.person_id].append(row.id)
    return found


# A channel to count on now: not removed, neither broken nor failing (a failing one is still
# sent every alert, but neither the ladder nor a walk's start counts on it).
_COUNTED_ON = (
    channels.c.removed_at.is_(None),
    channels.c.broken_at.is_(None),
    channels.c.failures < FAILING_AFTER,
)
_REACHING = (
    sa.select(channels.c.id)
    .where(
        channels.c.person_id.in_(sa.bindparam("people", expanding=True)),
        channels.c.worked_at.is_not(None),
        *_COUNTED_ON,
    )
    .limit(1)
)


def anyone_reached(conn: Connection, people_ids: list[int]) -> bool:
    """Whether any of these people has a channel to count on now: one that has worked, and is
    neither broken nor failing (the same as `who_would_hear`, which her walk's start says).
    The alarm's ladder skips a rung that reaches nobody: a webhook mistyped and never tested
    held the alarm 3 minutes on a companion it could never reach (outside review). (Every
    channel not broken is still sent every alert: `working_channels`.)"""
    return bool(people_ids) and conn.execute(_REACHING, {"people": people_ids}).first() is not None


def guardian_ids(
    conn: Connection,
    walker_id: int,
    *,
    alarm_at: int | None = None,
    walking_since: int | None = None,
) -> list[int]:
    """Her guardians; during an alarm (raised at `alarm_at`), also those whose contact ended
    since, and during her walk (started at `walking_since`), those she ended since (see
    contacts.standing)."""
    return standing_ids(
        conn, walker_id, ContactRole.GUARDIAN, alarm_at=alarm_at, walking_since=walking_since
    )


def companion_ids(conn: Connection, walk_id: int) -> list[int]:
    """The walk's chosen companions whose contact with the walker still stands: the same rule
    as for seeing the walk (walks.audience_of). Someone whose contact ended hears nothing,
    unless it ended during the alarm the walk is in, or she ended it during the walk (see
    contacts.standing)."""
    walk = conn.execute(_ALARM_OF, {"walk_id": walk_id}).first()
    alarm_at = walk.alarm_at if walk is not None and walk.state == "alarm" else None
    since = walk.started_at if walk is not None and walk.state in LIVE_VALUES else None
    return _standing_companions(conn, walk_id, alarm_at, since)


def companion_ids_shown(conn: Connection, walk: Walk) -> list[int]:
    """The walk's companions as her own devices are shown the walk: after her duress PIN, by
    the cover's state and alarm, not the silent alarm's. A companion whose contact ended
    during the silent alarm still hears it (companion_ids), but her real PIN would have left
    no alarm to keep him on: his "I'm on it" and his message reached her devices, and her
    pages said her alarm would be heard (a duress review)."""
    return _standing_companions(conn, walk.id, walk.shown_alarm_since, walk.shown_walking_since)


def _standing_companions(
    conn: Connection, walk_id: int, alarm_at: int | None, since: int | None
) -> list[int]:
    rows = conn.execute(
        _companions(alarm_at is not None, since is not None),
        {"walk_id": walk_id, "alarm_at": alarm_at, "walking_since": since},
    )
    return list(dict.fromkeys(r.person_id for r in rows))


_ALARM_OF = sa.select(walks.c.state, walks.c.alarm_at, walks.c.started_at).where(
    walks.c.id == sa.bindparam("walk_id")
)


@functools.cache
def _companions(in_alarm: bool, walking: bool) -> sa.Select[tuple[int]]:
    """companion_ids' statement, in its forms (see contacts.standing)."""
    return (
        sa.select(walk_companions.c.person_id)
        .join(walks, walks.c.id == walk_companions.c.walk_id)
        .join(
            contacts,
            sa.and_(
                contacts.c.owner_id == walks.c.walker_id,
                contacts.c.member_id == walk_companions.c.person_id,
                contacts.c.role == ContactRole.COMPANION.value,
                standing(ALARM_AT if in_alarm else None, WALKING_SINCE if walking else None),
            ),
        )
        .where(walk_companions.c.walk_id == sa.bindparam("walk_id"))
        .order_by(walk_companions.c.person_id)
    )


class WalkRef(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def walker_id(self) -> int: ...
    @property
    def covert(self) -> bool: ...


_WALKER = sa.select(people.c.name, people.c.phone).where(people.c.id == sa.bindparam("walker_id"))


def payload_for(tx: Tx, walk: WalkRef, kind: str, event: dict[str, Any]) -> dict[str, Any]:
    """What the alert says: who, what happened and when, and the event's facts (last known
    position with accuracy and age, battery, heading, destination, for an alarm)."""
    walker = tx.conn.execute(_WALKER, {"walker_id": walk.walker_id}).one()
    # Her number is for those who must reach her in an alarm, and never after her duress PIN:
    # calling her then could give the silent alarm away to whoever holds her phone.
    reach_her = kind == "alarm" and not walk.covert and event.get("reason") != Reason.DURESS.value
    return {
        "kind": kind,
        "at": tx.now_ms,
        "walk_id": walk.id,
        "walker": {"name": walker.name, **({"phone": walker.phone} if reach_her else {})},
        **event,
    }


_NEW_DELIVERY = deliveries.insert()


def enqueue(
    tx: Tx,
    walk: WalkRef | None,
    kind: str,
    payload: dict[str, Any],
    recipients: list[int],
    *,
    event_id: int | None = None,
    hook: bool = False,
) -> int:
    """One alert, delivered to every working channel of every recipient (and to the
    operator's emergency hook if `hook`)."""
    # The key is fixed with the payload: stable across retries and across channels.
    alert_id = insert_id(
        tx.conn,
        alerts,
        walk_id=walk.id if walk else None,
        event_id=event_id,
        kind=kind,
        created_at=tx.now_ms,
        payload={**payload, "key": new_alert_key()},
    )
    rows: list[dict[str, int | None]] = [
        {"alert_id": alert_id, "person_id": person, "channel_id": channel}
        for person, ids in working_channels(tx.conn, list(dict.fromkeys(recipients))).items()
        for channel in ids
    ]
    if hook:
        rows.append({"alert_id": alert_id, "person_id": None, "channel_id": None})
    if not rows and any(key in payload for key in CAPABILITIES):
        # Nobody to send it to: the link it carries is not kept at all.
        forget_links(tx.conn, [alert_id])
    if rows:
        tx.conn.execute(
            _NEW_DELIVERY,
            [{**r, "state": PENDING, "attempts": 0, "next_attempt_at": tx.now_ms} for r in rows],
        )
        tx.alerted()  # the notifier is rung after the commit: due now, sent now
    return alert_id


def tell(
    tx: Tx,
    walk: WalkRef,
    kind: str,
    event: dict[str, Any],
    recipients: list[int],
    *,
    event_id: int | None = None,
    hook: bool = False,
) -> int:
    return enqueue(
        tx,
        walk,
        kind,
        payload_for(tx, walk, kind, event),
        recipients,
        event_id=event_id,
        hook=hook,
    )


# Keys of a payload that open something (a link with its token): kept only until delivered.
CAPABILITIES = ("link_path",)

_STILL_PENDING = (
    sa.select(deliveries.c.id)
    .where(deliveries.c.alert_id == alerts.c.id, deliveries.c.state == PENDING)
    .exists()
)


def forget_links(conn: Connection, alert_ids: list[int] | None = None) -> int:
    """Remove the capabilities of these alerts (None: of any alert) that no delivery may send
    any more. Returns how many payloads changed."""
    query = sa.select(alerts.c.id, alerts.c.payload).where(
        ~_STILL_PENDING,
        # A cheap filter before the JSON is read (the same on SQLite and PostgreSQL).
        sa.cast(alerts.c.payload, sa.Text).like('%"link_path"%'),
    )
    if alert_ids is not None:
        if not alert_ids:
            return 0
        query = query.where(alerts.c.id.in_(list(dict.fromkeys(alert_ids))))
    changed = 0
    for alert_id, payload in conn.execute(query).all():
        kept = {k: v for k, v in payload.items() if k not in CAPABILITIES}
        if kept != payload:
            conn.execute(alerts.update().where(alerts.c.id == alert_id).values(payload=kept))
            changed += 1
    return changed


def supersede(tx: Tx, walk_id: int, kinds: tuple[str, ...], why: str) -> None:
    """Alerts of these kinds for this walk that are still waiting to be delivered are stale
    (the alarm was resolved, the question answered): drop them, so nobody hears "alarm" after
    "resolved"."""
    stale = sa.select(alerts.c.id).where(alerts.c.walk_id == walk_id, alerts.c.kind.in_(kinds))
    tx.conn.execute(
        deliveries.update()
        .where(deliveries.c.state == PENDING, deliveries.c.alert_id.in_(stale))
        .values(state=DEAD, last_error=why)
    )
    forget_links(tx.conn, list(tx.conn.execute(stale).scalars()))


def anyone_would_hear(conn: Connection, ids: list[int]) -> bool:
    """True if at least one of these people has a channel that has worked."""
    return bool(who_would_hear(conn, ids))


def who_would_hear(conn: Connection, ids: list[int]) -> set[int]:
    """Those of these people who have a channel that has worked and is not failing now (asked
    before a walk starts, of the companions she may choose, and after, of the walk's). A
    failing channel is still sent every alert, but nobody should count on it."""
    if not ids:
        return set()
    rows = conn.execute(
        sa.select(channels.c.person_id)
        .where(
            channels.c.person_id.in_(ids),
            channels.c.worked_at.is_not(None),
            *_COUNTED_ON,
        )
        .distinct()
    )
    return {r.person_id for r in rows}


def drop_no_longer_theirs(tx: Tx, owner_id: int, member_id: int) -> int:
    """A contact between them ended: what waits to tell `member_id` of her walks (a channel
    that failed is tried again for some 40 minutes) is sent only where he still stands, on a
    walk going on that keeps him (she ended it during the walk, or it ended during an alarm:
    contacts.standing). Nothing else of her reaches him any more (an outside review: he was
    emailed that she had started a walk, and that she was at her door, after he had left).
    Returns how many were dropped."""
    waiting = tx.conn.execute(
        sa.select(deliveries.c.id, deliveries.c.alert_id, alerts.c.walk_id, alerts.c.kind)
        .join(alerts, alerts.c.id == deliveries.c.alert_id)
        .join(walks, walks.c.id == alerts.c.walk_id)
        .where(
            deliveries.c.person_id == member_id,
            deliveries.c.state == PENDING,
            walks.c.walker_id == owner_id,
        )
    ).all()
    kept = {walk_id: _stands(tx.conn, walk_id, owner_id, member_id) for walk_id in {
        row.walk_id for row in waiting
    }}  # fmt: skip
    told_alarm = _told_an_alarm(tx.conn, member_id, {row.walk_id for row in waiting})
    dropped = [
        row
        for row in waiting
        if not kept[row.walk_id]
        # An all-clear for an alarm he was told of still goes: left with the alarm as his
        # last word of her, he would go looking for her (the diff's review).
        and not (row.kind in ALL_CLEAR and row.walk_id in told_alarm)
    ]
    if dropped:
        tx.conn.execute(
            deliveries.update()
            .where(deliveries.c.id.in_([row.id for row in dropped]), deliveries.c.state == PENDING)
            .values(state=DEAD, last_error="the contact ended")
        )
        forget_links(tx.conn, [row.alert_id for row in dropped])
    return len(dropped)


ALL_CLEAR = frozenset({"alarm_resolved", "inside", "ended"})


def _told_an_alarm(conn: Connection, member_id: int, walk_ids: set[int]) -> set[int]:
    """Which of these walks' alarms reached him (a delivery sent)."""
    if not walk_ids:
        return set()
    return set(
        conn.execute(
            sa.select(alerts.c.walk_id)
            .join(deliveries, deliveries.c.alert_id == alerts.c.id)
            .where(
                alerts.c.walk_id.in_(walk_ids),
                alerts.c.kind == "alarm",
                deliveries.c.person_id == member_id,
                deliveries.c.state == SENT,
            )
        ).scalars()
    )


def _stands(conn: Connection, walk_id: int, owner_id: int, member_id: int) -> bool:
    walk = get_walk(conn, walk_id)
    if walk is None or not walk.live:
        return False
    found = conn.execute(
        sa.select(contacts.c.id).where(
            contacts.c.owner_id == owner_id,
            contacts.c.member_id == member_id,
            standing(walk.alarm_since, walk.walking_since),
        )
    ).first()
    return found is not None
