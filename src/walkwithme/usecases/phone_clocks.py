"""Her phone's clock, as the service learns it from when its messages arrive
(domain/phone_clock.py), and her phone's times corrected by it before anything judges them.

What is learned is kept in the writer's memory (`Tx.learned`), never in the database: it is
no fact of her walk, and after a restart it is learned again (a fast clock with the first
message, a slow one within a minute). With several processes, each learns from what it is
sent."""

from __future__ import annotations

from dataclasses import replace

from walkwithme.domain.fixes import Fix
from walkwithme.domain.phone_clock import PhoneClock
from walkwithme.store.tx import Tx
from walkwithme.usecases import devices
from walkwithme.usecases.devices import Device

Timed = list[tuple[int, Fix]]  # a batch's fixes, with their places in it


def by_service(tx: Tx, device: Device, t_ms: int) -> int:
    """A time `device` gave, by the service's clock as learned so far."""
    clock: PhoneClock = tx.learned.get(_key(device), PhoneClock())
    return t_ms + clock.offset_ms


def _key(device: Device) -> tuple[str, int]:
    return ("phone clock", device.id)


def corrected(
    tx: Tx, device: Device, fixes: Timed, alive_ms: int | None, *, learn: bool = True
) -> tuple[Timed, int | None]:
    """The fixes and the heartbeat's time of one message from `device`, by the service's
    clock. `learn`: the message says something of the phone's clock as it arrives (not a
    broker's retained copy of an old one). A change in what is said of her phone's clock is
    kept where her phone's page shows it (`devices.note_refusal`)."""
    key = _key(device)
    clock: PhoneClock = tx.learned.get(key, PhoneClock())
    times = [fix.t_ms for _index, fix in fixes]
    if alive_ms is not None:
        times.append(alive_ms)
    if learn and times:
        learned = clock.learn(max(times), tx.now_ms)
        tx.learned[key] = learned
        said = learned.said()
        if said is not None and said != clock.said():
            devices.note_refusal(tx, device, said)
        clock = learned
    shift = clock.offset_ms
    if shift == 0:
        return fixes, alive_ms
    moved = [(index, replace(fix, t_ms=fix.t_ms + shift)) for index, fix in fixes]
    return moved, None if alive_ms is None else alive_ms + shift
