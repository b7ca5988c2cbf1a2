"""The service's parts, built once and handed to whoever needs them (no import-time globals)."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from walkwithme.bell import Bell
from walkwithme.clock import MAX_DRILL_SPEED, Clock, JumpingClock, SystemClock, fast_clock
from walkwithme.config import Config, ConfigError
from walkwithme.device_tokens import DeviceTokens
from walkwithme.hashing import Hashing
from walkwithme.heartbeat import Heartbeat
from walkwithme.notify.notifier import Notifier
from walkwithme.notify.outbound import Outbound
from walkwithme.notify.vapid import PushKeys
from walkwithme.settings import Broker
from walkwithme.startup import keep_private
from walkwithme.store import pg_bell
from walkwithme.store.database import Database
from walkwithme.store.migrate import upgrade
from walkwithme.store.tx import Touched
from walkwithme.store.writer import Writer
from walkwithme.streets import StreetMap, StreetMapError, load_street_map
from walkwithme.watchdog import Watchdog

if TYPE_CHECKING:
    from walkwithme.mqtt_bridge import MqttBridge


@dataclass
class Services:
    config: Config
    clock: Clock
    db: Database
    writer: Writer
    bell: Bell
    watchdog: Watchdog
    notifier: Notifier
    device_tokens: DeviceTokens
    push_keys: PushKeys  # the VAPID key that signs Web Push, made on first use
    outbound: Outbound  # the one HTTP client for alerts and the heartbeat, closed at stop
    heartbeat: Heartbeat | None = None  # to an external dead man's switch, if configured
    hashing: Hashing = field(default_factory=Hashing)  # argon2, a bounded number at a time
    # Demo and drill mode (`serve --drill`, never a normal serve): the clock may be jumped.
    jumping_clock: JumpingClock | None = None
    streets: StreetMap | None = None  # None: no street data, walks judged by the straight line
    mqtt: MqttBridge | None = None  # OwnTracks over the operator's MQTT broker, if configured
    # On PostgreSQL: what the other processes on the database commit (store/pg_bell.py).
    listener: pg_bell.Listener | None = None
    # Tests that move a fake clock run the watchdog's and the notifier's looks themselves
    # (`tick_sync`) instead of these loops.
    background_watchdog: bool = True
    running: bool = False  # started and not yet stopped
    # Live streams open in this process, by viewer (a person, or a share link): api/live.py
    # bounds them.
    live_streams: Counter[tuple[str, object]] = field(default_factory=Counter)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Start the writer and the loops (once: `serve` starts them before the web app)."""
        if self.running:
            return
        self.running = True
        self.bell.attach(loop)
        self.writer.start()
        if self.listener is not None:
            self.listener.start()
        if self.mqtt is not None:
            self.mqtt.start(loop)
        if self.background_watchdog:
            if self.mqtt is not None:
                self.mqtt.show_friends()
            self.watchdog.start()
            self.notifier.start()
            if self.heartbeat is not None:
                self.heartbeat.start()

    async def stop(self) -> None:
        """In order: no new decisions, the sends in flight finished, every write committed.
        Once: whoever stops them first (the web app's shutdown, or `serve` itself)."""
        if not self.running:
            return
        self.running = False
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        if self.mqtt is not None:
            # Off the event loop: its thread may be handing the loop a message to finish.
            await asyncio.to_thread(self.mqtt.stop)
        await self.watchdog.stop()
        await self.notifier.stop()
        await self.outbound.aclose()
        if self.listener is not None:
            await asyncio.to_thread(self.listener.stop)
        self.writer.stop()
        self.db.dispose()


