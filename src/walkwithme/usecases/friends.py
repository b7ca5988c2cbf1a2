"""Friends on a companion's OwnTracks map (HTTP mode): while a walk is live, each answer to
his app's posts carries the walker's card (her name) and her latest location, as the apps
take friends from an HTTP answer (ingest/owntracks.py `friend_items`). Each walker keeps her
`tid` on his map whatever walks start or end (`tracker_ids`).

Only that walk's companions get it, only during the walk, and only while their contact with
her stands (the one rule, walks.audience_of). After her duress PIN the companions follow the
real walk, so they get her real position (the walk's own `last_*`, not what her devices see).

Nothing removes a friend from the apps over HTTP (ingest/owntracks.py says where in their
source), so after the walk the contact stays on his map at its last position, with that
position's time. For a while after the walk (`WALK_OVER_MS`) his app's answers rename her
card "<name> (walk over)", and carry no location: the stale friend then says what it is.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.friends import Friend, Position
from walkwithme.domain.walks import LIVE_VALUES
from walkwithme.store.schema import contacts as contacts_table
from walkwithme.store.schema import devices, people, walk_companions, walks
from walkwithme.usecases import contacts
from walkwithme.usecases.devices import KEPT
from walkwithme.usecases.timeline import Audience
from walkwithme.usecases.walk_record import Walk
from walkwithme.usecases.walk_store import get_walk
from walkwithme.usecases.walks import audience_of

# How long after a walk his app is still told that it is over (its card renamed).
WALK_OVER_MS = 12 * 3600_000


def friends_of(conn: Connection, person_id: int, now_ms: int) -> list[Friend]:
    """The walkers this person follows now (their live walks, newest first), and those
    whose walk with him ended in the last `WALK_OVER_MS`: one each."""
    rows = conn.execute(
        sa.select(walks.c.id, walks.c.walker_id, people.c.name)
        .join(walk_companions, walk_companions.c.walk_id == walks.c.id)
        .join(people, people.c.id == walks.c.walker_id)
        .where(
            walk_companions.c.person_id == person_id,
            sa.or_(walks.c.state.in_(LIVE_VALUES), walks.c.ended_at > now_ms - WALK_OVER_MS),
        )
        .order_by(walks.c.id.desc())
    ).all()
    names = {r.id: str(r.name) for r in rows}
    found_walks = [w for w in (get_walk(conn, r.id) for r in rows) if w is not None]
    tids = tracker_ids(conn, person_id)
    found: list[Friend] = []
    seen: set[int] = set()
    # Live walks first, so that a walker's live walk wins over an earlier one of hers.
    for walk in sorted(found_walks, key=lambda w: (not w.live, -w.id)):
        if walk.walker_id in seen:
            continue
        tid = tids.get(walk.walker_id)
        if tid is None:  # on her walk without a contact of hers: after the others
            tid = tids[walk.walker_id] = tracker_id(names[walk.id], set(tids.values()))
        friend = _friend(conn, walk, person_id, names[walk.id], tid)
        if friend is not None:
            seen.add(walk.walker_id)
            found.append(friend)
    return found


def tracker_ids(conn: Connection, person_id: int) -> dict[int, str]:
    """The tid of each walker this person follows or ever was asked to, by her person id.

    The apps file a friend from an HTTP answer under `owntracks/http/<tid>` and skip a
    location no newer than the one that contact has, so a tid must always mean the same
    walker on his map: given to the walkers of one answer in the order of their walks, a
    second "MV" starting a walk took "MV" over, and his map showed one walker's name at the
    other's position. So tids are given over everyone who ever asked him to follow them, in
    the order they first asked (his contacts with them, of any role, ended or not, are kept):
    a walk that starts or ends, a contact that ends or is made again, changes nobody's tid,
    and a new contact is given one nobody had. Not the walker's person id alone: two
    characters can't number every account, and her initials are what his map shows of her
    (a walker who renames herself, or whose account is deleted, can still move the tids of
    those who asked him after her: they are given in turn, and hers was taken or freed)."""
    rows = conn.execute(
        sa.select(contacts_table.c.owner_id, people.c.name)
        .join(people, people.c.id == contacts_table.c.owner_id)
        .where(contacts_table.c.member_id == person_id)
        .group_by(contacts_table.c.owner_id, people.c.name)
        .order_by(sa.func.min(contacts_table.c.id))
    )
    tids: dict[int, str] = {}
    taken: set[str] = set()
    for row in rows:
        tids[row.owner_id] = tid = tracker_id(str(row.name), taken)
        taken.add(tid)
    return tids


def _friend(conn: Connection, walk: Walk, person_id: int, name: str, tid: str) -> Friend | None:
    if walk.live:
        if audience_of(conn, walk, person_id) is not Audience.COMPANION:
            return None
        last, position = walk.last, None
        if last.at is not None and last.lat is not None and last.lon is not None:
            position = Position(
                last.at,
                last.lat,
                last.lon,
                last.accuracy_m,
                last.speed_mps,
                last.bearing_deg,
                last.battery_pct,
            )
        return Friend(walk.id, walk.walker_id, tid, name, over=False, position=position)
    # Over: only someone still her companion hears that it is over (and nothing more).
    if not contacts.is_accepted_companion(conn, walk.walker_id, person_id):
        return None
    return Friend(walk.id, walk.walker_id, tid, name, over=True)


@dataclass(frozen=True)
class Follower:
    """A companion's OwnTracks in MQTT mode (a device bound to a topic), and whom it shows."""

    topic: str  # the topic his app publishes to: `owntracks/<user>/<device>`
    key: str | None  # his app's encryption key, if it has one: what it is sent is sealed with it
    viewer_id: int
    friends: list[Friend]


