"""After her duress PIN, her contacts' alert channels as her own devices would know them.

Her pages say whether her companions would hear an alarm (`who_she_would_hear`: her alarm's
headline, the words after her SOS, her start page, her offers page). After her duress PIN the
silent alarm's own alerts change their channels (one that reached him has worked; one that
failed again is failing): said on her pages, that would tell whoever holds her phone that an
alarm went out. So a channel that one of them touched keeps, for her, a shadow
(`cover_channels`): its state before, changed since by every other outcome as the channel
itself is (what her real PIN's walk would have sent him too, other people's walks, his tests),
never by the silent alarm's. Her real PIN's world and her duress PIN's then say the same of
him: if the alerts both would have sent fail, both say he would not hear. A shadow only ever
takes someone off (`who_she_would_hear`): her pages never say someone would hear whose
channel, as it is, would not.

A shadow that comes to agree with its channel is dropped; a new cover starts from the channels
as they are (unless another of hers goes on). Only while a walk of hers has a cover are they
read (once the silent alarm is resolved, her pages say the channels as they are, as before).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.store.schema import channels, cover_channels, walks
from walkwithme.store.tx import Tx
from walkwithme.usecases.alerts import (
    FAILING_AFTER,
    MAX_ATTEMPTS,
    after_failure,
    companion_ids,
    companion_ids_shown,
    who_would_hear,
)
from walkwithme.usecases.walk_record import Walk


def begin(tx: Tx, walk: Walk) -> None:
    """Her duress PIN gives her devices a cover: it starts from her contacts' channels as they
    are now (a shadow left from an earlier cover is forgotten, unless that cover goes on: a
    walk after one her duress PIN ended, its silent alarm still held open)."""
    other = sa.select(walks.c.id).where(
        walks.c.walker_id == walk.walker_id,
        walks.c.id != walk.id,
        walks.c.cover_state.is_not(None),
    )
    if tx.conn.execute(other.limit(1)).first() is None:
        tx.conn.execute(cover_channels.delete().where(cover_channels.c.walker_id == walk.walker_id))


# What only the silent alarm makes, after her duress PIN: its alarm and what comes of it.
# Anything else of her walk (her messages, "started" still being sent, a low battery) her real
# PIN's walk makes too.
SILENT_KINDS = frozenset(
    (
        "alarm",
        "alarm_escalated",
        "alarm_acknowledged",
        "alarm_resolved",
        "reporting_again",
        "walking_on",
    )
)


def silent_for(tx: Tx, channel_id: int, payload: dict[str, Any], attempts: int) -> int | None:
    """Before an outcome of this alert on this channel is recorded (its `attempts`th try):
    the walker for whom it is the silent alarm's alone (her real PIN would not have sent it),
    with a shadow of the channel as it is now made for her if there was none; None for any
    other. Her real PIN would have sent it too if it was made before her duress PIN gave her
    devices the cover (an alarm still being sent), if her devices are shown an alarm (whose
    ladder and the rest her real PIN's alarm sends to the same people), if it is not of a kind
    only the silent alarm makes (`SILENT_KINDS`) while her devices are shown the walk going
    on (shown it over, her real PIN's walk makes nothing more), or, to one of the walk's
    companions: an
    alert of what her devices are shown (`cover`), or the one made as she gave her duress PIN
    where her real PIN would have told them something then (`stands_for`: she is inside, the
    walk or the alarm her devices were shown is over), as often as that would have been tried
    (`MAX_ATTEMPTS`). Not to its guardians, nor to anyone it reached later on."""
    walk_id = payload.get("walk_id")
    if walk_id is None:
        return None
    walk = tx.conn.execute(
        sa.select(walks.c.walker_id, walks.c.cover_state, walks.c.cover_since).where(
            walks.c.id == int(walk_id)
        )
    ).first()
    if walk is None or walk.cover_state is None:
        return None
    if walk.cover_state == "alarm":
        # Her devices are shown an alarm: her real PIN's walk is in that alarm, and its
        # ladder, "I'm on it" and the rest go to the same people as the silent alarm's do (a
        # second review: his channel broken by the ladder's repeat, her page said he is told).
        return None
    made = payload.get("at")
    if walk.cover_since is None or not isinstance(made, int) or made < walk.cover_since:
        return None
    # Her devices shown the walk over: her real PIN's walk makes nothing more (a low battery
    # after her duress PIN's "inside" was counted as if it did: a third review).
    over = walk.cover_state in ("safe", "ended")
    if not over and payload.get("kind") not in SILENT_KINDS:
        return None
    channel = tx.conn.execute(sa.select(channels).where(channels.c.id == channel_id)).one()
    if channel.person_id == walk.walker_id:
        return None
    told_too = payload.get("cover") or (payload.get("stands_for") and attempts <= MAX_ATTEMPTS)
    if told_too and channel.person_id in companion_ids(tx.conn, int(walk_id)):
        return None
    walker_id = int(walk.walker_id)
    shadowed = sa.select(cover_channels.c.channel_id).where(
        cover_channels.c.walker_id == walker_id, cover_channels.c.channel_id == channel_id
    )
    if tx.conn.execute(shadowed).first() is None:
        tx.conn.execute(
            cover_channels.insert().values(
                walker_id=walker_id,
                channel_id=channel_id,
                worked_at=channel.worked_at,
                failures=channel.failures,
                broken_at=channel.broken_at,
            )
        )
    return walker_id


def worked(tx: Tx, channel_id: int, silent_for: int | None) -> None:
    """An alert reached this channel: as it does the channel, it does every shadow of it but
    the one of the walker whose silent alarm it was."""

    def after(_: Any) -> dict[str, Any]:
        return {"worked_at": tx.now_ms, "failures": 0, "broken_at": None}

    _follow(tx, channel_id, silent_for, after)


def failed(
    tx: Tx, channel_id: int, silent_for: int | None, *, permanent: bool, breaks: bool
) -> None:
    """An alert failed on this channel: counted on its shadows as on the channel."""

    def after(shadow: Any) -> dict[str, Any]:
        failures, broken = after_failure(shadow.failures, permanent=permanent, breaks=breaks)
        return {"failures": failures, "broken_at": tx.now_ms if broken else None}

    _follow(tx, channel_id, silent_for, after)


def tested(tx: Tx, channel_id: int) -> None:
    """Its owner asked for a test: a broken channel is given another chance, and its shadows."""
    _follow(tx, channel_id, None, lambda _: {"failures": 0, "broken_at": None})


def _follow(
    tx: Tx, channel_id: int, silent_for: int | None, change: Callable[[Any], dict[str, Any]]
) -> None:
    shadows = tx.conn.execute(
        sa.select(cover_channels).where(cover_channels.c.channel_id == channel_id)
    ).all()
    if not shadows:
        return
    now = tx.conn.execute(sa.select(channels).where(channels.c.id == channel_id)).one()
    for shadow in shadows:
        if shadow.walker_id == silent_for:
            continue
        values = {**shadow._asdict(), **change(shadow)}
        one = sa.and_(
            cover_channels.c.walker_id == shadow.walker_id,
            cover_channels.c.channel_id == channel_id,
        )
        if _says(values) == _says(now._asdict()):
            tx.conn.execute(cover_channels.delete().where(one))  # no longer needed
        else:
            tx.conn.execute(cover_channels.update().where(one).values(**change(shadow)))


def _says(channel: dict[str, Any]) -> tuple[bool, int, bool]:
    """What a channel's columns say of it: whether it has worked, its failures in a row, and
    whether it is broken."""
    return channel["worked_at"] is not None, channel["failures"], channel["broken_at"] is not None


def who_she_would_hear(conn: Connection, walker_id: int, ids: list[int]) -> set[int]:
    """`alerts.who_would_hear`, said to her own devices: while a walk of hers has a cover, a
    channel counts only if its shadow for her does too. A shadow only ever takes someone off:
    her pages may say nobody would hear where her real PIN's would not (the silent alarm's
    own failures can't always be told from her real PIN's), never that someone would where
    nobody would."""
    if not ids:
        return set()
    covered = sa.select(walks.c.id).where(
        walks.c.walker_id == walker_id, walks.c.cover_state.is_not(None)
    )
    if conn.execute(covered.limit(1)).first() is None:
        return who_would_hear(conn, ids)
    shadow = cover_channels.alias("shadow")
    seen = channels.outerjoin(
        shadow, sa.and_(shadow.c.channel_id == channels.c.id, shadow.c.walker_id == walker_id)
    )

    def counted(of: Any) -> sa.ColumnElement[bool]:
        return sa.and_(
            of.c.worked_at.is_not(None), of.c.broken_at.is_(None), of.c.failures < FAILING_AFTER
        )

    rows = conn.execute(
        sa.select(channels.c.person_id)
        .select_from(seen)
        .where(
            channels.c.person_id.in_(ids),
            channels.c.removed_at.is_(None),
            # Never more than the channels as they are: a channel the silent alarm broke is
            # sent nothing more, so his shadow never saw what her real PIN's alerts would
            # have met, and said his alerts work while nobody would hear (a third review).
            counted(channels),
            sa.or_(shadow.c.channel_id.is_(None), counted(shadow)),
        )
        .distinct()
    )
    return {r.person_id for r in rows}


def heard_as_shown(conn: Connection, walk: Walk | None) -> bool:
    """Whether any companion of the walk would hear an alarm, as her own devices are shown it:
    its companions as they are shown it too (`alerts.companion_ids_shown`)."""
    if walk is None:
        return False
    return bool(who_she_would_hear(conn, walk.walker_id, companion_ids_shown(conn, walk)))
