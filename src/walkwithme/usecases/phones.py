"""A message from a phone app (OwnTracks, Traccar Client), once its door has read it: what
the app says of itself is remembered, its fix takes the one fix path, its SOS raises the
alarm. All in one writer job, so the phone is answered only once everything is committed.

A message that can't be used (no position in it, a malformed field, an SOS with no walk
going on) is kept as the device's last refusal for her to see, and the phone is answered 2xx
all the same: a 4xx would make iOS drop it and Android resend it forever.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from walkwithme.domain.errors import Conflict, Invalid
from walkwithme.domain.fixes import MAX_FUTURE_MS, Fix, check_fix, without_impossible_extras
from walkwithme.domain.regions import region_tst, set_region
from walkwithme.domain.reporting import App, Client
from walkwithme.domain.walks import Destination
from walkwithme.ingest import CHARGING, MOCK_LOCATION, NOT_CHARGING, PhoneMessage
from walkwithme.ingest.owntracks import mode_command
from walkwithme.store.schema import alerts, events
from walkwithme.store.tx import Tx
from walkwithme.streets import StreetMap
from walkwithme.usecases import alarms, devices, timeline, tours
from walkwithme.usecases.devices import Device
from walkwithme.usecases.fixes import START_SLACK_MS, is_stored, record_fixes
from walkwithme.usecases.track import Track
from walkwithme.usecases.walk_record import Walk
from walkwithme.usecases.walk_store import live_walk_of, walks_taking_fixes

NO_WALK_SOS = "SOS with no walk going on: nobody is following you. Start a walk first."


@dataclass(frozen=True)
class Taken:
    client: Client  # what is now known of the app
    on_walk: bool  # her walk is live (as her devices see it)
    ask_mode: str | None = None  # an OwnTracks mode to ask the app for (reporting.ask_of)
    region: Destination | None = None  # give the OwnTracks app this destination as a region
    tour: dict[str, Any] | None = None  # the answer to the app's tour request (usecases/tours.py)

    def commands(self) -> list[dict[str, Any]]:
        """OwnTracks' commands for the app, in the order to give them."""
        found = [mode_command(self.ask_mode)] if self.ask_mode else []
        found += [set_region(self.region)] if self.region is not None else []
        return found + ([self.tour] if self.tour is not None else [])


def take(
    tx: Tx,
    device: Device,
    message: PhoneMessage,
    streets: StreetMap | None = None,
    base_url: str = "",
) -> Taken:
    """`base_url`: the service's address, for the link of a tour the app asks for."""
    if message.replayed and not _news(tx, device, message):
        # The broker's retained copy of what the phone last said, handed again on subscribing:
        # taken already (or nothing a walk keeps). Nothing changes, and nothing is asked.
        walk = live_walk_of(tx.conn, device.person_id)
        return Taken(message.client, walk is not None and walk.walker_live)
    taken = _take(tx, device, message, streets, base_url)
    return replace(taken, ask_mode=None, region=None) if message.replayed else taken


def _news(tx: Tx, device: Device, message: PhoneMessage) -> bool:
    """A replayed message is news only if it carries a fix a live walk of hers takes and
    hasn't stored (the server missed it when the phone sent it)."""
    for walk in walks_taking_fixes(tx.conn, device.person_id):
        for fix in message.fixes:
            if fix.t_ms >= walk.started_at - START_SLACK_MS and not is_stored(
                tx.conn, walk.id, device.id, fix.t_ms
            ):
                return True
    return False


