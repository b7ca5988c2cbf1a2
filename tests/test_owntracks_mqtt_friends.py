"""Friends on a companion's OwnTracks map in MQTT mode (mqtt_friends.py), against the real
Mosquitto broker: Noor's app, subscribed as OwnTracks subscribes by default (`owntracks/+/+`
and their `/info`), is shown Mira while her walk is live, and told to forget her (an empty
message, which both apps take as "delete this friend") once it is over.

The service's clock is fake and the tests call the bridge's look themselves; they wait for
the broker's deliveries by polling with a generous bound, never for a deadline."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from nacl.encoding import Base64Encoder
from nacl.secret import SecretBox
from paho.mqtt.enums import CallbackAPIVersion

from tests.mqtt_world import BROKER, WITHIN_S, eventually
from tests.people import HOME, PIN, START, Cast, Member, between
from tests.test_owntracks_mqtt import serving
from walkwithme.clock import FakeClock
from walkwithme.domain.errors import Invalid
from walkwithme.usecases import devices

pytestmark = pytest.mark.usefixtures("mqtt_broker")


class App:
    """An OwnTracks app's subscriptions, as the apps make them by default, on one broker
    prefix (so that tests running side by side never meet): what it was handed, in order."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.got: list[tuple[str, bytes]] = []
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id="app-" + secrets.token_hex(6)
        )
        self.client.on_message = lambda _c, _u, msg: self._take(msg.topic, bytes(msg.payload))
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_args: subscribed.set()
        self.client.connect(*BROKER)
        self.client.loop_start()
        self.client.subscribe([("owntracks/+/+", 1), ("owntracks/+/+/info", 1)])
        assert subscribed.wait(WITHIN_S), "the broker never took the subscriptions"

    def _take(self, topic: str, payload: bytes) -> None:
        if topic.startswith(self.prefix):
            self.got.append((topic, payload))

    def below(self, user: str) -> list[tuple[str, bytes]]:
        return [(t, p) for t, p in self.got if t.startswith(f"owntracks/{user}/")]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def json(payload: bytes, key: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = orjson.loads(payload)
    if key is not None:
        assert found["_type"] == "encrypted"
        plain = SecretBox(key.encode().ljust(32, b"\0")).decrypt(
            found["data"].encode(), encoder=Base64Encoder
        )
        found = orjson.loads(plain)
    return found


@pytest.fixture
def app(world: dict[str, str]) -> Iterator[App]:
    user = world["topic"].split("/")[1]
    made = App(f"owntracks/{user}")
    yield made
    made.close()


def look(cast: Cast) -> int:
    """The bridge's look at the walks followed over MQTT, as its loop makes it."""
    assert cast.services.mqtt is not None
    assert cast.services.mqtt.friends is not None
    return asyncio.run(cast.services.mqtt.friends.tick())


def walking(cast: Cast, user: str) -> tuple[Member, Member, Member, str, dict[str, Any]]:
    """Mira walks home, her phone (over HTTP) reporting; Noor follows, with OwnTracks in MQTT
    mode; Wren, with OwnTracks too, follows nobody."""
    mira, noor, wren = cast.person("Mira"), cast.person("Noor"), cast.person("Wren")
    cast.link(mira, noor)
    for who, name in ((noor, "noor"), (wren, "wren")):
        topic = f"owntracks/{user}{name}/phone"
        bind = partial(devices.add_device, person_id=who.id, name="phone", owntracks_topic=topic)
        cast.services.writer.run_sync(bind)
    phone = cast.device(mira)
    return mira, noor, wren, phone, cast.start_walk(mira)


def test_a_companion_sees_her_on_his_owntracks_map_during_her_walk_and_then_no_more(
    world: dict[str, str],
    tmp_path: Path,
    clock: FakeClock,
    app: App,
) -> None:
    user = world["topic"].split("/")[1]
    with serving(world, tmp_path, clock) as cast:
        mira, noor, _wren, phone, walk = walking(cast, user)
        friend = f"owntracks/{user}noor/walkwithme-{mira.id}"
        cast.clock.advance(seconds=20)
        there = between(START, HOME, 0.2)
        assert cast.statuses(phone, cast.fix(there, battery=61)) == ["accepted"]
        assert look(cast) == 2
        eventually(lambda: len(app.below(user + "noor")) == 2)
        (card_topic, card), (at, location) = app.below(user + "noor")
        assert card_topic == friend + "/info"
        assert json(card) | {"topic": None} == {
            "_type": "card",
            "tid": "MI",
            "name": "Mira",
            "topic": None,
        }
        assert at == friend
        shown = json(location)
        assert shown["_type"] == "location"
        assert (shown["lat"], shown["lon"], shown["batt"], shown["tid"]) == (*there, 61, "MI")
        assert shown["tst"] == cast.clock.now_ms() // 1000
        # Nothing new, nothing said; a new position, said once.
        assert look(cast) == 0
        cast.clock.advance(seconds=20)
        further = between(START, HOME, 0.4)
        cast.statuses(phone, cast.fix(further))
        assert look(cast) == 1
        eventually(lambda: len(app.below(user + "noor")) == 3)
        assert (json(app.below(user + "noor")[-1][1])["lat"]) == further[0]
        # Her walk shows his look, "from an app".
        looks = cast.client.get(f"/api/walks/{walk['id']}/looks", headers=mira.auth).json()
        assert [(x["via"], x["who"]) for x in looks] == [("api", "Noor")], looks
        # She is inside: his app is told to forget her (an empty message on her topic).
        inside = cast.client.post(
            f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth
        )
        assert inside.status_code == 200, inside.text
        assert look(cast) == 1
        eventually(lambda: len(app.below(user + "noor")) == 4)
        assert app.below(user + "noor")[-1] == (friend, b"")
        # Said again a while later (for an app that was away), never a position again.
        cast.clock.advance(minutes=5)
        assert look(cast) == 0
        cast.clock.advance(minutes=6)
        cast.statuses(phone, cast.fix(HOME))
        assert look(cast) == 1
        eventually(lambda: len(app.below(user + "noor")) == 5)
        assert app.below(user + "noor")[-1] == (friend, b"")
        # Wren follows nobody: her app was handed nothing, ever.
        assert app.below(user + "wren") == []


def test_his_app_with_a_key_gets_her_sealed_and_a_contact_that_ends_clears_her(
    world: dict[str, str],
    tmp_path: Path,
    clock: FakeClock,
    app: App,
) -> None:
    user = world["topic"].split("/")[1]
    with serving(world, tmp_path, clock) as cast:
        mira, noor, _wren, phone, walk = walking(cast, user)
        noor_phone = cast.services.db.read_sync(
            lambda c: devices.device_for_topic(c, f"owntracks/{user}noor/phone")
        )
        assert noor_phone is not None
        key = cast.services.writer.run_sync(
            lambda tx: devices.set_owntracks_key(tx, noor.id, noor_phone.id)
        )
        cast.clock.advance(seconds=20)
        cast.statuses(phone, cast.fix(START))
        assert look(cast) == 2
        eventually(lambda: len(app.below(user + "noor")) == 2)
        card, location = (json(p, key) for _t, p in app.below(user + "noor"))
        assert (card["_type"], card["name"]) == ("card", "Mira")
        assert (location["lat"], location["lon"]) == START
        # Noor ends his contact with Mira mid-walk: he is no longer shown where she is.
        contact = next(
            c
            for c in cast.client.get("/api/contacts", headers=noor.auth).json()
            if c["person"]["id"] == mira.id
        )
        ended = cast.client.delete(f"/api/contacts/{contact['id']}", headers=noor.auth)
        assert ended.status_code in (200, 204), ended.text
        cast.clock.advance(seconds=20)
        cast.statuses(phone, cast.fix(between(START, HOME, 0.3)))
        assert look(cast) == 1
        eventually(lambda: len(app.below(user + "noor")) == 3)
        assert app.below(user + "noor")[-1] == (f"owntracks/{user}noor/walkwithme-{mira.id}", b"")
        assert look(cast) == 0
        assert walk["id"]


def test_no_phone_can_be_bound_to_the_topics_walkers_are_shown_on() -> None:
    with pytest.raises(Invalid, match="walkwithme-"):
        devices.check_topic("owntracks/noor/walkwithme-12")
    assert devices.check_topic("owntracks/noor/phone") == "owntracks/noor/phone"
