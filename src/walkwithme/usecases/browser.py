"""Her browser as one of her devices: the walk page reports positions through the same fix
path as any phone, as a device row of its own ("This browser"), made the first time it is
needed. It has a token like any device, which nobody is ever shown: the page is signed in by
her session instead."""

from __future__ import annotations

import sqlalchemy as sa

from walkwithme.store.schema import devices
from walkwithme.store.tx import Tx
from walkwithme.usecases.devices import KEPT, Device, add_device

BROWSER = "This browser (the walk page)"


def browser_device(tx: Tx, person_id: int) -> Device:
    row = tx.conn.execute(
        sa.select(devices.c.id).where(
            devices.c.person_id == person_id,
            devices.c.name == BROWSER,
            KEPT,  # (one she removed is not taken up again: a new one, as once revoked)
        )
    ).first()
    if row is not None:
        return Device(row.id, person_id, BROWSER)
    device, _token = add_device(tx, person_id, BROWSER)
    return device
