"""Share links: one walk, shown without an account, until the link expires or is revoked.

A link is a long random secret, stored hashed. It lasts until the walk is over, or for the
hours the walker chose (even past the walk's end). Once expired or revoked it shows nothing at
all, not even a last position.

The `id` she sees of a link is its number among the links she made for that walk (1, 2...):
the links an alarm makes for her guardians and the hook are not counted, so nothing she can
see counts what a silent alarm does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Invalid, NotFound
from walkwithme.domain.walks import WalkState
from walkwithme.security import new_token, token_hash
from walkwithme.store.schema import events, insert_id, share_links, walks
from walkwithme.store.tx import Tx
from walkwithme.usecases.timeline import FOR_ALL, FOR_COMPANIONS, Audience
from walkwithme.usecases.walk_record import Walk
from walkwithme.usecases.walk_store import get_walk
from walkwithme.usecases.walks import own_live_walk

MAX_SHARE_HOURS = 48
LOOKING = (FOR_ALL, FOR_COMPANIONS)  # what those looking for her see of a walk
HOUR_MS = 3_600_000


def create_link(
    tx: Tx,
    walk_id: int,
    walker_id: int,
    hours: float | None,
    *,
    label: str | None = None,
    tour_uuid: str | None = None,
) -> dict[str, Any]:
    """`label`, `tour_uuid`: a link made as one of OwnTracks' Tours (usecases/tours.py)."""
    own_live_walk(tx, walk_id, walker_id)
    if hours is not None and not 0 < hours <= MAX_SHARE_HOURS:
        raise Invalid(f"hours must be more than 0 and at most {MAX_SHARE_HOURS}", field="hours")
    token = new_token("shr")
    expires_at = tx.now_ms + int(hours * HOUR_MS) if hours is not None else None
    # The walk's row is locked until the commit: two links never get the same number.
    number = int(tx.conn.execute(_NUMBER, {"walk_id": walk_id}).scalar_one())
    insert_id(
        tx.conn,
        share_links,
        walk_id=walk_id,
        number=number,
        token_hash=token_hash(token),
        created_at=tx.now_ms,
        expires_at=expires_at,
        label=label,
        tour_uuid=tour_uuid,
    )
    tx.touch(walk_id)
    return {"id": number, "token": token, "expires_at": expires_at}


_NUMBER = (
    walks.update()
    .where(walks.c.id == sa.bindparam("walk_id"))
    .values(share_seq=walks.c.share_seq + 1)
    .returning(walks.c.share_seq)
)


def revoke_link(tx: Tx, walk_id: int, walker_id: int, link_id: int) -> None:
    walk = get_walk(tx.conn, walk_id)
    if walk is None or walk.walker_id != walker_id:
        raise NotFound("no such walk")
    done = tx.conn.execute(
        share_links.update()
        .where(
            share_links.c.number == link_id,
            share_links.c.walk_id == walk_id,
            share_links.c.revoked_at.is_(None),
            # An alarm's links are for those who may have to help: not hers to take back.
            share_links.c.for_alarm.is_(False),
        )
        .values(revoked_at=tx.now_ms)
    )
    if done.rowcount != 1:
        raise NotFound("no such link")
    tx.touch(walk_id, access=True)  # an open live view through the link closes


def list_links(conn: Connection, walk_id: int, now_ms: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(share_links)
        .where(share_links.c.walk_id == walk_id, share_links.c.for_alarm.is_(False))
        .order_by(share_links.c.number)
    )
    return [
        {
            "id": r.number,
            "created_at": r.created_at,
            "expires_at": r.expires_at,
            "revoked": r.revoked_at is not None,
            "expired": r.expires_at is not None and r.expires_at <= now_ms,
        }
        for r in rows
    ]


