"""A message from a phone app (OwnTracks, Traccar Client), once its door has read it: what
the app says of itself is remembered, its fix takes the one fix path, its SOS raises the
alarm. All in one writer job, so the phone is answered only once everything is committed.

A message that can't be used (no position in it, a malformed field, an SOS with no walk
going on) is kept as the device's last refusal for her to see, and the phone is answered 2xx
all the same: a 4xx would make iOS drop it and Android resend it forever.
"""

from __future__ import annotations

from dataclasses import dataclass

from walkwithme.domain.errors import Invalid
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
            record_fixes(tx, device, [message.fix], streets)
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
            alarms.sos(tx, walk.id, device.person_id)
        else:
            refused = NO_WALK_SOS
    if refused is not None:
        devices.note_refusal(tx, device, refused)
    return Taken(client, on_walk, news.ask_mode)


def _told_differently(before: Client | None, now: Client) -> bool:
    """Worth a word on the walk's timeline: the first news of this app, or a change in how
    often it reports."""
    if before is None:
        return now.reports is not Reports.OFTEN
    return before.reports is not now.reports
