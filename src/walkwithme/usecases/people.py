"""What the operator does to accounts, and a person's own password.

A disabled person can't sign in; disabling ends their sessions and their devices' tokens stop
working (their devices stay, for when they are enabled again). Refused during their own walk:
their phone would go quiet mid-walk and alarm their companions. Sign-in is refused, saying why,
to someone disabled or whose deletion is pending.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Conflict, Forbidden, NotFound
from walkwithme.domain.walks import LIVE_VALUES
from walkwithme.security import token_hash
from walkwithme.store.schema import channels, devices, people, sessions, walks
from walkwithme.store.tx import Tx
from walkwithme.usecases.accounts import _recheck_streams_of


@dataclass(frozen=True)
class Account:
    """A line of the operator's list: who, and whether they may sign in (never where)."""

    id: int
    email: str
    name: str
    is_operator: bool
    timezone: str
    disabled: bool
    deleting: bool
    phones: int = 0  # devices not revoked
    channels: int = 0  # notification channels not removed
    broken: int = 0  # of which broken

    @property
    def means(self) -> str:
        """ "2 phones · 1 alert channel, broken", the operator's view of how they are set."""
        phones = f"{self.phones} phone" + ("" if self.phones == 1 else "s")
        channels = f"{self.channels} alert channel" + ("" if self.channels == 1 else "s")
        if self.broken:
            channels += f", {self.broken} broken"
        return f"{phones} · {channels}"

    @property
    def status(self) -> str:
        if self.deleting:
            return "being deleted"
        return "disabled" if self.disabled else "active"


def _counts(conn: Connection, query: sa.Select[Any]) -> dict[int, int]:
    return {int(person): int(n) for person, n in conn.execute(query)}


def accounts(conn: Connection) -> list[Account]:
    rows = conn.execute(
        sa.select(
            people.c.id,
            people.c.email,
            people.c.name,
            people.c.is_operator,
            people.c.timezone,
            people.c.disabled_at,
            people.c.delete_at,
        ).order_by(people.c.name, people.c.id)
    )
    count = sa.func.count()
    phones = _counts(
        conn,
        sa.select(devices.c.person_id, count)
        .where(devices.c.revoked_at.is_(None))
        .group_by(devices.c.person_id),
    )
    kept = channels.c.removed_at.is_(None)
    made = _counts(
        conn, sa.select(channels.c.person_id, count).where(kept).group_by(channels.c.person_id)
    )
    broken = _counts(
        conn,
        sa.select(channels.c.person_id, count)
        .where(kept, channels.c.broken_at.is_not(None))
        .group_by(channels.c.person_id),
    )
    return [
        Account(
            r.id,
            r.email,
            r.name,
            bool(r.is_operator),
            r.timezone,
            r.disabled_at is not None,
            r.delete_at is not None,
            phones.get(r.id, 0),
            made.get(r.id, 0),
            broken.get(r.id, 0),
        )
        for r in rows
    ]


def statuses_of(conn: Connection) -> dict[int, str]:
    """Every account's status in words: active, disabled, being deleted."""
    return {a.id: a.status for a in accounts(conn)}


def id_by_email(conn: Connection, email: str) -> int:
    found = conn.execute(
        sa.select(people.c.id).where(people.c.email == email.strip().lower())
    ).scalar()
    if found is None:
        raise NotFound(f"nobody with the email {email}", field="email")
    return int(found)


def sign_in_refusal(conn: Connection, person_id: int) -> str | None:
    """Why this person may not sign in now (asked once their password was right), or None."""
    # (An account being deleted is not found by its address at all: usecases/deletion.py.)
    row = conn.execute(sa.select(people.c.disabled_at).where(people.c.id == person_id)).first()
    if row is None:
        return "this account no longer exists"
    if row.disabled_at is not None:
        return "this account is disabled: ask the server's operator"
    return None


def refuse_sign_in(conn: Connection, person_id: int) -> None:
    reason = sign_in_refusal(conn, person_id)
    if reason is not None:
        raise Forbidden(reason)


def _exists(tx: Tx, person_id: int) -> None:
    if tx.conn.execute(sa.select(people.c.id).where(people.c.id == person_id)).first() is None:
        raise NotFound("no such person")


def set_password(tx: Tx, person_id: int, password_hash: str, *, keep: str | None = None) -> int:
    """A new password (already hashed, outside the writer); every session but `keep` (the
    one that changed it, if any) ends. Returns how many sessions ended."""
    _exists(tx, person_id)
    tx.conn.execute(
        people.update().where(people.c.id == person_id).values(password_hash=password_hash)
    )
    ended = sessions.delete().where(sessions.c.person_id == person_id)
    if keep is not None:
        ended = ended.where(sessions.c.token_hash != token_hash(keep))
    count = tx.conn.execute(ended).rowcount
    _recheck_streams_of(tx, person_id)
    return int(count)


def disable(tx: Tx, person_id: int, by: int | None) -> list[int]:
    """Disables a person: their sessions end at once and their devices stop working (every
    process forgets their tokens at the commit: `Tx.revoked`). Returns their devices' ids."""
    _exists(tx, person_id)
    if by == person_id:
        raise Conflict("you can't disable yourself: another operator can", field="person")
    walking = tx.conn.execute(
        sa.select(walks.c.id).where(walks.c.walker_id == person_id, walks.c.state.in_(LIVE_VALUES))
    ).first()
    if walking is not None:
        # Her phone would go quiet mid-walk, and her companions would be alarmed for nothing.
        raise Conflict(
            "this person is on a walk now: disabling them would silence their phone and alarm "
            "their companions; try again once the walk is over",
            field="person",
        )
    tx.conn.execute(
        people.update()
        .where(people.c.id == person_id, people.c.disabled_at.is_(None))
        .values(disabled_at=tx.now_ms)
    )
    tx.conn.execute(sessions.delete().where(sessions.c.person_id == person_id))
    _recheck_streams_of(tx, person_id)
    phones = list(
        tx.conn.execute(sa.select(devices.c.id).where(devices.c.person_id == person_id)).scalars()
    )
    for device_id in phones:
        tx.revoked(device_id)  # forgotten by every process once this commits
    return phones


def enable(tx: Tx, person_id: int) -> None:
    _exists(tx, person_id)
    tx.conn.execute(people.update().where(people.c.id == person_id).values(disabled_at=None))