def _take(
    tx: Tx, device: Device, message: PhoneMessage, streets: StreetMap | None, base_url: str
) -> Taken:
    refused = message.refused
    fixes: list[Fix] = []
    noted: str | None = None  # readings left out of a kept position: said if nothing worse
    for sent in message.fixes:
        fix, left_out = without_impossible_extras(sent)
        try:
            check_fix(fix, tx.now_ms)
        except Invalid as exc:
            refused = exc.message
        else:
            fixes.append(fix)
            if left_out and noted is None:
                noted = f"{'; '.join(left_out)}; the position was kept"
    refused = refused or noted
    if fixes:
        said_before = _last_event_id(tx) if message.charging else 0
        refused = _record(tx, device, fixes, message.sos, streets) or refused
        if message.charging:
            _low_battery_charging(tx, device, said_before)
    if message.alive_ms is not None:
        said_before = _last_event_id(tx) if message.charging else 0
        refused = _alive(tx, device, message) or refused
        if message.charging:
            _low_battery_charging(tx, device, said_before)
    walk = live_walk_of(tx.conn, device.person_id)
    on_walk = walk is not None and walk.walker_live
    news = devices.note_client(tx, device, message.client, on_walk)
    client = news.now
    if walk is not None and on_walk and _told_differently(news.before, client):
        # Her companions learn it too: it is why "last seen" may be minutes ago.
        timeline.record(
            tx,
            walk.id,
            "phone_reports",
            audience=walk.everyone,
            device=device.name,
            app=client.app.value,
            mode=client.mode,
            reports=client.reports.value,
            advice=client.advice,
        )
    if (
        message.signal is not None
        and walk is not None
        and on_walk
        and not (message.signal == MOCK_LOCATION and _said(tx, walk.id, device, MOCK_LOCATION))
    ):
        # Her companions learn it at once: why she has gone quiet, or that where her phone
        # says she is may be faked (said once a walk: a mocking phone says so every time).
        timeline.record(
            tx,
            walk.id,
            "phone_signal",
            audience=walk.everyone,
            device=device.name,
            app=client.app.value,
            signal=message.signal,
        )
    if message.charging is not None and walk is not None and walk.live:
        _charging(tx, walk, device, client, message.charging)
    region = None
    if walk is not None and on_walk and walk.destination is not None:
        if _at_region(tx, walk, device, message.transition):
            refused = None
        if client.app is App.OWNTRACKS and not message.replayed:
            region = devices.region_to_give(tx, device, walk.id, walk.destination)
    if message.sos:
        if walk is not None and on_walk:
            _sos(tx, walk.id, device.person_id)
        else:
            refused = NO_WALK_SOS
    tour = None
    if message.tour is not None and not message.replayed:
        tour, refused = tours.take(
            tx, device.person_id, message.tour, walk if on_walk else None, base_url, device.name
        )
    if refused is not None:
        devices.note_refusal(tx, device, refused)
    return Taken(client, on_walk, news.ask_mode, region, tour)


def _at_region(tx: Tx, walk: Walk, device: Device, transition: tuple[str, int] | None) -> bool:
    """Her phone says she entered or left the walk's destination (its region, given by
    `set_region`): said on the timeline, beside the fixes, which still decide the door."""
    assert walk.destination is not None
    if transition is None or transition[1] != region_tst(walk.destination):
        return False
    signal = ENTERED if transition[0] == "enter" else LEFT
    if _last_region_signal(tx, walk.id, device) == signal:
        # Said already: the same message again (an answer lost, a QoS 1 redelivery), or the
        # phone saying twice what has not changed. Her timeline says it once.
        return True
    timeline.record(
        tx,
        walk.id,
        "phone_signal",
        audience=walk.everyone,
        device=device.name,
        app=App.OWNTRACKS.value,
        signal=signal,
    )
    return True


ENTERED, LEFT = "entered_destination", "left_destination"


def _last_region_signal(tx: Tx, walk_id: int, device: Device) -> str | None:
    """What this device last said of the walk's destination region, if anything."""
    rows = tx.conn.execute(
        sa.select(events.c.data)
        .where(events.c.walk_id == walk_id, events.c.kind == "phone_signal")
        .order_by(events.c.id.desc())
    )
    for row in rows:
        if row.data.get("device") == device.name and row.data.get("signal") in (ENTERED, LEFT):
            return str(row.data["signal"])
    return None


def _record(
    tx: Tx, device: Device, fixes: list[Fix], sos: bool, streets: StreetMap | None
) -> str | None:
    """The message's fixes, through the one fix path. With an SOS, the fix is only its
    companion: if it can't be kept (the walk changed at that instant), the SOS still goes
    through, and the fix is the refusal kept for her to see, never a "send again" (the apps
    send an SOS once: Traccar Client 10.x never resends it, the old clients forget it)."""
    if not sos:
        record_fixes(tx, device, list(fixes), streets)
        return None
    said = {walk_id: list(added) for walk_id, added in tx.touched.fixes.items()}
    try:
        with tx.savepoint():
            record_fixes(tx, device, list(fixes), streets)
    except Conflict:
        tx.touched.fixes = said  # what the savepoint kept out isn't handed to the streams
        return "the fix sent with an SOS came as the walk changed; the SOS was taken"
    return None