def mqtt_followers(conn: Connection, now_ms: int) -> list[Follower]:
    """Every OwnTracks bound to an MQTT topic whose owner follows a walk now (or followed one
    that ended in the last `WALK_OVER_MS`), with the walkers it shows: `friends_of` each."""
    recent = sa.or_(walks.c.state.in_(LIVE_VALUES), walks.c.ended_at > now_ms - WALK_OVER_MS)
    rows = conn.execute(
        sa.select(devices.c.owntracks_topic, devices.c.owntracks_key, devices.c.person_id)
        .join(people, people.c.id == devices.c.person_id)
        .where(
            devices.c.owntracks_topic.is_not(None),
            KEPT,
            people.c.disabled_at.is_(None),
            devices.c.person_id.in_(
                sa.select(walk_companions.c.person_id)
                .join(walks, walks.c.id == walk_companions.c.walk_id)
                .where(recent)
            ),
        )
        .order_by(devices.c.id)
    ).all()
    found: dict[int, list[Friend]] = {}
    for row in rows:
        if row.person_id not in found:
            found[row.person_id] = friends_of(conn, row.person_id, now_ms)
    return [
        Follower(row.owntracks_topic, row.owntracks_key, row.person_id, found[row.person_id])
        for row in rows
    ]


def tracker_id(name: str, taken: Collection[str] = ()) -> str:
    """Two characters for her marker on the map: her initials ("Mira Virtanen": "MV"), or the
    first two letters of a one-word name ("Mira": "MI"); another if one answer has it."""
    words: list[str] = re.findall(r"[^\W_]+", name)
    if len(words) >= 2:
        first = (words[0][0] + words[1][0]).upper()
    elif words:
        first = words[0][:2].upper()
    else:
        first = "WW"
    for candidate in [first, *(first[0] + str(n) for n in range(1, 10))]:
        if candidate not in taken:
            return candidate
    return next((tid for tid in _OTHER_TIDS if tid not in taken), str(len(taken)))


# After her initials and their numbered variants: W0 to Z9, then any other pair.
_PAIRS = [f"{a}{b}" for a in "WXYZ" for b in "0123456789"]
_ALNUM = string.ascii_uppercase + string.digits
_OTHER_TIDS = _PAIRS + [f"{a}{b}" for a in _ALNUM for b in _ALNUM if f"{a}{b}" not in _PAIRS]
