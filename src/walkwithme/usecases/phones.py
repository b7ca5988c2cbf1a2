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
from walkwithme.domain.fixes import Fix, check_fix, without_impossible_extras
from walkwithme.domain.phone_clock import MAX_ERROR_MS
from walkwithme.domain.regions import region_tst, set_region
from walkwithme.domain.reporting import App, Client
from walkwithme.domain.walks import Destination
from walkwithme.ingest import CHARGING, MOCK_LOCATION, NOT_CHARGING, OFFLINE, PhoneMessage
from walkwithme.ingest.owntracks import mode_command
from walkwithme.store.schema import events
from walkwithme.store.tx import Tx
from walkwithme.streets import StreetMap
from walkwithme.usecases import devices, phone_clocks, phone_sos, timeline, tours
from walkwithme.usecases.devices import Device
from walkwithme.usecases.fixes import START_SLACK_MS, Heard, Outcome, is_stored, record_fixes
from walkwithme.usecases.walk_record import Walk
from walkwithme.usecases.walk_store import live_walk_of, walks_taking_fixes


@dataclass(frozen=True)
class Taken:
    client: Client  # what is now known of the app
    on_walk: bool  # her walk is live (as her devices see it)
    ask_mode: str | None = None  # an OwnTracks mode to ask the app for (reporting.ask_of)
    region: Destination | None = None  # give the OwnTracks app this destination as a region
    tour: dict[str, Any] | None = None  # the answer to the app's tour request (usecases/tours.py)
    # Its owner's walkers may be given in the answer: her OwnTracks app's (`locates` in _take).
    friends: bool = False

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
            t = phone_clocks.by_service(tx, device, fix.t_ms)  # as it would be kept
            if t >= walk.started_at - START_SLACK_MS and not is_stored(
                tx.conn, walk.id, device.id, t
            ):
                return True
    return False


def _take(
    tx: Tx, device: Device, message: PhoneMessage, streets: StreetMap | None, base_url: str
) -> Taken:
    fixes, refused = _checked(message, tx.now_ms)
    if message.signal != OFFLINE:  # the broker's word that it lost the phone is not the phone's
        refused = _record(tx, device, fixes, message, streets) or refused
    walk = live_walk_of(tx.conn, device.person_id)
    on_walk = walk is not None and walk.walker_live
    # After her duress PIN ended the walk for her devices, it is live for the people looking
    # for her: her app is asked nothing (reporting.ask_of), so it stays in Move mode.
    held = walk is not None and walk.live and not on_walk
    news = devices.note_client(tx, device, message.client, on_walk, held=held)
    client = news.now
    if walk is not None and on_walk:
        _tell_of_the_phone(tx, walk, device, message, news)
    if message.charging is not None and walk is not None and walk.live:
        _charging(tx, walk, device, client, message.charging)
    # What says where she is or goes (her destination as a region, a tour's live link, her
    # walkers for a companion's map) answers only her OwnTracks app: a device that began as
    # OwnTracks (not Traccar Client, whose token travels in URLs, so in proxies' logs), and
    # with a key, only what it sealed with it (the token alone is not her app).
    locates = news.first is App.OWNTRACKS and not message.clear_with_key
    region = None
    if walk is not None and on_walk and walk.destination is not None:
        if _at_region(tx, walk, device, message.transition):
            refused = None
        if client.app is App.OWNTRACKS and not message.replayed and locates:
            region = devices.region_to_give(tx, device, walk.id, walk.destination)
    if message.sos:
        refused = phone_sos.take(tx, device, walk if on_walk else None, message.sos_ms) or refused
    elif walk is not None and on_walk:
        refused = phone_sos.judge_held(tx, device, walk) or refused
    tour = None
    if message.tour is not None and not message.replayed:
        # (its answer, or why not, is what is said of the message)
        tour, refused = _tour(tx, device, message, walk if on_walk else None, locates, base_url)
    if refused is not None:
        devices.note_refusal(tx, device, refused)
    return Taken(client, on_walk, news.ask_mode, region, tour, locates)