def _alive(tx: Tx, device: Device, message: PhoneMessage) -> str | None:
    """A heartbeat without a position: the phone is alive, so her walk is not silent (the
    other rules, which need to know where she is, are not moved by it), and its battery is
    read (a low one told, as with a fix). With an SOS, like a fix, it never stands in the
    SOS's way."""
    alive_ms, sos = message.alive_ms, message.sos
    assert alive_ms is not None
    if alive_ms > tx.now_ms + MAX_FUTURE_MS:
        return "timestamp is in the future: check the phone's clock"
    devices.note_seen(tx, device)
    t = min(alive_ms, tx.now_ms)  # the rules count time by the server's clock
    try:
        with tx.savepoint():
            for walk in walks_taking_fixes(tx.conn, device.person_id):
                if t >= walk.started_at - START_SLACK_MS:
                    track = Track(walk, tx.now_ms)
                    track.alive(t, message.alive_battery)
                    track.save(tx)
    except Conflict:
        if not sos:
            raise  # the phone sends it again
        return "the heartbeat sent with an SOS came as the walk changed; the SOS was taken"
    return None


def _charging(tx: Tx, walk: Walk, device: Device, client: Client, charging: bool) -> None:
    """Her phone was put on its charger, or taken off it, during the walk: said once each
    time on the timeline, for her and her companions (after her duress PIN, for them only:
    they are the ones looking for her, and they keep hearing of her real walk)."""
    if devices.note_charging(tx, device, walk.id, charging):
        timeline.record(
            tx,
            walk.id,
            "phone_signal",
            audience=walk.everyone,
            device=device.name,
            app=client.app.value,
            signal=CHARGING if charging else NOT_CHARGING,
        )


def _last_event_id(tx: Tx) -> int:
    return int(tx.conn.execute(sa.select(sa.func.max(events.c.id))).scalar_one() or 0)


def _low_battery_charging(tx: Tx, device: Device, after_id: int) -> None:
    """The fixes just taken made a low-battery notice, and the phone that sent them says it
    is charging: the notice says so, on the timeline and in the alert to her companions
    (made in this transaction, not sent yet)."""
    walk_ids = [walk.id for walk in walks_taking_fixes(tx.conn, device.person_id)]
    found = tx.conn.execute(
        sa.select(events.c.id, events.c.data).where(
            events.c.id > after_id,
            events.c.walk_id.in_(walk_ids),
            events.c.kind == "low_battery",
        )
    ).all()
    for row in found:
        tx.conn.execute(
            events.update().where(events.c.id == row.id).values(data={**row.data, "charging": True})
        )
        for alert in tx.conn.execute(
            sa.select(alerts.c.id, alerts.c.payload).where(alerts.c.event_id == row.id)
        ).all():
            tx.conn.execute(
                alerts.update()
                .where(alerts.c.id == alert.id)
                .values(payload={**alert.payload, "charging": True})
            )


def _said(tx: Tx, walk_id: int, device: Device, signal: str) -> bool:
    """This device's signal is on the walk's timeline already."""
    rows = tx.conn.execute(
        sa.select(events.c.data).where(events.c.walk_id == walk_id, events.c.kind == "phone_signal")
    )
    return any(r.data.get("device") == device.name and r.data.get("signal") == signal for r in rows)


SOS_TRIES = 3


def _sos(tx: Tx, walk_id: int, walker_id: int) -> None:
    """Her SOS, taken even if the walk changes at that very instant (another process's
    writer, on PostgreSQL): read again and raise it on the walk as it now is."""
    for attempt in range(SOS_TRIES):
        try:
            with tx.savepoint():
                alarms.sos(tx, walk_id, walker_id)
            return
        except Conflict:
            if attempt == SOS_TRIES - 1:
                raise


def _told_differently(before: Client | None, now: Client) -> bool:
    """Worth a word on the walk's timeline: the first news of an app she should set
    differently, or a change in how often it reports that she was or is to be told of."""
    if before is None:
        return now.advice is not None
    return before.reports is not now.reports and (before.advice or now.advice) is not None
