"""Deleting a person: everything that names or locates them goes.

Their walks (with their tracks, timelines, links, alerts and who looked), phones, channels,
places, sessions, contacts, offers and mutes are deleted with their account. In other people's
walks, what they did stays as something that happened ("a former contact is on it"), with
neither their name nor their words: their messages there are removed. Each of their contacts
is told only that a contact ended, without a name.

Refused while they are on someone's alarm ("I'm on it": the others count on them), and
while one of their own walks is live: during an alarm (say why: the people looking for
her need the walk), and during a walk (her companions are following it; end it first). After
her duress PIN the walk is over as far as her devices know, and a refusal would give the
silent alarm away: the deletion is answered as done, and to anyone outside the account is gone
(her sessions end, her address is free again for a sign-up, signing in with it finds no
account, her phones are answered as a deleted account's: `Device.gone`), while the rest waits
until the alarm is resolved (`people.delete_at`), when the watchdog finishes it: her walk, and
her phones' positions still reaching the people looking for her, are theirs until then.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Conflict
from walkwithme.domain.walks import LIVE_VALUES, WalkState
from walkwithme.store.schema import (
    alerts,
    channels,
    contacts,
    devices,
    events,
    invites,
    people,
    sessions,
    throttles,
    walk_companions,
    walks,
)
from walkwithme.store.tx import Tx
from walkwithme.usecases import alerts as alerting
from walkwithme.usecases import throttle

FORMER = {"name": "a former contact"}


def _live_walks(conn: Connection, person_id: int) -> list[Any]:
    """Her live walks: one, or more while a silent alarm holds an earlier one open."""
    return list(
        conn.execute(
            sa.select(walks.c.id, walks.c.state, walks.c.cover_state).where(
                walks.c.walker_id == person_id, walks.c.state.in_(LIVE_VALUES)
            )
        ).all()
    )


def request(tx: Tx, person_id: int, *, by_operator: bool = False) -> bool:
    """Delete now (True), or, under a duress cover, end her sessions and finish once the
    silent alarm is resolved (False). Refused during her own walk or alarm, as her devices
    see them: a walk she started after ending one with her duress PIN is hers as any other
    (an outside review deleted her mid-walk there, where her real PIN's walk got 409)."""
    live = _live_walks(tx.conn, person_id)
    shown = {WalkState(w.cover_state or w.state) for w in live}  # what her devices see
    # (`by_operator`: said to the operator, of them, not to them: "your account" read oddly.)
    if WalkState.ALARM in shown:
        raise Conflict(
            "this person is in an alarm: the people looking for them need their walk until "
            "they resolve it; try again once it is over"
            if by_operator
            else "your account can't be deleted during an alarm: the people looking for you "
            "need your walk until they resolve it"
        )
    if shown & {WalkState.ACTIVE, WalkState.AT_DOOR}:
        raise Conflict(
            "this person is on a walk now: their companions are following it; try again once "
            "the walk is over"
            if by_operator
            else "your account can't be deleted during a walk: your companions are following "
            "it; end the walk first"
        )
    if _on_an_alarm(tx.conn, person_id):
        raise Conflict(
            "this person said they are on someone's alarm, which is not over: the people "
            "looking for her count on them; try again once it is resolved"
            if by_operator
            else "your account can't be deleted while you are on someone's alarm: the others "
            "count on you until it is resolved; tell them if you can't help, and try again "
            "once it is over"
        )
    if live:  # each one a silent alarm's, over for her devices
        _gone_outside(tx, person_id)
        return False
    delete(tx, person_id)
    return True


def _on_an_alarm(conn: Connection, person_id: int) -> bool:
    """Whether they said "I'm on it" to an alarm that is still on. Deleted, they stayed on it
    as "a former contact is on it", its ladder held back for them, whom nobody could call or
    write to any more (an outside review): ending the contact keeps them on it, and so must
    this."""
    said = (
        sa.select(events.c.id)
        .where(
            events.c.walk_id == walks.c.id,
            events.c.kind == "alarm_acknowledged",
            events.c.actor_id == person_id,
            events.c.at >= walks.c.alarm_at,
        )
        .exists()
    )
    on_it = sa.select(walks.c.id).where(walks.c.state == WalkState.ALARM.value, said).limit(1)
    return conn.execute(on_it).first() is not None


def _gone_outside(tx: Tx, person_id: int) -> None:
    """Deleted, for anyone outside, while her silent alarm still needs her walk: what a
    finished deletion shows (no session, no account at her address, no phone that works) is
    shown now, or whoever holds her phone could tell the two apart."""
    email = tx.conn.execute(sa.select(people.c.email).where(people.c.id == person_id)).scalar_one()
    tx.conn.execute(sessions.delete().where(sessions.c.person_id == person_id))
    tx.conn.execute(throttles.delete().where(throttles.c.key.in_(throttle.account_keys(email))))
    tx.conn.execute(
        people.update()
        .where(people.c.id == person_id)
        # `.invalid` is never an address anyone has (RFC 2606): hers is free again.
        .values(delete_at=tx.now_ms, email=f"deleted-{person_id}@deletion.invalid")
    )
    for (device_id,) in tx.conn.execute(
        sa.select(devices.c.id).where(devices.c.person_id == person_id)
    ).all():
        tx.revoked(device_id)  # every process reads it again, and answers it as gone


def deferred(conn: Connection) -> list[int]:
    """People whose deletion waited for a silent alarm that is over now."""
    waiting = conn.execute(sa.select(people.c.id).where(people.c.delete_at.is_not(None)))
    return [p for (p,) in waiting if not _live_walks(conn, p)]


def _scrub(value: Any, person_id: int, name: str) -> Any:
    """`value` with every mention of the person (a `{"id", "name"}` of theirs, their name)
    replaced by "a former contact"."""
    if isinstance(value, dict):
        if value.get("id") == person_id or (
            set(value) <= {"id", "name", "phone"} and value.get("name") == name
        ):
            return dict(FORMER)
        return {k: _scrub(v, person_id, name) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, person_id, name) for v in value]
    if value == name:
        return FORMER["name"]
    return value


