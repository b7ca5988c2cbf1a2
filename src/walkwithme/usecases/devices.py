"""A walker's phones: each posts fixes with its own token, shown once, stored as a hash."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import NotFound
from walkwithme.domain.people import check_name
from walkwithme.security import new_token, token_hash
from walkwithme.store.schema import devices, insert_id
from walkwithme.store.writer import Tx


@dataclass(frozen=True)
class Device:
    id: int
    person_id: int
    name: str


def add_device(tx: Tx, person_id: int, name: str) -> tuple[Device, str]:
    """Returns the device and its token: the only time anyone sees the token."""
    token = new_token("dev")
    clean = check_name(name)
    device_id = insert_id(
        tx.conn,
        devices,
        person_id=person_id,
        name=clean,
        token_hash=token_hash(token),
        created_at=tx.now_ms,
    )
    return Device(device_id, person_id, clean), token


def device_for_token(conn: Connection, token: str) -> Device | None:
    row = conn.execute(
        sa.select(devices.c.id, devices.c.person_id, devices.c.name).where(
            devices.c.token_hash == token_hash(token), devices.c.revoked_at.is_(None)
        )
    ).first()
    return Device(row.id, row.person_id, row.name) if row else None


def list_devices(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(devices.c.id, devices.c.name, devices.c.created_at, devices.c.last_seen_at)
        .where(devices.c.person_id == person_id, devices.c.revoked_at.is_(None))
        .order_by(devices.c.id)
    )
    return [dict(r._mapping) for r in rows]


def revoke_device(tx: Tx, person_id: int, device_id: int) -> None:
    done = tx.conn.execute(
        devices.update()
        .where(
            devices.c.id == device_id,
            devices.c.person_id == person_id,
            devices.c.revoked_at.is_(None),
        )
        .values(revoked_at=tx.now_ms)
    )
    if done.rowcount != 1:
        raise NotFound("no such device")
