"""Friends on a companion's OwnTracks map, in MQTT mode: while a walk is live, the walker is
published to a topic below his own user's, where his app (subscribed to `owntracks/+/+` and
their `/info`, its default) shows her as a friend: her card (`.../info`) and her latest
location. When the walk is over for him (or his contact with her ends), an empty message on
that topic removes her from his map: both apps delete a friend on an empty payload
(owntracks/android net/mqtt/MQTTMessageProcessorEndpoint.kt `messageArrived`: an empty payload
is a MessageClear, and services/MessageProcessor.kt removes the contact; owntracks/ios
OwnTracks/OwnTracking.m `processMessage`: "data.length == 0 -> delete friend").

Who sees whom is usecases/friends.py's (`friends_of`, the same as over HTTP). Nothing is
retained on the broker: a location is published at QoS 1 and not kept, so nothing of her is
left there after the walk; an app with a persistent session (OwnTracks' default) is handed
what it missed when it reconnects. The clear is said again every `CLEAR_AGAIN_MS` while the
walk is recent, for an app that was away when it was first said. Only the process that follows
the broker publishes (the bridge's); with several processes, the others do nothing here.

Privacy rests on the broker's ACLs as it does for her own phone's topic: each user should read
only below their own user's topic (Mosquitto: `pattern read owntracks/%u/#`), or anyone may
read everyone (docs/phones.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import orjson

from walkwithme.clock import Clock
from walkwithme.domain.friends import Friend
from walkwithme.ingest.owntracks import friend_card, friend_location
from walkwithme.ingest.owntracks_crypto import seal
from walkwithme.store.database import Database, StorageUnavailable
from walkwithme.store.writer import Writer
from walkwithme.usecases import friends, looks

log = logging.getLogger(__name__)

FRIENDS_EVERY_S = 5.0  # how often the walks followed over MQTT are looked at
CLEAR_AGAIN_MS = 10 * 60_000  # an ended walk's clear is said again this often, while recent
FRIEND_TOPIC = "{base}/walkwithme-{walker_id}"  # below his user's topic, one per walker
SHOWN_NO_POSITION = -1


def is_friend_topic(topic: str) -> bool:
    """One of the topics this server publishes walkers to (its own subscription hears them)."""
    return topic.removesuffix("/info").rsplit("/", 1)[-1].startswith("walkwithme-")


@dataclass
class FriendsOnMqtt:
    db: Database
    writer: Writer
    clock: Clock
    publish: Callable[[str, bytes], None]
    published: int = 0  # messages published, for tests and /healthz
    _shown: dict[str, int] = field(default_factory=dict)  # topic: the `t` of what it shows
    _cleared: dict[str, int] = field(default_factory=dict)  # topic: when its clear was said

    def forget(self) -> None:
        """The broker connection was lost: everything is said again once it is back."""
        self._shown.clear()
        self._cleared.clear()

    async def tick(self) -> int:
        """One look: new positions published, ended walks cleared. How many were published."""
        now = self.clock.now_ms()
        followers = await self.db.read(partial(friends.mqtt_followers, now_ms=now))
        before, still = self.published, set()
        for follower in followers:
            base = follower.topic.rsplit("/", 1)[0]
            for friend in follower.friends:
                topic = FRIEND_TOPIC.format(base=base, walker_id=friend.walker_id)
                if friend.over:
                    self._clear(topic, now)
                    continue
                still.add(topic)
                await self._show(topic, friend, follower)
        for topic in [t for t in self._shown if t not in still]:
            self._clear(topic, now)  # his contact with her ended, or the walk is long over
        return self.published - before

    async def _show(self, topic: str, friend: Friend, follower: friends.Follower) -> None:
        self._cleared.pop(topic, None)
        if topic not in self._shown:
            self._send(topic + "/info", friend_card(friend, topic), follower.key)
            self._shown[topic] = SHOWN_NO_POSITION
        position = friend.position
        if position is None or self._shown[topic] == position.t_ms:
            return
        self._send(topic, friend_location(friend.tid, topic, position), follower.key)
        self._shown[topic] = position.t_ms
        try:  # a look she sees, "from an app", as over HTTP
            look = partial(looks.record, via=looks.API, viewer_id=follower.viewer_id)
            await self.writer.run(partial(look, walk_id=friend.walk_id))
        except StorageUnavailable:
            log.warning("a look at walk %s could not be recorded", friend.walk_id)

    def _clear(self, topic: str, now: int) -> None:
        self._shown.pop(topic, None)
        said = self._cleared.get(topic)
        if said is not None and now - said < CLEAR_AGAIN_MS:
            return
        self.publish(topic, b"")
        self.published += 1
        self._cleared[topic] = now

    def _send(self, topic: str, item: dict[str, object], key: str | None) -> None:
        # Sealed with his app's key, if it has one (the apps decrypt what they are sent).
        body = orjson.dumps(seal(key, orjson.dumps(item)) if key else item)
        self.publish(topic, body)
        self.published += 1