def delete(tx: Tx, person_id: int) -> None:
    row = tx.conn.execute(
        sa.select(people.c.name, people.c.email).where(people.c.id == person_id)
    ).first()
    if row is None:
        return
    name, email = row
    others = {
        r.other
        for r in tx.conn.execute(
            sa.select(
                sa.case(
                    (contacts.c.owner_id == person_id, contacts.c.member_id),
                    else_=contacts.c.owner_id,
                ).label("other")
            ).where(
                sa.or_(contacts.c.owner_id == person_id, contacts.c.member_id == person_id),
                contacts.c.state.in_(("pending", "accepted")),
            )
        )
    }
    # What they did in other people's walks: it happened, but it no longer says who, and
    # their words are gone.
    followed = sa.select(walk_companions.c.walk_id).where(walk_companions.c.person_id == person_id)
    for event_id, kind, actor, data in tx.conn.execute(
        sa.select(events.c.id, events.c.kind, events.c.actor_id, events.c.data).where(
            sa.or_(events.c.actor_id == person_id, events.c.walk_id.in_(followed))
        )
    ).all():
        kept = _scrub(data, person_id, name)
        if kind == "message" and actor == person_id:
            kept = {**kept, "text": "(removed)"}
        if kept != data or actor == person_id:
            tx.conn.execute(
                events.update().where(events.c.id == event_id).values(data=kept, actor_id=None)
            )
    for alert_id, payload in tx.conn.execute(sa.select(alerts.c.id, alerts.c.payload)).all():
        kept = _scrub(payload, person_id, name)
        if kept != payload:
            tx.conn.execute(alerts.update().where(alerts.c.id == alert_id).values(payload=kept))
    tx.conn.execute(
        invites.update().where(invites.c.created_by == person_id).values(created_by=None)
    )
    tx.conn.execute(invites.update().where(invites.c.used_by == person_id).values(used_by=None))
    her_channels = [
        c
        for (c,) in tx.conn.execute(
            sa.select(channels.c.id).where(channels.c.person_id == person_id)
        )
    ]
    counted = throttle.account_keys(email) + throttle.person_keys(person_id, her_channels)
    tx.conn.execute(throttles.delete().where(throttles.c.key.in_(counted)))
    # Every stream that shows her (her walks, the walks she follows) checks again, at once.
    for (walk_id,) in tx.conn.execute(
        sa.select(walks.c.id)
        .outerjoin(walk_companions, walk_companions.c.walk_id == walks.c.id)
        .where(
            sa.or_(walks.c.walker_id == person_id, walk_companions.c.person_id == person_id),
            walks.c.state.in_(LIVE_VALUES),
        )
    ).all():
        tx.touch(walk_id, access=True)
    # Her phones' tokens stop working in every process at once, not a minute later.
    for (device_id,) in tx.conn.execute(
        sa.select(devices.c.id).where(devices.c.person_id == person_id)
    ).all():
        tx.revoked(device_id)
    # Her own walks first (their timelines, tracks, links, alerts and looks go with them),
    # then the account: every other row that is hers goes with it (ON DELETE CASCADE).
    tx.conn.execute(walks.delete().where(walks.c.walker_id == person_id))
    tx.conn.execute(people.delete().where(people.c.id == person_id))
    if others:
        alerting.enqueue(tx, None, "contact_ended", {"kind": "contact_ended"}, sorted(others))
