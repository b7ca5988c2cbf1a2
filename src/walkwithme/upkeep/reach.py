"""Who an alarm would reach, counted for the operator (`walkwithme check`): how many people
have no channel that has worked, and how many walkers no companion who would hear her alarm.

The same test as the walk's start ("Nobody would hear an alarm": alerts.who_would_hear), so
the operator learns at the command line what a walker would otherwise learn only at her door.
Counts only: whose channels they are is theirs (each sees why on their channels page).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.people import ContactRole, ContactState
from walkwithme.store.schema import channels, contacts, people
from walkwithme.usecases.alerts import FAILING_AFTER, who_would_hear

# who_would_hear takes its people as one IN list: SQLite allows only so many parameters.
_CHUNK = 500


@dataclass(frozen=True)
class Reach:
    people: int  # accounts not disabled
    unheard: int  # of them, with no channel that has worked (and isn't failing now)
    walkers: int  # people with at least one companion who accepted
    alone: int  # of them, none of whose companions would hear an alarm
    untested: int  # channels never sent anything that arrived, nor failed yet
    never_worked: int  # channels tried and failed each time, not yet called failing


def reach(conn: Connection) -> Reach:
    ids = list(conn.execute(sa.select(people.c.id).where(people.c.disabled_at.is_(None))).scalars())
    heard: set[int] = set()
    for at in range(0, len(ids), _CHUNK):
        heard |= who_would_hear(conn, ids[at : at + _CHUNK])
    companions: dict[int, set[int]] = defaultdict(set)
    rows = conn.execute(
        sa.select(contacts.c.owner_id, contacts.c.member_id).where(
            contacts.c.role == ContactRole.COMPANION.value,
            contacts.c.state == ContactState.ACCEPTED.value,
        )
    )
    active = set(ids)
    for owner, member in rows:
        if owner in active:
            companions[owner].add(member)
    # A companion who is disabled is left out of `heard` above: ask about them too.
    others = sorted({m for ms in companions.values() for m in ms} - active)
    for at in range(0, len(others), _CHUNK):
        heard |= who_would_hear(conn, others[at : at + _CHUNK])
    never = sa.and_(
        channels.c.removed_at.is_(None),
        channels.c.broken_at.is_(None),
        channels.c.worked_at.is_(None),
    )
    untested, never_worked = conn.execute(
        sa.select(
            sa.func.count().filter(never, channels.c.failures == 0),
            sa.func.count().filter(
                never, channels.c.failures > 0, channels.c.failures < FAILING_AFTER
            ),
        )
    ).one()
    return Reach(
        people=len(ids),
        unheard=len(active - heard),
        walkers=len(companions),
        alone=sum(1 for ms in companions.values() if not ms & heard),
        untested=int(untested),
        never_worked=int(never_worked),
    )
