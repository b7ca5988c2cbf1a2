"""Her SOS from her phone's app (Traccar Client's SOS button): the walk's alarm at once,
unless it was pressed before her walk began: one Traccar Client kept in its queue while
offline, sent with the rest once this walk's positions go out, is not this walk's alarm.

When it was pressed is the phone's time, on the service's clock as learned
(usecases/phone_clocks.py). While her phone's clock is not known yet (its first minute and a
half of messages), her clock may be minutes slow (an outside review: one twelve minutes slow,
pressed in her walk's first minute, was never raised): an SOS that seems pressed up to half
an hour before her walk began is raised at once (an SOS missed costs more than one pressed
as she set off, raised; and it may be the phone's last message). One older than that is
held, not dropped (a phone set to the wrong time zone is hours off), and judged again once
her clock is known, by the time learned: raised then, or said on her phone's page as not
raised.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa

from walkwithme.domain.errors import Conflict
from walkwithme.store.schema import people
from walkwithme.store.tx import Tx
from walkwithme.usecases import alarms, devices, phone_clocks
from walkwithme.usecases.devices import Device
from walkwithme.usecases.fixes import START_SLACK_MS
from walkwithme.usecases.walk_record import Walk

NO_WALK_SOS = "SOS with no walk going on: nobody is following you. Start a walk first."
UNKNOWN_CLOCK_SLACK_MS = 30 * 60_000
HELD = (
    "an SOS pressed at {at} by the phone's clock, before this walk began: it is raised if the "
    "phone's clock turns out to be that far behind (known after a minute and a half)"
)


def take(tx: Tx, device: Device, walk: Walk | None, sos_ms: int | None) -> str | None:
    """Her SOS, on `walk` (None: no walk of hers going on); what her phone's page says of it,
    if it was not raised."""
    if walk is None:
        return NO_WALK_SOS
    if not _pressed_before(tx, device, sos_ms, walk):
        _sos(tx, walk.id, device, sos_ms)
        return None
    assert sos_ms is not None
    if not phone_clocks.known(tx, device):
        if phone_clocks.by_service(tx, device, sos_ms) >= walk.started_at - UNKNOWN_CLOCK_SLACK_MS:
            _sos(tx, walk.id, device, sos_ms)
            return None
        phone_clocks.hold_sos(tx, device, sos_ms)
        return HELD.format(at=_clock_time(tx, device, sos_ms))
    return _before_walk(tx, device, phone_clocks.by_service(tx, device, sos_ms))


def judge_held(tx: Tx, device: Device, walk: Walk) -> str | None:
    """An SOS held until her clock is known, judged once it is (on her walk going on)."""
    sos_ms = phone_clocks.held_sos(tx, device)
    if sos_ms is None:
        return None
    if _pressed_before(tx, device, sos_ms, walk):
        return _before_walk(tx, device, phone_clocks.by_service(tx, device, sos_ms))
    _sos(tx, walk.id, device, sos_ms)
    return None


def _pressed_before(tx: Tx, device: Device, sos_ms: int | None, walk: Walk) -> bool:
    """Pressed before the walk began, by our clock, with the slack a walk's start gives a
    phone's clock. One pressed during the walk while offline (its time after the start) is
    its alarm, late as it comes; one with no time is too."""
    if sos_ms is None:
        return False
    return phone_clocks.by_service(tx, device, sos_ms) < walk.started_at - START_SLACK_MS


def _before_walk(tx: Tx, device: Device, sos_ms: int) -> str:
    """What her devices page says of an SOS pressed before the walk began: when, in her time."""
    return (
        f"an SOS pressed at {_clock_time(tx, device, sos_ms)}, before this walk began: not raised"
    )


def _clock_time(tx: Tx, device: Device, t_ms: int) -> str:
    tz = tx.conn.execute(
        sa.select(people.c.timezone).where(people.c.id == device.person_id)
    ).scalar_one_or_none()
    return datetime.fromtimestamp(t_ms / 1000, UTC).astimezone(_zone(tz)).strftime("%H:%M")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


SOS_TRIES = 3


def _sos(tx: Tx, walk_id: int, device: Device, sos_ms: int | None) -> None:
    """Her SOS, taken even if the walk changes at that very instant (another process's
    writer, on PostgreSQL): read again and raise it on the walk as it now is. The same SOS
    again (this device, the same time) is the app resending it: its alarm says nothing more."""
    for attempt in range(SOS_TRIES):
        try:
            with tx.savepoint():
                resent = devices.note_sos(tx, device, sos_ms)
                alarms.sos(tx, walk_id, device.person_id, resent=resent)
            return
        except Conflict:
            if attempt == SOS_TRIES - 1:
                raise