def walk_for_link(
    conn: Connection, token: str, now_ms: int, *, finished_ok: bool = False
) -> tuple[Walk, Audience]:
    """The walk a link shows right now, and as whom it shows it; or NotFound (the same for
    unknown, expired, revoked).

    A link she made shows the walk as her own devices see it (after her duress PIN, what her
    real PIN would have left: a link is something she can open); a link made for an alarm,
    for her guardians and the hook, shows it as her companions see it.

    `finished_ok`: a live stream through a link that lasts as long as the walk may show how
    the walk ended before it closes."""
    row = conn.execute(
        sa.select(
            share_links.c.walk_id,
            share_links.c.expires_at,
            share_links.c.revoked_at,
            share_links.c.for_alarm,
            share_links.c.tour_uuid,
        ).where(share_links.c.token_hash == token_hash(token))
    ).first()
    walk = get_walk(conn, row.walk_id) if row else None
    if row is None or walk is None or row.revoked_at is not None:
        raise NotFound("this link shows nothing: it is unknown, expired or revoked")
    audience = Audience.COMPANION if row.for_alarm else Audience.WALKER
    if row.for_alarm:
        # While the alarm lasts, then the hour it was given when the alarm ended, as long as
        # the walk goes on: never where it ended, her door, once she is home.
        lasting = row.expires_at is None
        in_time = walk.state is WalkState.ALARM if lasting else now_ms < row.expires_at
        valid = in_time and (walk.live or finished_ok)
    else:
        # A link she made (or a tour, usecases/tours.py) shows a walk going on: it ends with
        # the walk, or at the time she chose if that comes first. Never where her walk ended,
        # her door, for hours after she got home.
        in_time = row.expires_at is None or now_ms < row.expires_at
        valid = in_time and (walk.walker_live or finished_ok)
    if not valid:
        raise NotFound("this link shows nothing: it is unknown, expired or revoked")
    return walk, audience


@dataclass(frozen=True)
class AlarmOver:
    """How the alarm an alarm's link was made for ended, for the page its link opens once
    it shows nothing more: "This link has expired" left a guardian who opened an old alert
    before reading the next one not knowing whether to go on looking (an outside review)."""

    by_walker: bool  # she did, with her PIN (else whoever found her)
    at: int  # when


def alarm_over(conn: Connection, token: str) -> AlarmOver | None:
    """How the alarm of this alarm's link ended, if it is one whose alarm is over (nothing
    for a link she made): whether she ended it, and when, as its holders were told."""
    row = conn.execute(
        sa.select(share_links.c.walk_id, share_links.c.created_at).where(
            share_links.c.token_hash == token_hash(token),
            share_links.c.for_alarm.is_(True),
            share_links.c.revoked_at.is_(None),
        )
    ).first()
    walk = get_walk(conn, row.walk_id) if row else None
    if row is None or walk is None:
        return None
    # The alarm's own end: not what her devices were shown after her duress PIN (`cover`:
    # her PIN given to the alarm they were shown, which ended nothing).
    ends = conn.execute(
        sa.select(events.c.id, events.c.actor_id, events.c.at, events.c.data)
        .where(
            events.c.walk_id == walk.id,
            events.c.kind == "alarm_resolved",
            events.c.at >= row.created_at,
            events.c.audience.in_(LOOKING),
        )
        .order_by(events.c.id)
    )
    ended = next((e for e in ends if not e.data.get("cover")), None)
    if ended is None:
        return None
    # An alarm since: this one's end would reassure wrongly; "expired", saying nothing of it
    # (a stranger holding the link must not learn of a silent alarm).
    since = conn.execute(
        sa.select(events.c.id).where(
            events.c.walk_id == walk.id,
            events.c.kind == "alarm",
            events.c.id > ended.id,
            events.c.audience.in_(LOOKING),
        )
    ).first()
    if since is not None:
        return None
    return AlarmOver(by_walker=ended.actor_id == walk.walker_id, at=int(ended.at))


def alarm_link(tx: Tx, walk_id: int) -> str:
    """The link that guardians and the hook get with an alarm: it works while the alarm lasts
    and for an hour after it ends."""
    token = new_token("shr")
    insert_id(
        tx.conn,
        share_links,
        walk_id=walk_id,
        token_hash=token_hash(token),
        created_at=tx.now_ms,
        for_alarm=True,
    )
    return token
