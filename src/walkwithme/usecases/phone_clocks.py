"""Her phone's clock, as the service learns it from when its messages arrive
(domain/phone_clock.py), and her phone's times put on the service's clock by it before
anything judges them.

The correction is kept with the device (`devices.clock_offset_ms`), written only when it
changes, so that a fix sent again after a restart gets the same time and is seen twice, and
her phone's page says it; the run it is learned from is kept in the writer's memory
(`Tx.learned`): after a restart it is begun again. With several processes on PostgreSQL,
each learns from what it is sent, from the correction it read."""

from __future__ import annotations

from dataclasses import replace

import sqlalchemy as sa

from walkwithme.domain.fixes import Fix
from walkwithme.domain.phone_clock import PhoneClock
from walkwithme.store.schema import devices
from walkwithme.store.tx import Tx
from walkwithme.usecases.devices import Device

Timed = list[tuple[int, Fix]]  # a batch's fixes, with their places in it

FUTURE = (
    "t is in the future, more than 60 s ahead of the server's clock: check the phone's clock "
    "(a clock that stays off is learned in a minute and a half of its positions)"
)


def _key(device: Device) -> tuple[str, int]:
    return ("phone clock", device.id)


def _clock(tx: Tx, device: Device) -> PhoneClock:
    key = _key(device)
    clock: PhoneClock | None = tx.learned.get(key)
    if clock is None:
        row = tx.conn.execute(
            sa.select(devices.c.clock_offset_ms, devices.c.held_sos_ms).where(
                devices.c.id == device.id
            )
        ).first()
        offset = row.clock_offset_ms if row is not None else None
        clock = tx.learned[key] = PhoneClock(offset or 0, known=bool(offset))
        tx.learned[("held sos", device.id)] = row.held_sos_ms if row is not None else None
    return clock


def known(tx: Tx, device: Device) -> bool:
    """Whether `device`'s clock is known (learned from a steady run, right or not)."""
    return _clock(tx, device).known


# -- an SOS whose time, by a clock not known yet, is before her walk began -----------------
# Kept until the clock is known (a minute and a half of its messages): her phone's clock
# may be more than minutes slow, or the SOS one a queue kept from before (usecases/phone_sos.py).


def hold_sos(tx: Tx, device: Device, sos_ms: int) -> None:
    _clock(tx, device)
    tx.learned[("held sos", device.id)] = sos_ms
    tx.conn.execute(devices.update().where(devices.c.id == device.id).values(held_sos_ms=sos_ms))


def held_sos(tx: Tx, device: Device) -> int | None:
    """The SOS held for `device` (its time by the phone's clock), once its clock is known:
    handed over once (forgotten as it is)."""
    clock = _clock(tx, device)
    held: int | None = tx.learned.get(("held sos", device.id))
    if held is None or not clock.known:
        return None
    tx.learned[("held sos", device.id)] = None
    tx.conn.execute(devices.update().where(devices.c.id == device.id).values(held_sos_ms=None))
    return held


def by_service(tx: Tx, device: Device, t_ms: int) -> int:
    """A time `device` gave, by the service's clock as learned so far."""
    return t_ms + _clock(tx, device).offset_ms


def ahead(tx: Tx, device: Device, t_ms: int) -> bool:
    """A time `device` gave, too far ahead of the service's clock to be kept, as corrected."""
    return _clock(tx, device).ahead(t_ms, tx.now_ms)


def corrected(
    tx: Tx, device: Device, fixes: Timed, alive_ms: int | None, *, learn: bool = True
) -> tuple[Timed, int | None]:
    """The fixes and the heartbeat's time of one message from `device`, by the service's
    clock. `learn`: the message says something of the phone's clock as it arrives (not a
    broker's retained copy of an old one)."""
    clock = _clock(tx, device)
    times = [fix.t_ms for _index, fix in fixes]
    if alive_ms is not None:
        times.append(alive_ms)
    if learn and times:
        learned = clock.learn(max(times), tx.now_ms)
        tx.learned[_key(device)] = learned
        if learned.offset_ms != clock.offset_ms:
            tx.conn.execute(
                devices.update()
                .where(devices.c.id == device.id)
                .values(clock_offset_ms=learned.offset_ms or None)
            )
        clock = learned
    shift = clock.offset_ms
    if shift == 0:
        return fixes, alive_ms
    moved = [(index, replace(fix, t_ms=fix.t_ms + shift)) for index, fix in fixes]
    return moved, None if alive_ms is None else alive_ms + shift
