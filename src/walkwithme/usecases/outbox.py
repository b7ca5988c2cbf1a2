"""The outbox's leases: claim the deliveries that are due, record how each went, and count
what waits (for /healthz, /metrics and `walkwithme check`). Alerts are put in it by
usecases/alerts.py.

The attempt is written (claimed, with a lease) before anything is sent, and the result after.
A sender that dies mid-send loses its lease when it runs out, and the delivery is sent again:
at least once. Receivers drop the rare duplicate by the alert's key.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.store.schema import alerts, channels, deliveries, people, walks
from walkwithme.store.tx import Tx
from walkwithme.usecases import cover_channels
from walkwithme.usecases.alerts import (
    DEAD,
    FAILING_AFTER,
    MAX_ATTEMPTS,
    PENDING,
    SENT,
    after_failure,
    forget_links,
)

LEASE_MS = 60_000
# An alarm is tried again for hours: a companion's mail server may be down for longer than
# 40 minutes, and she may still need him when it is back.
MAX_ALARM_ATTEMPTS = 30
FIRST_RETRY_MS = 10_000
LONGEST_RETRY_MS = 10 * 60_000


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    attempts: int
    channel_id: int | None  # None: the operator's emergency hook
    kind: str | None
    target: str | None
    secret: str | None
    payload: dict[str, Any]
    # The zone its words are said in: its recipient's own (their profile's); the operator's
    # hook, who has none, the walker's (her walk's).
    timezone: str | None = None
    # Her walk's zone: an alarm read in another says her time and where she is too.
    walker_timezone: str | None = None


def _due(now_ms: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        deliveries.c.state == PENDING,
        deliveries.c.next_attempt_at <= now_ms,
        sa.or_(deliveries.c.lease_until.is_(None), deliveries.c.lease_until <= now_ms),
    )


def claim(tx: Tx, limit: int = 50, *, busy: Collection[int | None] = ()) -> list[Claimed]:
    """Lease the deliveries that are due, oldest first. `busy`: the channels (None: the
    operator's hook) that a send is still in flight on; what else is due for them waits for
    it, so that each channel hears its alerts one after another, in the order they were made."""
    # What was meant for a channel its owner removed is not sent (she took that address away).
    if tx.conn.execute(_DROP_FOR_REMOVED).rowcount:
        forget_links(tx.conn)
    due = _due(tx.now_ms)
    free = [due]
    busy_ids = [b for b in busy if b is not None]
    if busy_ids:  # (NULL NOT IN (...) is not true: the hook's rows are kept apart)
        free.append(
            sa.or_(deliveries.c.channel_id.is_(None), deliveries.c.channel_id.not_in(busy_ids))
        )
    if None in busy:
        free.append(deliveries.c.channel_id.is_not(None))
    rows = tx.conn.execute(
        sa.select(
            deliveries.c.id,
            deliveries.c.channel_id,
            channels.c.kind,
            channels.c.target,
            channels.c.secret,
            alerts.c.payload,
            sa.func.coalesce(people.c.timezone, walks.c.timezone).label("timezone"),
            walks.c.timezone.label("walker_timezone"),
        )
        .join(alerts, alerts.c.id == deliveries.c.alert_id)
        .join(channels, channels.c.id == deliveries.c.channel_id, isouter=True)
        .join(people, people.c.id == deliveries.c.person_id, isouter=True)
        .join(walks, walks.c.id == alerts.c.walk_id, isouter=True)
        .where(*free)
        .order_by(deliveries.c.next_attempt_at, deliveries.c.id)
        .limit(limit)
    ).all()
    if not rows:
        return []
    # One statement leases them all, each only if still due (nobody else took it meanwhile).
    leased = tx.conn.execute(
        deliveries.update()
        .where(deliveries.c.id.in_([r.id for r in rows]), due)
        .values(lease_until=tx.now_ms + LEASE_MS, attempts=deliveries.c.attempts + 1)
        .returning(deliveries.c.id, deliveries.c.attempts)
    )
    taken = {row.id: row.attempts for row in leased}
    return [
        Claimed(
            r.id,
            taken[r.id],
            r.channel_id,
            r.kind,
            r.target,
            r.secret,
            r.payload,
            r.timezone,
            r.walker_timezone,
        )
        for r in rows
        if r.id in taken
    ]


_DROP_FOR_REMOVED = (
    deliveries.update()
    .where(
        deliveries.c.state == PENDING,
        deliveries.c.channel_id.in_(
            sa.select(channels.c.id).where(channels.c.removed_at.is_not(None))
        ),
    )
    .values(state=DEAD, last_error="the channel was removed")
)


@dataclass(frozen=True)
class Result:
    claimed: Claimed
    error: str | None = None
    permanent: bool = False  # don't try this delivery again
    breaks_channel: bool | None = None  # None: as `permanent`


def backoff_ms(attempts: int) -> int:
    return int(min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** max(0, attempts - 1)))


def record(tx: Tx, results: list[Result]) -> None:
    _record(tx, results)
    # An alert none of whose deliveries may be sent any more loses the link it carried.
    settled = [r.claimed.delivery_id for r in results]
    if settled:
        of = sa.select(deliveries.c.alert_id).where(deliveries.c.id.in_(settled))
        forget_links(tx.conn, list(tx.conn.execute(of).scalars()))


def _record(tx: Tx, results: list[Result]) -> None:
    for result in results:
        c = result.claimed
        # (After her duress PIN, what the silent alarm's alerts do to a channel is not said
        # to her devices: cover_channels.)
        silent = None
        if c.channel_id is not None:
            silent = cover_channels.silent_for(tx, c.channel_id, c.payload, c.attempts)
        if result.error is None:
            tx.conn.execute(
                deliveries.update()
                .where(deliveries.c.id == c.delivery_id)
                .values(state=SENT, sent_at=tx.now_ms, lease_until=None, last_error=None)
            )
            if c.channel_id is not None:
                tx.conn.execute(
                    channels.update()
                    .where(channels.c.id == c.channel_id)
                    .values(worked_at=tx.now_ms, failures=0, broken_at=None, last_error=None)
                )
                cover_channels.worked(tx, c.channel_id, silent)
            continue
        most = MAX_ALARM_ATTEMPTS if c.payload.get("kind") == "alarm" else MAX_ATTEMPTS
        give_up = result.permanent or c.attempts >= most
        tx.conn.execute(
            deliveries.update()
            # Still pending: one dropped while it was being sent (its channel removed, its
            # contact ended: alerts.drop_no_longer_theirs) is not tried again.
            .where(deliveries.c.id == c.delivery_id, deliveries.c.state == PENDING)
            .values(
                state=DEAD if give_up else PENDING,
                lease_until=None,
                last_error=result.error[:300],
                next_attempt_at=tx.now_ms + backoff_ms(c.attempts),
            )
        )
        if c.channel_id is not None:
            row = tx.conn.execute(
                sa.select(channels.c.failures).where(channels.c.id == c.channel_id)
            ).one()
            breaks = result.permanent if result.breaks_channel is None else result.breaks_channel
            failures, broken = after_failure(
                row.failures, permanent=result.permanent, breaks=breaks
            )
            tx.conn.execute(
                channels.update()
                .where(channels.c.id == c.channel_id)
                .values(
                    failures=failures,
                    last_error=result.error[:300],
                    broken_at=tx.now_ms if broken else None,
                )
            )
            cover_channels.failed(
                tx, c.channel_id, silent, permanent=result.permanent, breaks=breaks
            )


def anything_due(conn: Connection, now_ms: int) -> bool:
    row = conn.execute(sa.select(deliveries.c.id).where(_due(now_ms)).limit(1)).first()
    return row is not None


def backlog(conn: Connection) -> int:
    return int(
        conn.execute(
            sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.state == PENDING)
        ).scalar_one()
    )


class Counts(NamedTuple):
    """People's channels not removed: how many, how many broken, how many failing (still tried)."""

    total: int
    broken: int
    failing: int


def counts(conn: Connection) -> Counts:
    """For the operator (`walkwithme check`, /admin): one query."""
    broken = channels.c.broken_at.is_not(None)
    failing = sa.and_(channels.c.broken_at.is_(None), channels.c.failures >= FAILING_AFTER)
    row = conn.execute(
        sa.select(
            sa.func.count(), sa.func.count().filter(broken), sa.func.count().filter(failing)
        ).where(channels.c.removed_at.is_(None))
    ).one()
    return Counts(*row)


def broken_channels(conn: Connection) -> int:
    return counts(conn).broken


class Undelivered(NamedTuple):
    """Alarms' deliveries that failed: waiting to be tried again, or given up while their
    walk is still in its alarm: how many, and the last reason one failed (the operator's to
    mend: a mail server down, its sign-in refused)."""

    waiting: int
    last_error: str | None


def undelivered_alarms(conn: Connection) -> Undelivered:
    """For the operator (`walkwithme check`, /healthz): an SOS no channel could take was a
    warning line in the log like a failed test's, and every check said all was well (an
    operator's review)."""
    # Waiting to be tried again, or given up (refused for good, or tried for hours) while its
    # walk is still in its alarm: a 404 from his server went straight to "given up", and the
    # check said nothing of it (a review of the change).
    # (Of the alarm it is in now: one given up in an alarm resolved before was counted again
    # when the walk's next alarm began: an outside review.)
    of_this_alarm = sa.select(alerts.c.id).where(
        alerts.c.walk_id == walks.c.id,
        walks.c.state == "alarm",
        alerts.c.created_at >= walks.c.alarm_at,
    )
    failed = sa.and_(
        deliveries.c.attempts > 0,
        deliveries.c.last_error.is_not(None),
        sa.or_(
            deliveries.c.state == PENDING,
            sa.and_(deliveries.c.state == DEAD, deliveries.c.alert_id.in_(of_this_alarm)),
        ),
        deliveries.c.alert_id.in_(sa.select(alerts.c.id).where(alerts.c.kind == "alarm")),
    )
    count = conn.execute(sa.select(sa.func.count()).select_from(deliveries).where(failed))
    last = conn.execute(
        sa.select(deliveries.c.last_error).where(failed).order_by(deliveries.c.id.desc()).limit(1)
    )
    return Undelivered(int(count.scalar_one()), last.scalar())


__all__ = ["DEAD", "SENT"]