def _checked(message: PhoneMessage, now_ms: int) -> tuple[list[Fix], str | None]:
    """The message's fixes that can be kept (readings that can't be left out of them), and
    why one was refused, or readings left out: said if nothing worse is."""
    refused = message.refused
    fixes: list[Fix] = []
    noted: str | None = None  # readings left out of a kept position: said if nothing worse
    for sent in message.fixes:
        fix, left_out = without_impossible_extras(sent)
        try:
            check_fix(fix, now_ms)
        except Invalid as exc:
            refused = exc.message
        else:
            fixes.append(fix)
            if left_out and noted is None:
                noted = f"{'; '.join(left_out)}; the position was kept"
    return fixes, refused or noted


def _tell_of_the_phone(
    tx: Tx, walk: Walk, device: Device, message: PhoneMessage, news: devices.AppNews
) -> None:
    """On her walk's timeline, for her and her companions: how her app now reports (it is why
    "last seen" may be minutes ago), and what it says of the phone (why she has gone quiet,
    or that where it says she is may be faked: said once a walk, as a mocking phone says so
    every time)."""
    client = news.now
    if _reports_news(tx, walk.id, device, news.before, client):
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
    signal = message.signal
    if signal is None or (signal == MOCK_LOCATION and _said(tx, walk.id, device, MOCK_LOCATION)):
        return
    _say_signal(tx, walk, device, client.app, signal)


def _say_signal(tx: Tx, walk: Walk, device: Device, app: App, signal: str) -> None:
    """What her phone says of itself, on her walk's timeline (`phone_signal`)."""
    timeline.record(
        tx,
        walk.id,
        "phone_signal",
        audience=walk.everyone,
        device=device.name,
        app=app.value,
        signal=signal,
    )


def _tour(
    tx: Tx,
    device: Device,
    message: PhoneMessage,
    walk: Walk | None,
    locates: bool,
    base_url: str,
) -> tuple[dict[str, Any] | None, str | None]:
    """OwnTracks' Tours: the answer to the app's tour request, or why it was refused
    (usecases/tours.py; `walk`: her walk, live for her devices)."""
    assert message.tour is not None
    if not locates:
        return None, TOUR_NOT_HERE if message.clear_with_key else TOUR_NOT_OWNTRACKS
    asked = message.tour  # its times by our clock, as her fixes' are
    if asked.from_ms or asked.to_ms:
        asked = replace(
            asked,
            from_ms=phone_clocks.by_service(tx, device, asked.from_ms),
            to_ms=phone_clocks.by_service(tx, device, asked.to_ms),
        )
    return tours.take(tx, device.person_id, asked, walk, base_url, device.name)


TOUR_NOT_HERE = (
    "a tour asked in clear, and this device has an encryption key: set the same key in the "
    "app (docs/phones.md)"
)
TOUR_NOT_OWNTRACKS = (
    "a tour, from a device that did not begin as OwnTracks (Traccar Client, or the API): use a "
    "device of its own"
)


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
    _say_signal(tx, walk, device, App.OWNTRACKS, signal)
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
    tx: Tx, device: Device, fixes: list[Fix], message: PhoneMessage, streets: StreetMap | None
) -> str | None:
    """The message, through the one fix path: its fixes (if any), its heartbeat (one without
    a position: the phone is alive, so her walk is not silent, and its battery is read; the
    rules that need to know where she is are not moved by it), and that it came from her
    phone now (a message it posted itself, not one a broker relayed: her phone is alive when
    it arrives).

    With an SOS, the rest is only its companion: if it can't be kept (the walk changed at
    that instant), the SOS still goes through, and what came with it is the refusal kept for
    her to see, never a "send again" (the apps send an SOS once: Traccar Client 10.x never
    resends it, the old clients forget it)."""
    heard, refused = _heard(tx, device, message)
    if not message.sos:
        return _refused(record_fixes(tx, device, list(fixes), streets, heard)) or refused
    said = {walk_id: list(added) for walk_id, added in tx.touched.fixes.items()}
    try:
        with tx.savepoint():
            told = record_fixes(tx, device, list(fixes), streets, heard)
    except Conflict:
        tx.touched.fixes = said  # what the savepoint kept out isn't handed to the streams
        what = "fix" if fixes else "heartbeat" if message.alive_ms is not None else "message"
        return f"the {what} sent with an SOS came as the walk changed; the SOS was taken"
    return _refused(told) or refused