def build_services(
    config: Config,
    clock: Clock | None = None,
    *,
    migrate: bool = True,
    db: Database | None = None,
    drill: bool = False,
    streets: StreetMap | None = None,
    load_streets: bool = True,
) -> Services:
    """`streets`: a street map already loaded (tests share one), instead of WWM_STREETS;
    `load_streets=False` for commands that route nothing (the map takes a while to load)."""
    if streets is None and load_streets and config.streets is not None:
        streets = _load_streets(config.streets)
    # Made on every database: on PostgreSQL it still keeps where `serve` listens and the
    # VAPID key (`serve` died with a traceback there when it was not made yet: a review).
    keep_private(config.data_dir)
    db = db or Database(config.database_url)
    if migrate:
        upgrade(db.write_engine)
    if config.database_url.startswith("sqlite"):
        keep_private(config.data_dir)  # the database and its WAL, made just now
    jumping: JumpingClock | None = None
    if drill:
        if config.clock_speed > MAX_DRILL_SPEED:
            raise ValueError(f"a drill's clock runs at most {MAX_DRILL_SPEED:g}x real time")
        jumping = fast_clock(config.clock_speed, config.data_dir / "fast-clock.json")
        clock = jumping
    elif clock is None:
        clock = (
            SystemClock()
            if config.clock_speed == 1.0
            else fast_clock(config.clock_speed, config.data_dir / "fast-clock.json")
        )
    bell = Bell()
    device_tokens = DeviceTokens(db, clock)

    def forget_revoked(touched: Touched) -> None:
        if touched.devices:
            device_tokens.forget(touched.devices)

    def ring(touched: Touched) -> None:
        if touched.walks:
            bell.ring_threadsafe(touched)

    def committed(touched: Touched) -> None:
        """After another process's commit (on PostgreSQL): streams are rung and revoked
        tokens forgotten. This process's own commits: revoked tokens are forgotten before
        the revocation is answered (no request slips through after it), streams are rung
        after the group's callers are answered (a phone needn't wait for its fix to be sent
        to the companions first)."""
        forget_revoked(touched)
        ring(touched)

    several = not db.is_sqlite  # several processes may share a PostgreSQL database
    me = pg_bell.origin()
    listener = (
        pg_bell.Listener(
            db.url,
            me,
            committed,
            bell.ring_all_threadsafe,
            say=lambda word: writer.submit(pg_bell.saying(me, word)),
        )
        if several
        else None
    )
    writer = Writer(
        db.write_engine,
        clock,
        on_commit=forget_revoked,
        on_answered=ring,
        # Alone on the database, nobody would hear its notices (store/pg_bell.py).
        announce=pg_bell.announcer(me, listener.alone, listener.listening.is_set)
        if listener is not None
        else None,
    )
    watchdog = Watchdog(
        db, writer, clock, has_hook=bool(config.emergency_hook), keeping=config.keeping
    )
    push_keys = PushKeys(
        config.data_dir / "vapid.pem", config.vapid_private_key, config.vapid_subject
    )
    outbound = Outbound()
    notifier = Notifier(db, writer, clock, config, push_keys, http=outbound, streets=streets)
    writer.on_alerts = notifier.ring_threadsafe  # alerts are sent as soon as they are committed
    mqtt = _mqtt_bridge(config, db, writer, streets, clock) if config.mqtt_url else None
    # The process that follows the broker asks phones for a fresh fix before a check.
    watchdog.phones = mqtt
    return Services(
        config=config,
        clock=clock,
        db=db,
        writer=writer,
        bell=bell,
        watchdog=watchdog,
        notifier=notifier,
        device_tokens=device_tokens,
        listener=listener,
        push_keys=push_keys,
        outbound=outbound,
        heartbeat=Heartbeat(
            config.heartbeat_url,
            clock,
            watchdog,
            config.heartbeat_seconds,
            writer=writer,
            http=outbound,
        )
        if config.heartbeat_url
        else None,
        jumping_clock=jumping,
        streets=streets,
        mqtt=mqtt,
    )


def _mqtt_bridge(
    config: Config, db: Database, writer: Writer, streets: StreetMap | None, clock: Clock
) -> MqttBridge:
    # Imported only when configured: paho-mqtt takes a tenth of a second to import, and
    # start-up is how long a restarted server leaves due alarms waiting.
    from walkwithme.mqtt_bridge import MqttBridge
    from walkwithme.mqtt_friends import FriendsOnMqtt

    broker = Broker.from_url(config.mqtt_url)
    bridge = MqttBridge(
        broker,
        config.mqtt_topics,
        config.mqtt_client_id,
        db,
        writer,
        streets,
        config.base_url,
        clock=clock,
    )
    bridge.friends = FriendsOnMqtt(db, writer, clock, bridge.publish)
    return bridge


def _load_streets(path: Path) -> StreetMap:
    """Once, at start: a street file that can't be read stops start-up, naming the setting."""
    try:
        return load_street_map(path)
    except StreetMapError as exc:
        raise ConfigError(f"WWM_STREETS={str(path)!r}: {exc}") from None
