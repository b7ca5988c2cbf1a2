"""A message from a phone app (OwnTracks, Traccar Client), once its door has read it: what
the app says of itself is remembered, its fix takes the one fix path, its SOS raises the
alarm. All in one writer job, so the phone is answered only once everything is committed.

A message that can't be used (no position in it, a malformed field, an SOS with no walk
going on) is kept as the device's last refusal for her to see, and the phone is answered 2xx
all the same: a 4xx would make iOS drop it and Android resend it forever.
"""

from __future__ import annotations

from dataclasses import dataclass

from walkwithme.domain.errors import Conflict, Invalid
from walkwithme.domain.fixes import check_fix
from walkwithme.domain.reporting import Client, Reports
from walkwithme.ingest import PhoneMessage
from walkwithme.store.writer import Tx
from walkwithme.streets import StreetMap
from walkwithme.usecases import alarms, devices, timeline
from walkwithme.usecases.devices import Device
from walkwithme.usecases.fixes import record_fixes
from walkwithme.usecases.walks import live_walk_of

NO_WALK_SOS = "SOS with no walk going on: nobody is following you. Start a walk first."


@dataclass(frozen=True)
class Taken:
    client: Client  # what is now known of the app
    on_walk: bool  # her walk is live (as her devices see it)
    ask_mode: str | None = None  # an OwnTracks mode to ask the app for (reporting.ask_of)


def take(tx: Tx, device: Device, message: PhoneMessage, streets: StreetMap | None = None) -> Taken:
    refused = message.refused
    if message.fix is not None:
        try:
            check_fix(message.fix, tx.now_ms)
        except Invalid as exc:
            refused = exc.message
        else:
            refused = _record(tx, device, message, streets) or refused
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
    if message.sos:
        if walk is not None and on_walk:
            _sos(tx, walk.id, device.person_id)
        else:
            refused = NO_WALK_SOS
    if refused is not None:
        devices.note_refusal(tx, device, refused)
    return Taken(client, on_walk, news.ask_mode)


def _record(tx: Tx, device: Device, message: PhoneMessage, streets: StreetMap | None) -> str | None:
    """The message's fix, through the one fix path. With an SOS, the fix is only its
    companion: if it can't be kept (the walk changed at that instant), the SOS still goes
    through, and the fix is the refusal kept for her to see, never a "send again" (the apps
    send an SOS once: Traccar Client 10.x never resends it, the old clients forget it)."""
    assert message.fix is not None
    if not message.sos:
        record_fixes(tx, device, [message.fix], streets)
        return None
    said = {walk_id: list(added) for walk_id, added in tx.touched.fixes.items()}
    try:
        with tx.conn.begin_nested():
            record_fixes(tx, device, [message.fix], streets)
    except Conflict:
        tx.touched.fixes = said  # what the savepoint kept out isn't handed to the streams
        return "the fix sent with an SOS came as the walk changed; the SOS was taken"
    return None


SOS_TRIES = 3


def _sos(tx: Tx, walk_id: int, walker_id: int) -> None:
    """Her SOS, taken even if the walk changes at that very instant (another process's
    writer, on PostgreSQL): read again and raise it on the walk as it now is."""
    for attempt in range(SOS_TRIES):
        try:
            with tx.conn.begin_nested():
                alarms.sos(tx, walk_id, walker_id)
            return
        except Conflict:
            if attempt == SOS_TRIES - 1:
                raise


def _told_differently(before: Client | None, now: Client) -> bool:
    """Worth a word on the walk's timeline: the first news of this app, or a change in how
    often it reports."""
    if before is None:
        return now.reports is not Reports.OFTEN
    return before.reports is not now.reports
