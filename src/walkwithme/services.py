"""The service's parts, built once and handed to whoever needs them (no import-time globals)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from walkwithme.bell import Bell
from walkwithme.clock import Clock, SystemClock
from walkwithme.config import Config
from walkwithme.store.database import Database
from walkwithme.store.migrate import upgrade
from walkwithme.store.writer import Writer


@dataclass
class Services:
    config: Config
    clock: Clock
    db: Database
    writer: Writer
    bell: Bell

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.bell.attach(loop)
        self.writer.start()

    def stop(self) -> None:
        self.writer.stop()
        self.db.dispose()


def build_services(
    config: Config, clock: Clock | None = None, *, migrate: bool = True, db: Database | None = None
) -> Services:
    if config.database_url.startswith("sqlite"):
        config.data_dir.mkdir(parents=True, exist_ok=True)
    db = db or Database(config.database_url)
    if migrate:
        upgrade(db.write_engine)
    clock = clock or SystemClock(config.clock_speed)
    bell = Bell()
    writer = Writer(db.write_engine, clock, on_commit=bell.ring_threadsafe)
    return Services(config=config, clock=clock, db=db, writer=writer, bell=bell)
