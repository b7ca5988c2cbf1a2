"""OwnTracks in MQTT mode, against the real Mosquitto broker on 127.0.0.1:1883: Mira's phone
publishes as the app does (QoS 1), the server follows the broker, and Noor sees her walk.

Each test has topics and a server client id of its own, so runs side by side never meet. The
tests wait for the broker's deliveries by polling with a generous bound; nothing waits for a
deadline (the service's clock is fake)."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from nacl.encoding import Base64Encoder
from nacl.secret import SecretBox
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import LOCAL, make_services, pg_schema
from tests.mqtt_world import BROKER, WITHIN_S, Phone, eventually, forget_session
from tests.people import HOME, START, Cast, Member, between
from tests.service import WWM
from tests.test_pg_writer import Outage
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.config import load_config
from walkwithme.domain.errors import Conflict, Invalid
from walkwithme.net import free_port
from walkwithme.services import build_services
from walkwithme.store.database import Database
from walkwithme.store.migrate import upgrade
from walkwithme.usecases import devices

pytestmark = pytest.mark.usefixtures("mqtt_broker")


@contextmanager
def serving(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, *, impatient: bool = False
) -> Iterator[Cast]:
    """The service, following the broker. `impatient`: it waits only 200 ms for a database
    lock someone else holds."""
    settings = {k: v for k, v in world.items() if k.startswith("WWM_")}
    if impatient:
        env = {"WWM_DATA": str(tmp_path / "data"), "WWM_DATABASE_URL": world["url"], **settings}
        db = Database(world["url"], busy_timeout_ms=200)
        svc = build_services(load_config(env), clock, db=db)
        svc.background_watchdog = False
    else:
        svc = make_services(world["url"], tmp_path, clock, None, **settings)
    with TestClient(create_app(svc), base_url="http://127.0.0.1:8000", client=LOCAL) as client:
        assert svc.mqtt is not None
        eventually(lambda: svc.mqtt is not None and svc.mqtt.connected)
        yield Cast(client, svc, clock)
    svc.db.dispose()


def location(cast: Cast, where: tuple[float, float], **extra: Any) -> dict[str, Any]:
    return {
        "_type": "location",
        "lat": where[0],
        "lon": where[1],
        "tst": cast.clock.now_ms() // 1000,
        "acc": 10,
        "batt": 58,
        "tid": "MI",
        **extra,
    }


def mira_on_a_walk(cast: Cast, topic: str) -> tuple[Member, Member, dict[str, Any]]:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.services.writer.run_sync(lambda tx: devices.add_device(tx, mira.id, "phone", topic))
    return mira, noor, cast.start_walk(mira)


def last_position(cast: Cast, who: Member, walk: dict[str, Any]) -> dict[str, Any] | None:
    seen: dict[str, Any] = cast.client.get(f"/api/walks/{walk['id']}", headers=who.auth).json()
    position: dict[str, Any] | None = seen["last_position"]
    return position


def test_her_phone_publishes_and_her_companion_sees_her_walk(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        # A phone nobody bound is not followed, whoever's topic it is.
        phone.publish(location(cast, START, m=2), topic=world["topic"] + "x")
        cast.clock.advance(seconds=15)
        there = between(START, HOME, 0.2)
        phone.publish(location(cast, there, m=2, vel=4))
        eventually(lambda: last_position(cast, noor, walk) is not None)
        seen = last_position(cast, noor, walk)
        assert seen is not None
        assert (seen["lat"], seen["lon"], seen["battery"]) == (*there, 58)
        health = cast.client.get("/healthz").json()
        assert health["mqtt"] == {"connected": True, "taken": 1}
        # In Move mode: nothing to ask; only her destination, as a region, once a walk.
        eventually(lambda: bool(phone.commands))
        assert [c["action"] for c in phone.commands] == ["setWaypoints"]


def test_outside_move_mode_the_phone_is_asked_on_its_cmd_topic(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        phone.publish(location(cast, START, m=1))
        eventually(lambda: bool(phone.commands))
        assert phone.commands[0]["action"] == "setConfiguration"
        assert phone.commands[0]["configuration"]["monitoring"] == 2
        told = cast.events(mira, walk)[-1]
        assert (told["kind"], told["reports"]) == ("phone_reports", "rarely")


def test_what_the_phone_sent_while_the_server_was_down_is_taken_after(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
    # The server is down; the broker holds her messages for its session (not retained: a
    # retained message would only ever give the last one).
    sent = []
    for step in (0.1, 0.2):
        clock.advance(seconds=20)
        sent.append(clock.now_ms())
        phone.publish(location(cast, between(START, HOME, step), m=2), retain=False)
    with serving(world, tmp_path, clock) as cast:
        track = f"/api/walks/{walk['id']}/fixes"
        eventually(lambda: len(cast.client.get(track, headers=noor.auth).json()) == 2)
        assert [f["t"] for f in cast.client.get(track, headers=noor.auth).json()] == sent


def test_a_message_the_database_could_not_take_is_held_and_taken_after(
    world: dict[str, str],
    tmp_path: Path,
    clock: FakeClock,
    phone: Phone,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with serving(world, tmp_path, clock, impatient=True) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        assert cast.services.mqtt is not None
        path = world["url"].removeprefix("sqlite:///")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")  # a backup holds the write lock
        try:
            phone.publish(location(cast, START, m=2))
            # It was tried and could not be written: held, not acknowledged, not dropped.
            eventually(lambda: "an MQTT message waits" in caplog.text)
        finally:
            other.execute("ROLLBACK")
            other.close()
        eventually(lambda: last_position(cast, noor, walk) is not None)


def test_only_a_real_topic_binds_once(
    world: dict[str, str], tmp_path: Path, clock: FakeClock
) -> None:
    with serving(world, tmp_path, clock) as cast:
        mira, sam = cast.person("Mira"), cast.person("Sam")
        run = cast.services.writer.run_sync
        with pytest.raises(Invalid, match="owntracks/<user>/<device>"):
            run(lambda tx: devices.add_device(tx, mira.id, "phone", "owntracks/+/+"))
        first, _token = run(lambda tx: devices.add_device(tx, mira.id, "phone", world["topic"]))
        with pytest.raises(Conflict):
            run(lambda tx: devices.add_device(tx, sam.id, "his", world["topic"]))
        # Revoked, the topic is free again.
        run(lambda tx: devices.revoke_device(tx, mira.id, first.id))
        again, _token = run(lambda tx: devices.add_device(tx, mira.id, "new", world["topic"]))
        listed = cast.client.get("/api/devices", headers=mira.auth).json()
        assert [d["owntracks_topic"] for d in listed] == [world["topic"]]
        assert again.id != first.id


def test_a_retained_location_handed_again_on_resubscribing_is_no_news(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    """OwnTracks publishes its locations retained: the broker hands the last one again to
    every new subscription, so each restart of the server (or reconnection) sees it again."""
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        phone.publish(location(cast, START, m=1))  # Significant mode, remote commands off
        # Asked once to switch to Move mode (and given the destination as a region).
        eventually(lambda: len(phone.commands) == 2)
        seen_before = cast.client.get("/api/devices", headers=mira.auth).json()[0]
        events_before = cast.events(noor, walk)
    clock.advance(seconds=30)
    with serving(world, tmp_path, clock) as cast:
        bridge = cast.services.mqtt
        assert bridge is not None
        eventually(lambda: bridge.taken == 1)  # the retained copy, handed again
        assert bridge.commands == 0  # not asked again for an old message
        track = cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=noor.auth).json()
        assert len(track) == 1
        seen = cast.client.get("/api/devices", headers=mira.auth).json()[0]
        assert seen["last_seen_at"] == seen_before["last_seen_at"]  # not heard from anew
        assert cast.events(noor, walk) == events_before
        # A new location is news again, and asked about.
        clock.advance(seconds=5)
        phone.publish(location(cast, between(START, HOME, 0.1), m=1))
        eventually(lambda: bridge.taken == 2)
        assert bridge.commands == 1


def test_a_retained_location_the_server_never_took_is_taken(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
    forget_session(world["WWM_MQTT_CLIENT_ID"])  # its session lost: nothing queued for it
    clock.advance(seconds=20)
    phone.publish(location(cast, between(START, HOME, 0.1), m=2))
    with serving(world, tmp_path, clock) as cast:
        eventually(lambda: last_position(cast, noor, walk) is not None)


def test_a_second_server_with_the_same_client_id_refuses_to_start(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    """Two with one client id would take each other's session over, each losing messages."""
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        port = free_port()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("WWM_")},
            **{k: v for k, v in world.items() if k.startswith("WWM_")},
            "WWM_DATA": str(tmp_path / "second"),
            "WWM_PORT": str(port),
        }
        second = subprocess.run(
            [*WWM, "serve"], capture_output=True, text=True, env=env, timeout=60
        )
        assert second.returncode == 2
        said = [line for line in second.stderr.splitlines() if line.startswith("cannot start")]
        assert len(said) == 1
        assert "another walkwithme serve" in said[0]
        assert world["WWM_MQTT_CLIENT_ID"] in said[0]
        assert "WWM_MQTT_CLIENT_ID" in said[0]
        assert "Traceback" not in second.stderr
        # The running one kept its session: it still takes what her phone sends.
        bridge = cast.services.mqtt
        assert bridge is not None
        assert bridge.connected
        phone.publish(location(cast, START, m=2))
        eventually(lambda: last_position(cast, noor, walk) is not None)


