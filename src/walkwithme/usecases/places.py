"""A walker's named places: home, work, a friend's. A walk can head for one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import NotFound
from walkwithme.domain.people import check_name
from walkwithme.domain.walks import Destination
from walkwithme.store.schema import insert_id, places
from walkwithme.store.tx import Tx

DEFAULT_RADIUS_M = 40.0


def add_place(
    tx: Tx, person_id: int, name: str, lat: float, lon: float, radius_m: float | None
) -> dict[str, Any]:
    dest = Destination(
        lat, lon, DEFAULT_RADIUS_M if radius_m is None else radius_m, check_name(name)
    )
    place_id = insert_id(
        tx.conn,
        places,
        person_id=person_id,
        name=dest.name,
        lat=dest.lat,
        lon=dest.lon,
        radius_m=dest.radius_m,
        created_at=tx.now_ms,
    )
    return get_place(tx.conn, person_id, place_id)


def list_places(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(places.c.id, places.c.name, places.c.lat, places.c.lon, places.c.radius_m)
        .where(places.c.person_id == person_id)
        .order_by(places.c.id)
    )
    return [_json(r) for r in rows]


def get_place(conn: Connection, person_id: int, place_id: int) -> dict[str, Any]:
    row = conn.execute(
        sa.select(places.c.id, places.c.name, places.c.lat, places.c.lon, places.c.radius_m).where(
            places.c.id == place_id, places.c.person_id == person_id
        )
    ).first()
    if row is None:
        raise NotFound("no such place", field="place_id")
    return _json(row)


def remove_place(tx: Tx, person_id: int, place_id: int) -> None:
    done = tx.conn.execute(
        places.delete().where(places.c.id == place_id, places.c.person_id == person_id)
    )
    if done.rowcount != 1:
        raise NotFound("no such place")


def _json(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "lat": row.lat,
        "lon": row.lon,
        "radius": row.radius_m,
    }
