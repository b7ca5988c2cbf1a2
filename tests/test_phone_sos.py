"""A phone app's SOS is always taken: every generation of Traccar Client, and never answered
"send again" (the apps send an SOS once: 10.x never resends it, the old clients forget it).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from tests.people import HOME, START, Cast, between
from walkwithme.ingest import traccar

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


# -- an SOS the phone kept in its queue from before the walk -----------------------------------


def sos_at(gen: str, phone: str, t: int, where: tuple[float, float]) -> dict[str, Any]:
    """How each generation of Traccar Client sends an SOS with its fix of time `t` (s)."""
    query = f"id={phone}&timestamp={t}&lat={where[0]}&lon={where[1]}&accuracy=5.0&alarm=sos"
    if gen == "legacy":
        return {"url": "/api/traccar?" + query}
    if gen == "form":
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        return {"url": "/api/traccar", "content": query, "headers": form}
    if gen == "json9":
        when = datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")
        return {"url": "/api/traccar", "json": traccar_9x_sos(phone, when, where)}
    # 10.x set to upload JSON: its queue at once, the SOS among its positions.
    sos = {"id": phone, "lat": where[0], "lon": where[1], "timestamp": t, "alarm": "sos"}
    return {"url": "/api/traccar", "json": [sos]}


GENERATIONS = ["legacy", "form", "json9", "json10"]


def reports_for(cast: Cast, phone: str, seconds: int, off_s: int = 0) -> None:
    """Her Traccar Client reports every 10 s for `seconds`, its clock `off_s` off."""
    for n in range(seconds // 10):
        cast.clock.advance(seconds=10)
        where = between(START, HOME, 0.01 * n)
        t = cast.clock.now_ms() // 1000 + off_s
        sent = cast.client.post(
            f"/api/traccar?id={phone}&timestamp={t}&lat={where[0]}&lon={where[1]}"
        )
        assert sent.status_code == 200


@pytest.mark.parametrize("gen", GENERATIONS)
def test_an_sos_pressed_before_the_walk_began_is_not_its_alarm(cast: Cast, gen: str) -> None:
    """Offline, her phone kept an SOS pressed three hours ago in its queue; it goes out with
    the walk's first positions. That is not this walk's alarm: Noor is not told she pressed
    SOS, and her devices page says why it was not raised. One pressed during the walk with no
    network is, late as it comes."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    mira_zone = {"timezone": "Europe/Helsinki"}  # UTC+3 in summer
    assert cast.client.patch("/api/me", json=mira_zone, headers=mira.auth).status_code == 200
    phone = cast.device(mira)
    pressed = cast.clock.now_ms() // 1000
    cast.clock.advance(minutes=180)
    walk = cast.start_walk(mira)
    cast.clock.advance(seconds=30)
    sent = cast.client.post(**sos_at(gen, phone, pressed, START))
    assert sent.status_code == 200
    seen = cast.client.get(NOOR_SEES.format(**walk), headers=noor.auth).json()
    assert seen["state"] == "active"
    assert [e for e in cast.events(noor, walk) if e["kind"] in ("alarm", "sos")] == []
    refusal = cast.client.get("/api/devices", headers=mira.auth).json()[0]["last_refusal"]
    at = datetime.fromtimestamp(pressed, UTC) + timedelta(hours=3)
    # Held while her phone's clock is not known: it might be three hours slow.
    assert refusal.startswith(f"an SOS pressed at {at:%H:%M} by the phone's clock, before this")
    reports_for(cast, phone, seconds=100)  # her clock is right: known in a minute and a half
    assert [e for e in cast.events(noor, walk) if e["kind"] in ("alarm", "sos")] == []
    refusal = cast.client.get("/api/devices", headers=mira.auth).json()[0]["last_refusal"]
    assert refusal == f"an SOS pressed at {at:%H:%M}, before this walk began: not raised"

    during = cast.clock.now_ms() // 1000 + 60  # a minute on, in a tunnel
    cast.clock.advance(minutes=20)
    sent = cast.client.post(**sos_at(gen, phone, during, between(START, HOME, 0.2)))
    assert sent.status_code == 200
    assert cast.client.get(NOOR_SEES.format(**walk), headers=noor.auth).json()["state"] == "alarm"
    assert cast.events(noor, walk)[-1]["reason"] == "sos"


def test_a_queue_with_only_an_old_sos_raises_nothing_and_one_with_no_time_is_raised(
    cast: Cast,
) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    old = cast.clock.now_ms() // 1000
    cast.clock.advance(minutes=180)
    walk = cast.start_walk(mira)
    cast.clock.advance(minutes=2)
    now = cast.clock.now_ms() // 1000
    queue = [
        {"id": phone, "lat": START[0], "lon": START[1], "timestamp": old, "alarm": "sos"},
        {"id": phone, "lat": START[0], "lon": START[1], "timestamp": now, "batt": 70},
    ]
    assert cast.client.post("/api/traccar", json=queue).status_code == 200
    seen = cast.client.get(NOOR_SEES.format(**walk), headers=noor.auth).json()
    assert (seen["state"], seen["last_position"]["battery"]) == ("active", 70)
    # Nothing says when this one was pressed: it may be now.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    sent = cast.client.post("/api/traccar", content=f"id={phone}&alarm=sos", headers=form)
    assert sent.status_code == 200
    assert cast.client.get(NOOR_SEES.format(**walk), headers=noor.auth).json()["state"] == "alarm"


def test_when_a_queued_sos_was_pressed_is_its_newest_one() -> None:
    def pressed(*times: int | None) -> int | None:
        queue = [
            {"id": "x", "lat": 60.0, "lon": 25.0, "alarm": "sos"}
            | ({"timestamp": t} if t is not None else {})
            for t in times
        ]
        body = orjson.dumps([*queue, {"id": "x", "lat": 60.0, "lon": 25.0, "timestamp": 9}])
        return traccar.read({}, "application/json", body)[1].sos_ms

    assert pressed(1_700_000_000, 1_700_000_600) == 1_700_000_600_000
    assert pressed(1_700_000_000, None) is None  # one may be now: raised


@pytest.mark.parametrize("gen", GENERATIONS)
def test_the_same_sos_sent_again_is_said_once_and_a_new_press_again(cast: Cast, gen: str) -> None:
    """Her phone lost the answer to its SOS and sends it again (the same fix, the same time):
    Noor's timeline says once that she pressed SOS. When she presses it again, it says so."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=2)
    pressed = cast.clock.now_ms() // 1000
    where = between(START, HOME, 0.2)
    assert cast.client.post(**sos_at(gen, phone, pressed, where)).status_code == 200
    cast.clock.advance(seconds=30)
    assert cast.client.post(**sos_at(gen, phone, pressed, where)).status_code == 200
    said = [(e["kind"], e.get("reason")) for e in cast.events(noor, walk)]
    assert said.count(("alarm", "sos")) == 1
    assert ("sos", None) not in said
    cast.clock.advance(minutes=1)
    again = cast.clock.now_ms() // 1000
    assert cast.client.post(**sos_at(gen, phone, again, where)).status_code == 200
    assert [e["kind"] for e in cast.events(noor, walk)].count("sos") == 1