def _refused(outcomes: list[Outcome]) -> str | None:
    """Why a fix of the message was refused as it was kept (its time ahead of ours), or not
    kept (another position at the time of one kept already)."""
    said = (o.reason for o in outcomes if o.status in ("refused", "duplicate") and o.reason)
    return next(said, None)


def _heard(tx: Tx, device: Device, message: PhoneMessage) -> tuple[Heard, str | None]:
    """What the message says of her phone besides its fixes, and why its heartbeat's time is
    refused, if it is (the message still came from her phone)."""
    # Straight from her phone (HTTP): alive as it arrives. Through a broker, which may hand
    # over a backlog her phone sent before it died, only its fixes' own times say so.
    arrived = not message.replayed and not message.relayed
    alive_ms = message.alive_ms
    if alive_ms is not None and alive_ms > tx.now_ms + MAX_ERROR_MS:
        return Heard(arrived, charging=bool(message.charging)), (
            "timestamp is in the future: check the phone's clock"
        )
    refused = None
    if alive_ms is not None and phone_clocks.ahead(tx, device, alive_ms):
        refused = "timestamp is in the future: check the phone's clock"
    heard = Heard(
        arrived,
        alive_ms,
        message.alive_battery,
        clock=not message.replayed,
        charging=bool(message.charging),
    )
    return heard, refused


def _charging(tx: Tx, walk: Walk, device: Device, client: Client, charging: bool) -> None:
    """Her phone was put on its charger, or taken off it, during the walk: said once each
    time on the timeline, for her and her companions (after her duress PIN, for them only:
    they are the ones looking for her, and they keep hearing of her real walk)."""
    if devices.note_charging(tx, device, walk.id, charging):
        _say_signal(tx, walk, device, client.app, CHARGING if charging else NOT_CHARGING)


def _reports_news(tx: Tx, walk_id: int, device: Device, before: Client | None, now: Client) -> bool:
    """How often the phone reports is news for this walk's timeline: it changed in a way she
    is told of, or it is to be set differently and this walk hasn't said so yet (a phone set
    the same way before the walk began: her companions were never told, an outside review)."""
    if _told_differently(before, now):
        return True
    if now.advice is None:
        return False  # (the common case: no read of the timeline for a phone set right)
    rows = tx.conn.execute(
        sa.select(events.c.data).where(
            events.c.walk_id == walk_id, events.c.kind == "phone_reports"
        )
    )
    return not any(r.data.get("device") == device.name for r in rows)


def _said(tx: Tx, walk_id: int, device: Device, signal: str) -> bool:
    """This device's signal is on the walk's timeline already."""
    rows = tx.conn.execute(
        sa.select(events.c.data).where(events.c.walk_id == walk_id, events.c.kind == "phone_signal")
    )
    return any(r.data.get("device") == device.name and r.data.get("signal") == signal for r in rows)


def _told_differently(before: Client | None, now: Client) -> bool:
    """Worth a word on the walk's timeline: the first news of an app she should set
    differently, or a change in how often it reports that she was or is to be told of."""
    if before is None:
        return now.advice is not None
    return before.reports is not now.reports and (before.advice or now.advice) is not None