def test_a_server_alone_with_its_client_id_is_not_held_back(
    world: dict[str, str], tmp_path: Path, clock: FakeClock
) -> None:
    svc = make_services(
        world["url"],
        tmp_path,
        clock,
        None,
        **{k: v for k, v in world.items() if k.startswith("WWM_")},
    )
    assert svc.mqtt is not None
    assert svc.mqtt.already_running(wait_s=0.5) is None
    svc.db.dispose()


def test_an_encrypted_phone_over_mqtt_is_read_and_answered_encrypted(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        device_id = cast.client.get("/api/devices", headers=mira.auth).json()[0]["id"]
        key = cast.client.post(f"/api/devices/{device_id}/owntracks-key", headers=mira.auth).json()[
            "owntracks_key"
        ]
        box = SecretBox(key.encode()[:32].ljust(32, b"\0"))
        plain = orjson.dumps(location(cast, START, m=1))
        data = box.encrypt(plain, encoder=Base64Encoder).decode()
        phone.publish({"_type": "encrypted", "data": data})
        eventually(lambda: last_position(cast, noor, walk) is not None)
        eventually(lambda: bool(phone.commands))
        command = phone.commands[0]
        assert command["_type"] == "encrypted"
        inner = orjson.loads(box.decrypt(command["data"].encode(), encoder=Base64Encoder))
        assert inner["configuration"]["monitoring"] == 2


def test_when_the_broker_loses_her_phone_her_companion_is_told(
    world: dict[str, str], tmp_path: Path, clock: FakeClock
) -> None:
    """OwnTracks sets its last will on its own topic (`{"_type": "lwt", "tst": ...}`, iOS with
    the time of connecting): the broker publishes it when the phone's connection drops."""
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        lost = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="lost-" + world["topic"][-12:])
        will = {"_type": "lwt", "tst": clock.now_ms() // 1000}
        lost.will_set(world["topic"], orjson.dumps(will), qos=1, retain=False)
        lost.connect(*BROKER)
        lost.loop_start()
        lost.publish(
            world["topic"], orjson.dumps(location(cast, START, m=2)), qos=1
        ).wait_for_publish(WITHIN_S)
        eventually(lambda: last_position(cast, noor, walk) is not None)
        clock.advance(seconds=10)
        # Its connection drops without a goodbye (a tunnel, a dead battery).
        lost.loop_stop()
        sock = lost.socket()
        assert sock is not None
        sock.close()

        def told() -> list[dict[str, Any]]:
            return [e for e in cast.events(noor, walk) if e["kind"] == "phone_signal"]

        eventually(lambda: bool(told()))
        assert (told()[0]["signal"], told()[0]["device"]) == ("offline", "phone")
        seen = cast.client.get("/api/devices", headers=mira.auth).json()[0]
        assert seen["last_refusal"] is None  # a last will is no message gone wrong
        # The broker said it, not her phone: her phone is not heard from anew by it.
        mine = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
        assert mine["heard_at"] is None


def test_a_fix_the_broker_relays_late_counts_by_its_own_time_not_as_heard_now(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    """A broker holds a session's messages while the service is away and hands them over when
    it is back: a fix her phone sent four minutes ago, before it died, says nothing of now, so
    her walk's silence counts from its time (it counted as heard when it was relayed, and hid
    the silence of a dead phone for minutes)."""
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        clock.advance(minutes=4)
        phone.publish(location(cast, START, m=2, tst=clock.now_ms() // 1000 - 240))
        eventually(lambda: last_position(cast, noor, walk) is not None)
        seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
        assert seen["heard_at"] is None
        assert seen["last_position"]["t"] == clock.now_ms() - 240_000


def test_her_phones_transition_on_its_event_topic_is_said_on_the_timeline(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    with serving(world, tmp_path, clock) as cast:
        mira, noor, walk = mira_on_a_walk(cast, world["topic"])
        phone.publish(location(cast, START, m=2))
        eventually(lambda: bool(phone.commands))
        [region] = phone.commands[0]["waypoints"]["waypoints"]
        clock.advance(seconds=30)
        enter = {
            "_type": "transition",
            "event": "enter",
            "lat": HOME[0],
            "lon": HOME[1],
            "tst": clock.now_ms() // 1000,
            "wtst": region["tst"],
            "acc": 10,
            "t": "c",
            "desc": region["desc"],
        }
        phone.publish(enter, topic=world["topic"] + "/event", retain=False)

        def said() -> list[str]:
            return [e["signal"] for e in cast.events(noor, walk) if e["kind"] == "phone_signal"]

        eventually(lambda: said() == ["entered_destination"])


def test_a_tour_asked_on_the_request_topic_is_answered_on_cmd(
    world: dict[str, str], tmp_path: Path, clock: FakeClock, phone: Phone
) -> None:
    """iOS in MQTT mode publishes its Tours requests below its own topic, on /request
    (ingest/owntracks_tours.py), and reads the answer as a command on its /cmd."""
    with serving(world, tmp_path, clock) as cast:
        mira_on_a_walk(cast, world["topic"])
        phone.publish(location(cast, START, m=2))
        eventually(lambda: bool(phone.commands))  # her destination, as a region
        now_s = cast.clock.now_ms() // 1000
        when = [
            datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            for at in (now_s, now_s + 3600)
        ]
        tour = {"label": "Home", "from": when[0], "to": when[1]}
        phone.publish(
            {"_type": "request", "request": "tour", "tour": tour},
            topic=world["topic"] + "/request",
            retain=False,
        )
        eventually(lambda: any(c.get("request") == "tour" for c in phone.commands))
        answer = next(c for c in phone.commands if c.get("request") == "tour")
        assert (answer["action"], answer["status"], answer["tour"]["to"]) == (
            "response",
            200,
            when[1],
        )
        link = answer["tour"]["url"].removeprefix(str(cast.client.base_url))
        assert cast.client.get(link).json()["last_position"]["lat"] == START[0]


def test_a_message_that_arrives_while_postgresql_is_unreachable_is_held_and_taken_after(
    world: dict[str, str],
    tmp_path: Path,
    clock: FakeClock,
    phone: Phone,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not even her phone's topic can be looked up while the server is down: the message is
    held, unacknowledged, and taken once the server is back (it was dropped and acknowledged,
    so the broker never sent it again)."""
    settings = {k: v for k, v in world.items() if k.startswith("WWM_")}
    outage = Outage()
    with pg_schema("mq_") as url:
        db = Database(url)
        upgrade(db.write_engine)
        db.dispose()
        svc = make_services(outage.url(url), tmp_path, clock, None, **settings)
        try:
            with TestClient(create_app(svc), base_url="http://127.0.0.1:8000", client=LOCAL) as c:
                eventually(lambda: svc.mqtt is not None and svc.mqtt.connected)
                cast = Cast(c, svc, clock)
                _mira, noor, walk = mira_on_a_walk(cast, world["topic"])
                outage.down()
                phone.publish(location(cast, START, m=2))
                # Tried, and could not be looked up: held, not acknowledged, not dropped.
                eventually(lambda: "an MQTT message waits" in caplog.text)
                assert "could not be taken; dropped" not in caplog.text
                outage.up()
                eventually(lambda: last_position(cast, noor, walk) is not None)
        finally:
            svc.db.dispose()
            outage.close()


def test_a_broker_that_cannot_be_reached_is_said_in_the_log_once(
    tmp_path: Path, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A broker that never answered went unsaid: no line in the log while her OwnTracks
    phone, reporting through it, went unheard (an operator's first hour)."""
    port = free_port()
    svc = make_services(
        f"sqlite:///{tmp_path / 'db.sqlite'}", tmp_path, clock, None,
        WWM_MQTT_URL=f"mqtt://127.0.0.1:{port}",
    )  # fmt: skip
    assert svc.mqtt is not None
    said = f"can't reach the MQTT broker 127.0.0.1:{port}: phones that report through it go"
    with (
        caplog.at_level(logging.ERROR, logger="walkwithme.mqtt_bridge"),
        TestClient(create_app(svc)),
    ):
        eventually(lambda: any(said in r.getMessage() for r in caplog.records))
        assert svc.mqtt.connected is False
    assert sum(said in r.getMessage() for r in caplog.records) == 1  # not at every try
    svc.db.dispose()
