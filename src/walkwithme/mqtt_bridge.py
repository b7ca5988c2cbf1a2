"""OwnTracks in MQTT mode: the server follows the operator's broker like any other client.

Phones publish their locations to `owntracks/<user>/<device>` (QoS 1); the broker's ACLs say
who may publish where, and the operator binds each topic to a person's device
(`walkwithme devices add EMAIL NAME --owntracks-topic owntracks/mira/phone`). A message on a
topic nobody bound is ignored.

Nothing the broker hands us is lost: the server keeps a persistent session (a fixed client
id, no clean session), so the broker holds what arrives while it is down, and a message is
acknowledged to the broker only once its fix is committed. While the database can't take it,
the bridge holds the message and tries again; the broker keeps the rest in order.

paho-mqtt runs its network loop in a thread of its own; each message is handed to the
service's event loop, through the same use case as the HTTP doors (usecases/phones.py).

One server a client id: a second one with the same id would take the first one's session
over (the broker drops the first, which reconnects and takes it back, and so on, each losing
messages). So a running bridge answers a ping on `walkwithme/<client id>/ping`, and `serve`
asks before it starts (`already_running`): if someone answers, it refuses to start.

The bridge can also speak first: before "Are you OK?" for silence or a stall, the watchdog of
this process has it ask her phones for a fresh position (`ask_for_position`, OwnTracks'
`reportLocation` on their /cmd topics; domain/fresh_fix.py). Only the process that follows
the broker can publish; a watchdog elsewhere asks no phone (watchdog.py).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import secrets
import threading
from dataclasses import dataclass, field, replace
from functools import partial

import orjson
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from walkwithme.clock import Clock, SystemClock
from walkwithme.domain.errors import Conflict
from walkwithme.ingest import Unreadable, owntracks
from walkwithme.mqtt_friends import FRIENDS_EVERY_S, FriendsOnMqtt, is_friend_topic
from walkwithme.settings import Broker
from walkwithme.store.database import Database, StorageUnavailable
from walkwithme.store.writer import Writer
from walkwithme.streets import StreetMap
from walkwithme.usecases import devices, judging, phones

log = logging.getLogger(__name__)

RETRY_S = 2.0  # between tries of a message the database couldn't take
PING_WAIT_S = 1.0  # how long `serve` waits for a running server with its client id to answer
TAKE_TIMEOUT_S = 60.0
EVENT = "/event"  # where OwnTracks publishes its transitions, below its own topic
CMD = "/cmd"  # where OwnTracks listens for commands, below its own topic
REQUEST = "/request"  # where iOS asks for its Tours (ingest/owntracks_tours.py)

# "Send your position now". The apps' own shape: owntracks/android
# project/app/src/test/resources/fixtures/cmd_report_location.json and model/CommandAction.kt
# (REPORT_LOCATION "reportLocation"); owntracks/ios OwnTracks/OwnTracks/OwnTracksAppDelegate.m
# (handleMessage: `_type` "cmd", action "reportLocation"). Android obeys it with its "Remote
# commands" setting (`cmd`, on by default; services/MessageProcessor.kt) and asks for a single
# high-accuracy fix (services/BackgroundService.kt `requestOnDemandLocationUpdate`); iOS
# obeys it with `cmd` on (off by default; MQTT.plist `cmd_preference`) and
# `allowRemoteLocation` on (on by default), in Significant or Move mode only, and answers
# with the location it has. Both answer with a `location` whose `t` is "r". Sent in clear:
# both apps read a message that isn't `encrypted` as it is, key or no key (Android
# model/Parser.kt decrypts only an `encrypted` message; iOS Connection.m `decrypt:` hands
# anything else back unchanged), and it says nothing about her.
REPORT_LOCATION = {"_type": "cmd", "action": "reportLocation"}
# The same mode command goes to a phone at most once in this long. OwnTracks asked for Move
# mode is asked again by every message until it reports in it (domain/reporting.py), and a
# backlog it queued while offline arrives at once: 200 locations were 201 identical commands
# on its /cmd (an outside review). Over HTTP each answer is one reply, so it is said there.
SAME_MODE_EVERY_MS = 60_000


@dataclass
class MqttBridge:
    broker: Broker
    topics: str  # what to subscribe to: `owntracks/+/+`
    client_id: str
    db: Database
    writer: Writer
    streets: StreetMap | None = None
    base_url: str = ""  # the service's address, for the links of the tours phones ask for
    clock: Clock = field(default_factory=SystemClock)
    # Walkers shown on their companions' OwnTracks maps (mqtt_friends.py), with a clock.
    friends: FriendsOnMqtt | None = None
    taken: int = 0  # messages taken, for tests and /metrics
    commands: int = 0  # commands published to phones' /cmd topics
    positions_asked: int = 0  # reportLocation commands published (the watchdog's)
    connected: bool = False
    _said_unreachable: bool = False  # (said once an outage, not at every try)
    _loop: asyncio.AbstractEventLoop | None = None
    _client: mqtt.Client | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _showing: concurrent.futures.Future[None] | None = None
    # The mode each device was last sent on its /cmd, and when (`SAME_MODE_EVERY_MS`). In
    # memory: one process follows the broker, and a restart sends it once more at most.
    _modes_sent: dict[int, tuple[str, int]] = field(default_factory=dict)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._stopping.clear()
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            clean_session=False,
            manual_ack=True,
        )
        if self.broker.username:
            client.username_pw_set(self.broker.username, self.broker.password)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_message = self._on_message
        client.message_callback_add(self._ping_topic, self._on_ping)
        client.reconnect_delay_set(1, 30)
        client.connect_async(self.broker.host, self.broker.port, keepalive=60)
        client.loop_start()
        self._client = client

    @property
    def _base(self) -> str:
        return f"walkwithme/{self.client_id}"

    @property
    def _ping_topic(self) -> str:
        return f"{self._base}/ping"

    def already_running(self, wait_s: float = PING_WAIT_S) -> str | None:
        """Before starting: does another server follow the broker with this client id? Why
        not to start, or None (also when the broker can't be reached: the bridge will keep
        trying, and say so)."""
        answered, subscribed = threading.Event(), threading.Event()
        probe = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{self.client_id}-probe-{secrets.token_hex(4)}",
            clean_session=True,
        )
        if self.broker.username:
            probe.username_pw_set(self.broker.username, self.broker.password)
        probe.on_message = lambda *_args: answered.set()
        probe.on_subscribe = lambda *_args: subscribed.set()
        try:
            probe.connect(self.broker.host, self.broker.port, keepalive=10)
        except OSError:
            return None
        probe.loop_start()
        try:
            reply = f"{self._base}/pong/{secrets.token_hex(8)}"
            probe.subscribe(reply, qos=0)
            if not subscribed.wait(wait_s):
                return None
            probe.publish(self._ping_topic, reply.encode(), qos=0)
            if not answered.wait(wait_s):
                return None
        finally:
            probe.disconnect()
            probe.loop_stop()
        return (
            f"another walkwithme serve follows the MQTT broker {self.broker.host}:"
            f"{self.broker.port} with client id {self.client_id!r}: stop it, or give this one "
            "its own WWM_MQTT_CLIENT_ID (two with one id would take each other's messages)"
        )

    def show_friends(self) -> None:
        """Start showing walkers on their companions' maps, every `FRIENDS_EVERY_S` while
        connected (`serve`; tests call `friends.tick` themselves)."""
        if self.friends is not None and self._loop is not None and self._showing is None:
            self._showing = asyncio.run_coroutine_threadsafe(self._show_friends(), self._loop)

    async def _show_friends(self) -> None:
        assert self.friends is not None
        while not self._stopping.is_set():
            if self.connected:
                try:
                    await self.friends.tick()
                except Exception:
                    log.exception("showing walkers on their companions' maps failed; again soon")
            await asyncio.sleep(FRIENDS_EVERY_S)

    def publish(self, topic: str, payload: bytes) -> None:
        """A message to a phone (QoS 1, not retained); dropped while the broker is away."""
        if self._client is not None:
            self._client.publish(topic, payload, qos=1)

    def stop(self) -> None:
        """The message in hand is finished (or left unacknowledged, for the broker to send
        again); nothing new is taken."""
        self._stopping.set()
        if self._showing is not None:
            self._showing.cancel()
            self._showing = None
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
            self._client = None

    # -- paho's thread -------------------------------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: object,
        _flags: object,
        reason: object,
        _properties: object,
    ) -> None:
        if getattr(reason, "is_failure", False):
            log.error("the MQTT broker refused the connection: %s", reason)
            return
        try:
            client.subscribe(
                [
                    (self.topics, 1),
                    (self.topics + EVENT, 1),
                    (self.topics + REQUEST, 1),
                    (self._ping_topic, 0),
                ]
            )
        except ValueError as exc:  # (WWM_MQTT_TOPICS is checked at start-up: settings.py)
            log.error("could not follow OwnTracks on the MQTT broker (%s): %s", self.topics, exc)
            return
        # Connected once it follows: /healthz said "connected" while nothing was followed.
        self.connected = True
        self._said_unreachable = False
        log.info("following OwnTracks on the MQTT broker (%s)", self.topics)

    def _on_ping(self, client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        """Another `serve` with this client id asks whether one runs: answer where it said."""
        reply = bytes(msg.payload).decode(errors="replace")
        if reply.startswith(f"{self._base}/pong/") and "+" not in reply and "#" not in reply:
            client.publish(reply, b"running", qos=0)

    def _on_connect_fail(self, *_args: object) -> None:
        """The broker can't be reached (paho tries again, up to every 30 s): said once, in
        the log, for a broker that never answered from the start went unsaid, while phones
        that report through it went unheard (an operator's first hour)."""
        if self._said_unreachable or self._stopping.is_set():
            return
        self._said_unreachable = True
        log.error(
            "can't reach the MQTT broker %s:%s: phones that report through it go unheard, "
            "and their walks are alarmed for silence; trying again",
            self.broker.host,
            self.broker.port,
        )

    def _on_disconnect(self, *_args: object) -> None:
        self.connected = False
        if self.friends is not None:
            self.friends.forget()  # said again once back: the broker may have lost it
        if not self._stopping.is_set():
            log.warning("lost the MQTT broker; reconnecting")

    def _on_message(self, client: mqtt.Client, _userdata: object, msg: mqtt.MQTTMessage) -> None:
        assert self._loop is not None
        while not self._stopping.is_set():
            future = asyncio.run_coroutine_threadsafe(
                self._take(msg.topic, bytes(msg.payload), bool(msg.retain)), self._loop
            )
            try:
                future.result(TAKE_TIMEOUT_S)
                break
            except (StorageUnavailable, Conflict, TimeoutError) as exc:
                future.cancel()
                log.warning("an MQTT message waits (%s); trying again", type(exc).__name__)
            except Exception:
                log.exception("an MQTT message on %s could not be taken; dropped", msg.topic)
                break
            self._stopping.wait(RETRY_S)
        else:
            return  # stopping: not acknowledged, so the broker sends it again later
        client.ack(msg.mid, msg.qos)

    # -- the service's event loop --------------------------------------------------------------

    async def _take(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """`retained`: the broker's retained copy, handed on every (re)subscription: news only
        if its fix isn't stored yet, and never a reason to send the phone a command."""
        # Transitions come on the phone's own topic's /event, requests on its /request.
        base = topic.removesuffix(EVENT).removesuffix(REQUEST)
        if is_friend_topic(base):
            return  # a walker this process shows on a companion's map (mqtt_friends.py)
        device = await self.db.read(lambda c: devices.device_for_topic(c, base))
        if device is None:
            log.debug("MQTT message on %s: no device has that topic", topic)
            return
        key = await self.db.read(lambda c: devices.owntracks_key(c, device.id))
        try:
            message = owntracks.read(payload, key, over_mqtt=True)
        except Unreadable as exc:
            log.info("MQTT message on %s unreadable: %s", topic, exc)
            return
        if message is None:
            return
        message = replace(message, replayed=retained, relayed=True)
        streets, base_url = self.streets, self.base_url
        taken = await self.writer.run(
            lambda tx: phones.take(tx, device, message, streets, base_url), memo=True
        )
        if self._client is not None and not device.gone:
            # Phones subscribe to their own /cmd (with remote commands on in the app). A phone
            # whose account is deleted but for her silent alarm is told nothing, as a deleted
            # account's phone is (usecases/deletion.py).
            taken = replace(taken, ask_mode=self._mode_to_send(device.id, taken.ask_mode))
            for command in owntracks.commands(taken.commands(), message, key):
                self._client.publish(f"{base}/cmd", orjson.dumps(command), qos=1)
                self.commands += 1
        self.taken += 1

    def _mode_to_send(self, device_id: int, mode: str | None) -> str | None:
        """The mode to ask the device for now: None if it was sent the same one within
        `SAME_MODE_EVERY_MS` (a backlog gets one command, a phone that ignores it one a
        minute)."""
        if mode is None:
            return None
        now = self.clock.now_ms()
        sent = self._modes_sent.get(device_id)
        if sent is not None and sent[0] == mode and now - sent[1] < SAME_MODE_EVERY_MS:
            return None
        self._modes_sent[device_id] = (mode, now)
        return mode

    # -- asking phones -------------------------------------------------------------------------

    def can_ask(self) -> bool:
        """Connected to the broker: a question published now reaches it."""
        return self._client is not None and self.connected

    async def ask_for_position(self, walk_id: int) -> int:
        """Ask the phones of the walk's walker (OwnTracks bound to a topic) for their position
        now; their answers come back on their topics like any location. How many were asked."""
        topics = await self.db.read(partial(judging.walk_phone_topics, walk_id=walk_id))
        client = self._client
        if client is None:
            return 0
        for topic in topics:
            client.publish(topic + CMD, orjson.dumps(REPORT_LOCATION), qos=1)
            self.commands += 1
            self.positions_asked += 1
        return len(topics)
