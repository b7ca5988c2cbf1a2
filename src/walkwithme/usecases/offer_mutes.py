"""Never harassment: a walker mutes offers from a person for a while or for good, or blocks
them until she unblocks.

Both are quiet. A muted or blocked person's new offers, and their recurring offers'
occurrences meanwhile, are made and answered as any other, but `quiet`: never told or shown
to her, even once it is over (usecases/offers.py), so nobody learns they were muted, blocked,
or for how long. Their offers still pending from before are hidden from her while it lasts.
A block also silences the reminders of promises she made them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Invalid, NotFound
from walkwithme.domain.people import ContactState
from walkwithme.store.schema import contacts, offer_mutes, offer_series, offers, people
from walkwithme.store.tx import Tx

HOUR_MS = 3_600_000
MAX_MUTE_HOURS = 90 * 24


class Silence(StrEnum):
    MUTE = "mute"
    BLOCK = "block"


@dataclass(frozen=True)
class Held:
    """Why an offer from this person can't reach her now."""

    kind: Silence
    until: int | None


def _known(conn: Connection, walker_id: int, person_id: int) -> None:
    """She may silence whoever may offer to walk her home (her companions: their contact is
    accepted) and whoever has offered, and nobody else: anyone else's id is answered like an
    id that doesn't exist. Not a person she has only asked: that the answer names them would
    tell her who has an account here, which asking never does (usecases/contacts.py)."""
    companion = sa.select(contacts.c.id).where(
        contacts.c.owner_id == walker_id,
        contacts.c.member_id == person_id,
        contacts.c.state == ContactState.ACCEPTED.value,
    )
    offered = [
        sa.select(table.c.id).where(table.c.walker_id == walker_id, table.c.offerer_id == person_id)
        for table in (offers, offer_series)
    ]
    if conn.execute(sa.union_all(companion, *offered).limit(1)).first() is None:
        raise NotFound("no such contact", field="person")


def _put(tx: Tx, walker_id: int, person_id: int, kind: Silence, until: int | None) -> None:
    _known(tx.conn, walker_id, person_id)
    key = (offer_mutes.c.walker_id == walker_id) & (offer_mutes.c.person_id == person_id)
    tx.conn.execute(offer_mutes.delete().where(key))
    tx.conn.execute(
        offer_mutes.insert().values(
            walker_id=walker_id,
            person_id=person_id,
            kind=kind.value,
            until=until,
            created_at=tx.now_ms,
        )
    )


def mute(tx: Tx, walker_id: int, person_id: int, hours: int | None) -> dict[str, Any]:
    """For `hours`, or for good (None). Replaces an earlier mute or block of this person."""
    if hours is not None and not 1 <= hours <= MAX_MUTE_HOURS:
        raise Invalid(f"hours must be between 1 and {MAX_MUTE_HOURS}", field="hours")
    until = None if hours is None else tx.now_ms + hours * HOUR_MS
    _put(tx, walker_id, person_id, Silence.MUTE, until)
    return silenced_one(tx.conn, walker_id, person_id, tx.now_ms)


def block(tx: Tx, walker_id: int, person_id: int) -> dict[str, Any]:
    _put(tx, walker_id, person_id, Silence.BLOCK, None)
    return silenced_one(tx.conn, walker_id, person_id, tx.now_ms)


def lift(tx: Tx, walker_id: int, person_id: int, kind: Silence) -> None:
    """Unmute or unblock: only what is there (unmuting doesn't lift a block)."""
    done = tx.conn.execute(
        offer_mutes.delete().where(
            offer_mutes.c.walker_id == walker_id,
            offer_mutes.c.person_id == person_id,
            offer_mutes.c.kind == kind.value,
        )
    )
    if done.rowcount != 1:
        said = "muted" if kind is Silence.MUTE else "blocked"
        raise NotFound(f"this person is not {said}", field="person")


def held(conn: Connection, walker_id: int, person_id: int, now_ms: int) -> Held | None:
    row = conn.execute(
        sa.select(offer_mutes.c.kind, offer_mutes.c.until).where(
            offer_mutes.c.walker_id == walker_id,
            offer_mutes.c.person_id == person_id,
            sa.or_(offer_mutes.c.until.is_(None), offer_mutes.c.until > now_ms),
        )
    ).first()
    return Held(Silence(row.kind), row.until) if row else None


def silenced_ids(conn: Connection, walker_id: int, now_ms: int) -> set[int]:
    rows = conn.execute(
        sa.select(offer_mutes.c.person_id).where(
            offer_mutes.c.walker_id == walker_id,
            sa.or_(offer_mutes.c.until.is_(None), offer_mutes.c.until > now_ms),
        )
    )
    return {r.person_id for r in rows}


def silenced(conn: Connection, walker_id: int, now_ms: int) -> list[dict[str, Any]]:
    """Her mutes and blocks in force (a mute that ran out is not listed)."""
    rows = conn.execute(
        sa.select(offer_mutes, people.c.name)
        .join(people, people.c.id == offer_mutes.c.person_id)
        .where(
            offer_mutes.c.walker_id == walker_id,
            sa.or_(offer_mutes.c.until.is_(None), offer_mutes.c.until > now_ms),
        )
        .order_by(offer_mutes.c.created_at, offer_mutes.c.person_id)
    )
    return [
        {
            "person": {"id": r.person_id, "name": r.name},
            "kind": r.kind,
            "until": r.until,
            "since": r.created_at,
        }
        for r in rows
    ]


def silenced_one(conn: Connection, walker_id: int, person_id: int, now_ms: int) -> dict[str, Any]:
    return next(s for s in silenced(conn, walker_id, now_ms) if s["person"]["id"] == person_id)
