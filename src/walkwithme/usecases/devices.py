"""A walker's phones: each posts fixes with its own token, shown once, stored as a hash."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Conflict, Invalid, NotFound
from walkwithme.domain.people import check_name
from walkwithme.domain.phone_clock import clock_said
from walkwithme.domain.reporting import App, Client, ask_of
from walkwithme.domain.walks import LIVE_VALUES, Destination, WalkState
from walkwithme.ingest.owntracks_crypto import new_key
from walkwithme.security import new_token, token_hash
from walkwithme.store.schema import devices, insert_id, people, walks
from walkwithme.store.tx import Tx

# A disabled person's devices stop working (usecases/people.py), and work again once enabled.
_enabled = people.c.disabled_at.is_(None)
# Her account is deleted but for the silent alarm that still needs her walk (usecases/deletion.py),
# or she removed this phone while it does (`revoke_device`).
_gone = sa.or_(people.c.delete_at.is_not(None), devices.c.removed_at.is_not(None)).label("gone")
# Hers, as her devices see them: not revoked, nor removed (what a revoked phone gets, a
# removed one gets: no browser's device reused, no position asked, no friends' cards).
KEPT = sa.and_(devices.c.revoked_at.is_(None), devices.c.removed_at.is_(None))


@dataclass(frozen=True)
class Device:
    id: int
    person_id: int
    name: str
    # Her account was deleted after her duress PIN, and waits for the silent alarm to end:
    # what the phone sends is taken (it still reaches the people looking for her), and the
    # phone is answered as a deleted account's phone is (as if its token were unknown).
    gone: bool = False
    began: str | None = None  # the app it first reported as (`first_app`), as read


def add_device(
    tx: Tx, person_id: int, name: str, owntracks_topic: str | None = None
) -> tuple[Device, str]:
    """Returns the device and its token: the only time anyone sees the token.
    `owntracks_topic`: the MQTT topic its OwnTracks publishes to (the operator's to bind:
    the broker's ACLs say who may publish there, so a person can't claim someone's topic)."""
    token = new_token("dev")
    clean = check_name(name)
    topic = check_topic(owntracks_topic) if owntracks_topic is not None else None
    if topic is not None and device_for_topic(tx.conn, topic) is not None:
        raise Conflict("another device has this topic already", field="owntracks_topic")
    device_id = insert_id(
        tx.conn,
        devices,
        person_id=person_id,
        name=clean,
        token_hash=token_hash(token),
        created_at=tx.now_ms,
        owntracks_topic=topic,
    )
    return Device(device_id, person_id, clean), token


_TOPIC = re.compile(r"owntracks/[^/+#\s]{1,80}/[^/+#\s]{1,80}")


def check_topic(topic: str) -> str:
    if not _TOPIC.fullmatch(topic):
        raise Invalid(
            "an OwnTracks topic is owntracks/<user>/<device>, without wildcards",
            field="owntracks_topic",
        )
    if topic.rsplit("/", 1)[-1].startswith("walkwithme-"):
        # Where the server shows walkers on companions' maps (mqtt_friends.py).
        raise Invalid(
            "a device's name in its topic can't begin with walkwithme- (the server's own)",
            field="owntracks_topic",
        )
    return topic


def device_for_topic(conn: Connection, topic: str) -> Device | None:
    row = conn.execute(
        sa.select(devices.c.id, devices.c.person_id, devices.c.name, _gone)
        .join(people, people.c.id == devices.c.person_id)
        .where(devices.c.owntracks_topic == topic, devices.c.revoked_at.is_(None), _enabled)
    ).first()
    return Device(row.id, row.person_id, row.name, bool(row.gone)) if row else None


def device_for_token(conn: Connection, token: str) -> Device | None:
    row = conn.execute(
        sa.select(devices.c.id, devices.c.person_id, devices.c.name, _gone, devices.c.first_app)
        .join(people, people.c.id == devices.c.person_id)
        .where(devices.c.token_hash == token_hash(token), devices.c.revoked_at.is_(None), _enabled)
    ).first()
    if row is None:
        return None
    return Device(row.id, row.person_id, row.name, bool(row.gone), row.first_app)


def list_devices(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    """Her phones, with what their apps said of themselves and the last message that could
    not be used (so she can see why a phone's messages don't count)."""
    rows = conn.execute(
        sa.select(
            devices.c.id,
            devices.c.name,
            devices.c.created_at,
            devices.c.last_seen_at,
            devices.c.report_gap_ms,
            devices.c.app,
            devices.c.app_mode,
            devices.c.last_refused_at,
            devices.c.last_refusal,
            devices.c.owntracks_topic,
            devices.c.clock_offset_ms,
        )
        .where(devices.c.person_id == person_id, KEPT)
        .order_by(devices.c.id)
    )
    found = []
    for r in rows:
        item = dict(r._mapping)
        client = _client(r.app, r.app_mode)
        item["reports"] = client.reports.value if client else None
        item["advice"] = client.advice_after(r.report_gap_ms) if client else None
        # Its clock, when it is off and its times are corrected (usecases/phone_clocks.py).
        item["clock"] = clock_said(item.pop("clock_offset_ms"))
        found.append(item)
    return found


def _client(app: str | None, mode: str | None) -> Client | None:
    return Client(App(app), mode) if app else None


@dataclass(frozen=True)
class AppNews:
    """What a phone's message changed in what is known of its app."""

    before: Client | None  # what was known of the app
    now: Client  # what is known now
    ask_mode: str | None  # an OwnTracks mode to ask it for (domain/reporting.ask_of)
    first: App | None  # the app it first reported as (devices.first_app; None: the API's)


# `devices.first_app` of a device whose first message came to the service's own door
# (`POST /api/fixes`, as `walkwithme replay` posts): no phone app, so never "her OwnTracks".
BY_THE_API = "api"


def began_at_the_api(tx: Tx, device: Device) -> None:
    """Its first message came to `POST /api/fixes`: a later OwnTracks message with its token
    is not her OwnTracks app (tours and her destination answered it: an outside review).
    Written once: not if the device as read says how it began, nor again by this process
    (a statement per batch otherwise). Remembered in the writer's memo, which a failed group
    empties (`tx.learned` outlived a batch the database refused: never written, and the
    token then counted as OwnTracks; a review). Its door submits with `memo=True`."""
    key = ("began", device.id)
    if device.began is not None or tx.memo.get(key):
        return
    tx.conn.execute(
        devices.update()
        .where(devices.c.id == device.id, devices.c.first_app.is_(None))
        .values(first_app=BY_THE_API)
    )
    tx.memo[key] = True


def note_client(
    tx: Tx, device: Device, client: Client, on_walk: bool, *, held: bool = False
) -> AppNews:
    """Remember what the app said of itself, and what it was asked to leave for a walk (so
    it is given back after): one read, and a write only if something changed. `held`: her
    walk is over for her devices but live for the people looking for her (`ask_of`)."""
    row = tx.conn.execute(
        sa.select(
            devices.c.app, devices.c.app_mode, devices.c.asked_from_mode, devices.c.first_app
        ).where(devices.c.id == device.id)
    ).one()
    before = _client(row.app, row.app_mode)
    now = client.after(before)
    ask = ask_of(now, on_walk, row.asked_from_mode, held=held)
    first_app = row.first_app or now.app.value
    first = None if first_app == BY_THE_API else App(first_app)
    if now != before or ask.asked_from != row.asked_from_mode or row.first_app is None:
        tx.conn.execute(
            devices.update()
            .where(devices.c.id == device.id)
            .values(
                app=now.app.value,
                app_mode=now.mode,
                asked_from_mode=ask.asked_from,
                first_app=first_app,
            )
        )
    return AppNews(before, now, ask.mode, first)


def region_to_give(tx: Tx, device: Device, walk_id: int, dest: Destination) -> Destination | None:
    """The walk's destination, the first time this device's app is answered during the walk
    (then it has been given the region: None)."""
    done = tx.conn.execute(
        devices.update()
        .where(
            devices.c.id == device.id,
            sa.or_(devices.c.region_walk_id.is_(None), devices.c.region_walk_id != walk_id),
        )
        .values(region_walk_id=walk_id)
    )
    return dest if done.rowcount == 1 else None


def note_charging(tx: Tx, device: Device, walk_id: int, charging: bool) -> bool:
    """Remember whether the phone is on its charger during this walk. True: it started or
    stopped charging since the walk last heard (worth a word on its timeline, once). The
    first word of a walk is only remembered: it is how the phone was, not a change."""
    row = tx.conn.execute(
        sa.select(devices.c.charging, devices.c.charging_walk_id).where(devices.c.id == device.id)
    ).one()
    same_walk = row.charging_walk_id == walk_id
    if same_walk and row.charging is charging:
        return False
    tx.conn.execute(
        devices.update()
        .where(devices.c.id == device.id)
        .values(charging=charging, charging_walk_id=walk_id)
    )
    return same_walk and row.charging is not None


def note_sos(tx: Tx, device: Device, sos_ms: int | None) -> bool:
    """Her phone's SOS, pressed at `sos_ms` by its own clock (None: it didn't say), is taken:
    whether this device's last SOS taken was that same one (the app sending it again after
    an answer it lost)."""
    if sos_ms is None:
        return False
    last = tx.conn.execute(
        sa.select(devices.c.sos_at).where(devices.c.id == device.id)
    ).scalar_one_or_none()
    if last == sos_ms:
        return True
    tx.conn.execute(devices.update().where(devices.c.id == device.id).values(sos_at=sos_ms))
    return False


def note_refusal(tx: Tx, device: Device, reason: str) -> None:
    """A message we read but could not use: answered 2xx (a 4xx would block or drop the
    phone's queue), and kept here for her to see."""
    tx.conn.execute(
        devices.update()
        .where(devices.c.id == device.id)
        .values(last_refused_at=tx.now_ms, last_refusal=reason[:200])
    )


def advice_for(conn: Connection, person_id: int) -> list[str]:
    """What she should change in her phones' apps before a walk, one line a phone."""
    return [f"{d['name']}: {d['advice']}" for d in list_devices(conn, person_id) if d["advice"]]


def owntracks_key(conn: Connection, device_id: int) -> str | None:
    """The device's OwnTracks encryption key, if it has one."""
    key: str | None = conn.execute(
        sa.select(devices.c.owntracks_key).where(devices.c.id == device_id)
    ).scalar_one_or_none()
    return key


def set_owntracks_key(tx: Tx, person_id: int, device_id: int) -> str:
    """A new OwnTracks encryption key for her device (the old one stops working): shown once,
    to type into the app (Encryption key). Returns it."""
    key = new_key()
    done = tx.conn.execute(
        devices.update()
        .where(
            devices.c.id == device_id,
            devices.c.person_id == person_id,
            KEPT,
        )
        .values(owntracks_key=key)
    )
    if done.rowcount != 1:
        raise NotFound("no such device")
    return key


def revoke_device(tx: Tx, person_id: int, device_id: int) -> None:
    """Her phone's token revoked: its next message is refused. As her devices see her walks:
    refused during an alarm they are shown (the people looking for her follow its positions),
    and while her duress PIN's silent alarm holds, answered as done and the phone answered
    as revoked from now, but what it sends still reaches the people looking for her (cut at
    once, whoever held her phone ended the track they followed: an outside review), and it
    is revoked for good once the alarm is over (`revoke_removed`)."""
    live = tx.conn.execute(
        sa.select(walks.c.state, walks.c.cover_state).where(
            walks.c.walker_id == person_id, walks.c.state.in_(LIVE_VALUES)
        )
    ).all()
    if any((w.cover_state or w.state) == WalkState.ALARM.value for w in live):
        raise Conflict(
            "a phone can't be removed during an alarm: the people looking for you follow "
            "where it says you are; try again once the alarm is over"
        )
    silent = any(w.cover_state is not None for w in live)
    # (Revoked, the topic is free again and its key of no more use.)
    values: dict[str, Any] = (
        {"removed_at": tx.now_ms}
        if silent
        else {"revoked_at": tx.now_ms, "owntracks_topic": None, "owntracks_key": None}
    )
    done = tx.conn.execute(
        devices.update()
        .where(devices.c.id == device_id, devices.c.person_id == person_id, KEPT)
        .values(**values)
    )
    if done.rowcount != 1:
        raise NotFound("no such device")
    tx.revoked(device_id)  # every process reads it again: answered as revoked from now


def removed_due(conn: Connection) -> list[int]:
    """The phones she removed during a silent alarm that is over now (`revoke_device`)."""
    still = sa.select(walks.c.walker_id).where(
        walks.c.state.in_(LIVE_VALUES), walks.c.cover_state.is_not(None)
    )
    rows = conn.execute(
        sa.select(devices.c.id).where(
            devices.c.removed_at.is_not(None),
            devices.c.revoked_at.is_(None),
            devices.c.person_id.not_in(still),
        )
    )
    return [device_id for (device_id,) in rows]


def revoke_removed(tx: Tx, device_ids: list[int]) -> None:
    """Revoked for good, now the silent alarm is over: the topic free, the key gone."""
    for device_id in device_ids:
        tx.conn.execute(
            devices.update()
            .where(devices.c.id == device_id)
            .values(revoked_at=tx.now_ms, owntracks_topic=None, owntracks_key=None)
        )
        tx.revoked(device_id)
