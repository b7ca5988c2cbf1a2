"""A phone app's SOS is always taken: every generation of Traccar Client, and never answered
"send again" (the apps send an SOS once: 10.x never resends it, the old clients forget it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tests.people import HOME, START, Cast, between

NOOR_SEES = "/api/walks/{id}"


def traccar_9x_sos(phone: str, when: str, where: tuple[float, float]) -> dict[str, Any]:
    """What Traccar Client 9.x posts when its SOS button is pressed (its sendAlarm asks the
    transistorsoft location plugin for one location with `extras: {alarm: "sos"}`; the plugin
    merges a location's extras into the location itself before uploading, which is why
    Traccar's server, OsmAndProtocolDecoder.decodeJson, reads `location.alarm` first)."""
    return {
        "location": {
            "event": "getCurrentPosition",
            "is_moving": False,
            "uuid": "9f0b3a8e-4f7e-4a51-9a0e-3b1a7c1d2e55",
            "timestamp": when,
            "age": 312,
            "odometer": 1480.2,
            "coords": {
                "latitude": where[0],
                "longitude": where[1],
                "accuracy": 6.1,
                "speed": 1.3,
                "speed_accuracy": 0.5,
                "heading": 187.2,
                "heading_accuracy": 12.0,
                "altitude": 14.8,
                "altitude_accuracy": 3.2,
                "ellipsoidal_altitude": 33.1,
            },
            "activity": {"confidence": 100, "type": "on_foot"},
            "battery": {"is_charging": False, "level": 0.41},
            "alarm": "sos",
        },
        "device_id": phone,
    }


def iso(cast: Cast) -> str:
    return (
        datetime.fromtimestamp(cast.clock.now_ms() / 1000, UTC).isoformat().replace("+00:00", "Z")
    )


def test_traccar_client_9x_sos_raises_the_alarm(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=2)
    where = between(START, HOME, 0.2)
    pressed = cast.client.post("/api/traccar", json=traccar_9x_sos(phone, iso(cast), where))
    assert pressed.status_code == 200
    seen = cast.client.get(NOOR_SEES.format(**walk), headers=noor.auth).json()
    assert seen["state"] == "alarm"
    assert seen["last_position"]["lat"] == pytest.approx(where[0])
    alarm = cast.events(noor, walk)[-1]
    assert (alarm["kind"], alarm["reason"]) == ("alarm", "sos")


def test_extras_alarm_is_read_too(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    body = traccar_9x_sos(phone, iso(cast), START)
    del body["location"]["alarm"]
    body["location"]["extras"] = {"alarm": "sos"}
    assert cast.client.post("/api/traccar", json=body).status_code == 200
    assert cast.client.get(NOOR_SEES.format(**walk), headers=noor.auth).json()["state"] == "alarm"


@pytest.fixture
def another_writer(db_url: str) -> Iterator[sa.Engine]:
    """Another process's writer on the same PostgreSQL database (several processes share one
    database there): it can change a walk between our reading it and our writing it."""
    if db_url.startswith("sqlite"):
        pytest.skip("one writer per SQLite database: no other writer can come in between")
    engine = sa.create_engine(db_url)
    yield engine
    engine.dispose()


def keeps_changing_the_walk(cast: Cast, other: sa.Engine, walk_id: int) -> None:
    """Each time our writer numbers a fix in the walk's track (the update of the walk that
    counts it), the other writer has just moved that walk's due time: our update, conditional
    on what we read, finds nothing to update (a Conflict), however often the writer tries."""
    engine = cast.services.db.write_engine

    def meanwhile(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        said = statement.lstrip().upper()
        # On PostgreSQL that update rides on the fix's insert (`WITH inserted AS (INSERT ...),
        # saved AS (UPDATE walks ...)`): found wherever it is in the statement.
        if not ("UPDATE WALKS SET" in said and "FIX_SEQ=" in said.replace(" ", "")):
            return
        with other.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE walks SET next_due_at = COALESCE(next_due_at, 0) + 1 WHERE id = :id"
                ),
                {"id": walk_id},
            )

    sa.event.listen(engine, "before_cursor_execute", meanwhile)


def test_a_fix_that_meets_a_walk_changed_meanwhile_is_sent_again(
    cast: Cast, another_writer: sa.Engine
) -> None:
    """(What an SOS must not get: a plain fix at that instant is answered 503.)"""
    mira, noor, phone, walk = cast.walking()
    keeps_changing_the_walk(cast, another_writer, walk["id"])
    t = cast.clock.now_ms() // 1000
    plain = cast.client.post(f"/api/traccar?id={phone}&lat={START[0]}&lon={START[1]}&timestamp={t}")
    assert plain.status_code == 503


def test_an_sos_that_meets_a_walk_changed_meanwhile_is_taken_all_the_same(
    cast: Cast, another_writer: sa.Engine
) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=1)
    keeps_changing_the_walk(cast, another_writer, walk["id"])
    pressed = cast.client.post("/api/traccar", json=traccar_9x_sos(phone, iso(cast), START))
    assert pressed.status_code == 200
    assert cast.client.get(NOOR_SEES.format(**walk), headers=noor.auth).json()["state"] == "alarm"
    assert cast.events(noor, walk)[-1]["reason"] == "sos"


def changes_the_walk_at_its_heartbeat(cast: Cast, other: sa.Engine, walk_id: int) -> None:
    """As `keeps_changing_the_walk`, at the update a heartbeat without a position makes."""
    engine = cast.services.db.write_engine

    def meanwhile(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        said = statement.lstrip().upper()
        if not (said.startswith("UPDATE WALKS SET") and "HEARD_AT=" in said.replace(" ", "")):
            return
        with other.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE walks SET next_due_at = COALESCE(next_due_at, 0) + 1 WHERE id = :id"
                ),
                {"id": walk_id},
            )

    sa.event.listen(engine, "before_cursor_execute", meanwhile)


def test_a_10x_sos_without_a_position_that_meets_a_walk_changed_meanwhile_is_taken(
    cast: Cast, another_writer: sa.Engine
) -> None:
    """Traccar Client 10 sends its SOS once, with whatever it has: when the phone has no fresh
    location, `id`, `timestamp`, `batt` and `alarm` alone (traccar-client-sdk HttpUploader)."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=1)
    changes_the_walk_at_its_heartbeat(cast, another_writer, walk["id"])
    t = cast.clock.now_ms() // 1000
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    plain = cast.client.post(
        "/api/traccar", content=f"id={phone}&timestamp={t}&batt=80", headers=form
    )
    assert plain.status_code == 503  # a heartbeat alone is sent again
    pressed = cast.client.post(
        "/api/traccar", content=f"id={phone}&timestamp={t}&batt=80&alarm=sos", headers=form
    )
    assert pressed.status_code == 200
    assert cast.client.get(NOOR_SEES.format(**walk), headers=noor.auth).json()["state"] == "alarm"
