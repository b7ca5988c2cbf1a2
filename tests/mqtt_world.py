"""OwnTracks in MQTT mode, for tests: the real Mosquitto broker on 127.0.0.1:1883, Mira's
phone as the app publishes, and a world of topics of the test's own (fixtures `mqtt_broker`,
`world`, `phone`, made available to every test by conftest.py)."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.conftest import IN_CI

BROKER = ("127.0.0.1", 1883)
WITHIN_S = 15.0  # a generous bound for the broker's deliveries, not a timing


@pytest.fixture
def mqtt_broker() -> None:
    """The real Mosquitto broker, or a clear skip (under CI, a failure)."""
    try:
        socket.create_connection(BROKER, timeout=2).close()
    except OSError as exc:
        message = f"no MQTT broker at {BROKER[0]}:{BROKER[1]}: {exc}"
        if IN_CI:
            pytest.fail(message + " (under CI a missing server is a failure)")
        pytest.skip(message)


class Phone:
    """Mira's phone, as OwnTracks in MQTT mode: it publishes its locations, retained, at QoS
    1, and listens to its own /cmd."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.commands: list[dict[str, Any]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="phone-" + topic[-12:])
        self.client.on_message = lambda _c, _u, msg: self.commands.append(orjson.loads(msg.payload))
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *_args: subscribed.set()
        self.client.connect(*BROKER)
        self.client.loop_start()
        self.client.subscribe(f"{topic}/cmd", qos=1)
        # Listening before anything is sent to it: a command sent earlier would be lost.
        assert subscribed.wait(WITHIN_S), "the broker never took the phone's subscription"

    def publish(
        self, message: dict[str, Any], topic: str | None = None, *, retain: bool = True
    ) -> None:
        info = self.client.publish(topic or self.topic, orjson.dumps(message), qos=1, retain=retain)
        info.wait_for_publish(WITHIN_S)

    def close(self) -> None:
        # Clear what it left retained on the broker.
        self.client.publish(self.topic, b"", qos=1, retain=True).wait_for_publish(WITHIN_S)
        self.client.loop_stop()
        self.client.disconnect()


def forget_session(client_id: str) -> None:
    """Drop the server's persistent session from the broker."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    client.connect(*BROKER)
    client.disconnect()


def eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WITHIN_S
    while not check():
        assert time.monotonic() < deadline, "the broker's message never arrived"
        time.sleep(0.05)  # polling for a delivery, not waiting for a deadline


@pytest.fixture
def world(sqlite_url: str, mqtt_broker: None) -> Iterator[dict[str, str]]:
    """Topics and a server client id of this test's own, so runs side by side never meet."""
    user = "t" + secrets.token_hex(5)
    settings = {
        "WWM_MQTT_URL": f"mqtt://{BROKER[0]}:{BROKER[1]}",
        "WWM_MQTT_TOPICS": f"owntracks/{user}/+",
        "WWM_MQTT_CLIENT_ID": "walkwithme-" + user,
    }
    yield {"url": sqlite_url, "topic": f"owntracks/{user}/phone", **settings}
    forget_session(settings["WWM_MQTT_CLIENT_ID"])


@pytest.fixture
def phone(world: dict[str, str]) -> Iterator[Phone]:
    mira_phone = Phone(world["topic"])
    yield mira_phone
    mira_phone.close()
