"""Contacts by consent: A asks B to follow her walks (companion) or to hear of her alarms
(guardian). Nothing is shared until B accepts; either side can end it at any time."""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Changed, Conflict, Invalid, NotFound
from walkwithme.domain.people import ContactRole, ContactState, contact_transition, normalise_email
from walkwithme.domain.walks import LIVE_VALUES
from walkwithme.store.schema import contacts, insert_id, people, walk_companions, walks
from walkwithme.store.tx import Tx
from walkwithme.usecases import throttle

_OPEN = (ContactState.PENDING.value, ContactState.ACCEPTED.value)
ASK_AGAIN_AFTER_MS = 7 * 86_400_000


def ask_alike(tx: Tx, owner_id: int, email: str, role: str) -> None:
    """`ask`, answered alike for every address (the API and the pages): whether it has an
    account, was asked already or declined this week is nobody's business. The asker learns
    who said yes from her contacts, once they do. Other mistakes (a role that doesn't exist,
    her own address) are still said."""
    throttle.contact_ask(tx, owner_id)  # (a write whoever the address is: see CONTACT_ASKS)
    try:
        ask(tx, owner_id, email, role)
    except (NotFound, Conflict) as exc:
        if exc.field != "email":
            raise


def ask(tx: Tx, owner_id: int, email: str, role: str) -> dict[str, Any]:
    """The owner asks the person with `email` to be her companion or guardian."""
    try:
        contact_role = ContactRole(role)
    except ValueError:
        raise Invalid("role must be companion or guardian", field="role") from None
    member = tx.conn.execute(
        sa.select(people.c.id).where(people.c.email == normalise_email(email))
    ).first()
    if member is not None and member.id == owner_id:
        raise Invalid("you can't be your own contact", field="email")
    # Whether an address has an account is nobody's business: a stranger's address gets the
    # same answer as a member's, and no request is made; the same reads are made for it (no
    # account is numbered 0), so that its answer comes no sooner.
    member_id = member.id if member is not None else 0
    existing = tx.conn.execute(
        sa.select(contacts.c.id).where(
            contacts.c.owner_id == owner_id,
            contacts.c.member_id == member_id,
            contacts.c.state.in_(_OPEN),
        )
    ).first()
    declined = tx.conn.execute(
        sa.select(contacts.c.updated_at).where(
            contacts.c.owner_id == owner_id,
            contacts.c.member_id == member_id,
            contacts.c.state == ContactState.DECLINED.value,
            contacts.c.updated_at > tx.now_ms - ASK_AGAIN_AFTER_MS,
        )
    ).first()
    if member is None:
        raise NotFound("nobody with this email can be asked here", field="email")
    if existing:
        raise Conflict("you have asked this person already", field="email")
    if declined:
        # A "no" is respected: asking again at once would turn a request into pressure.
        raise Conflict("this person declined; you can ask again a week after", field="email")
    contact_id = insert_id(
        tx.conn,
        contacts,
        owner_id=owner_id,
        member_id=member.id,
        role=contact_role.value,
        state=ContactState.PENDING.value,
        created_at=tx.now_ms,
        updated_at=tx.now_ms,
    )
    _tell_the_asked(tx, owner_id, member.id, contact_id, contact_role)
    return get_contact(tx.conn, contact_id, owner_id)


def _tell_the_asked(
    tx: Tx, owner_id: int, member_id: int, contact_id: int, role: ContactRole
) -> None:
    """Told where they hear alerts, if they have a way: the request waited unseen on their
    home page until they happened to sign in (a review of a first walk). Their answer is
    theirs alone to give there (`link_path`: their home page lists it). Once a week from the
    same asker at most while he has not said yes, as a "no" would hold them off: a request he
    removed, asked again at once, rang him every time (a review of this change). One after a
    contact he had accepted (a new role, say) is news."""
    before = tx.conn.execute(
        sa.select(contacts.c.created_at, contacts.c.accepted_at)
        .where(
            contacts.c.owner_id == owner_id,
            contacts.c.member_id == member_id,
            contacts.c.id != contact_id,
        )
        .order_by(contacts.c.id.desc())
        .limit(1)
    ).first()
    if (
        before is not None
        and before.accepted_at is None
        and before.created_at > tx.now_ms - ASK_AGAIN_AFTER_MS
    ):
        return
    from walkwithme.usecases.alerts import enqueue  # (alerts imports this module)

    by = tx.conn.execute(sa.select(people.c.name).where(people.c.id == owner_id)).scalar_one()
    said = {"kind": "contact_asked", "at": tx.now_ms, "by": {"name": by}, "role": role.value}
    enqueue(tx, None, "contact_asked", {**said, "link_path": "/"}, [member_id])


def _load(conn: Connection, contact_id: int, person_id: int) -> Any:
    """A contact the person may act on, as her list shows them: one she asked, once accepted
    (her requests are not hers to find before: acting on one by its number told her the
    address she typed has an account, as "no such request for you" and "can't become ended"
    did, an outside review); one she was asked, waiting for her answer or accepted. Any
    other number is "no such contact", alike."""
    row = conn.execute(
        sa.select(contacts).where(
            contacts.c.id == contact_id,
            sa.or_(
                sa.and_(
                    contacts.c.owner_id == person_id,
                    contacts.c.state == ContactState.ACCEPTED.value,
                ),
                sa.and_(contacts.c.member_id == person_id, contacts.c.state.in_(_OPEN)),
            ),
        )
    ).first()
    if row is None:
        raise NotFound("no such contact")
    return row


def _move(tx: Tx, row: Any, target: ContactState, by: int | None = None) -> None:
    contact_transition(ContactState(row.state), target)
    done = tx.conn.execute(
        contacts.update()
        .where(contacts.c.id == row.id, contacts.c.state == row.state)
        .values(
            state=target.value,
            updated_at=tx.now_ms,
            ended_by=by,
            **({"accepted_at": tx.now_ms} if target is ContactState.ACCEPTED else {}),
        )
    )
    if done.rowcount != 1:
        raise Changed("this contact changed meanwhile; try again")


def answer(tx: Tx, member_id: int, contact_id: int, *, accept: bool) -> dict[str, Any]:
    """Only the person who was asked can accept or decline."""
    row = _load(tx.conn, contact_id, member_id)
    if row.member_id != member_id:
        raise NotFound("no such contact")
    _move(tx, row, ContactState.ACCEPTED if accept else ContactState.DECLINED)
    return get_contact(tx.conn, contact_id, member_id)


def end(tx: Tx, person_id: int, contact_id: int) -> None:
    """Either side ends it. A companion who ends it stops seeing her walks at once; one she
    ends herself follows the walk she is on until it is over (`standing`), and no later one."""
    row = _load(tx.conn, contact_id, person_id)
    # Who ended it matters only for a contact that stood: a request never accepted, withdrawn
    # during her walk, must not put its person on the walk (`standing`).
    accepted = row.state == ContactState.ACCEPTED.value
    _move(tx, row, ContactState.ENDED, by=person_id if accepted else None)
    live = tx.conn.execute(
        sa.select(walks.c.id)
        .join(walk_companions, walk_companions.c.walk_id == walks.c.id)
        .where(
            walks.c.walker_id == row.owner_id,
            walk_companions.c.person_id == row.member_id,
            walks.c.state.in_(LIVE_VALUES),
        )
    )
    for walk in live:
        tx.touch(walk.id, access=True)  # open streams check access again, at once
    # Alerts are made from contacts (alerts.py imports this module): imported here.
    from walkwithme.usecases.alerts import drop_no_longer_theirs

    drop_no_longer_theirs(tx, row.owner_id, row.member_id)


def get_contact(conn: Connection, contact_id: int, person_id: int) -> dict[str, Any]:
    found = _contacts(conn, person_id, contacts.c.id == contact_id)
    if not found:
        raise NotFound("no such contact")
    return found[0]


def list_contacts(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    """The people who accepted my request, and the people who asked me (pending or accepted).
    My own requests are not listed until accepted: a pending one would tell me that the
    address I typed has an account here."""
    return _contacts(
        conn,
        person_id,
        sa.or_(
            contacts.c.state == ContactState.ACCEPTED.value,
            sa.and_(
                contacts.c.state == ContactState.PENDING.value,
                contacts.c.member_id == person_id,
            ),
        ),
    )


def _contacts(
    conn: Connection, person_id: int, condition: sa.ColumnElement[bool]
) -> list[dict[str, Any]]:
    owner = people.alias("owner")
    member = people.alias("member")
    rows = conn.execute(
        sa.select(
            contacts.c.id,
            contacts.c.role,
            contacts.c.state,
            contacts.c.owner_id,
            contacts.c.member_id,
            owner.c.name.label("owner_name"),
            owner.c.email.label("owner_email"),
            member.c.name.label("member_name"),
            member.c.email.label("member_email"),
        )
        .join(owner, owner.c.id == contacts.c.owner_id)
        .join(member, member.c.id == contacts.c.member_id)
        .where(
            sa.or_(contacts.c.owner_id == person_id, contacts.c.member_id == person_id),
            condition,
        )
        .order_by(contacts.c.id)
    )
    result = []
    for r in rows:
        mine = r.owner_id == person_id
        result.append(
            {
                "id": r.id,
                "role": r.role,
                "state": r.state,
                # "mine": I asked them to follow me; otherwise they asked me to follow them.
                "direction": "asked_by_me" if mine else "asked_me",
                "person": {
                    "id": r.member_id if mine else r.owner_id,
                    "name": r.member_name if mine else r.owner_name,
                    "email": r.member_email if mine else r.owner_email,
                },
            }
        )
    return result


def accepted_ids(conn: Connection, owner_id: int, role: ContactRole) -> list[int]:
    """The people who accepted to be her companions, or her guardians, in the order asked."""
    rows = conn.execute(
        sa.select(contacts.c.member_id)
        .where(
            contacts.c.owner_id == owner_id,
            contacts.c.role == role.value,
            contacts.c.state == ContactState.ACCEPTED.value,
        )
        .order_by(contacts.c.id)
    )
    return [r.member_id for r in rows]


Since = int | sa.BindParameter[int] | None


def standing(alarm_at: Since, walking_since: Since = None) -> sa.ColumnElement[bool]:
    """A contact that stands for a walk: accepted (during an alarm raised at `alarm_at`,
    accepted before it was raised); during an alarm, also one accepted before it and ended
    after it was raised, by either side; and during her walk (started at `walking_since`),
    also one she ended herself since it started. Whoever holds her unlocked phone can't take
    the people looking out for her off the alarm, before or after it is raised, by ending her
    contacts: they stay on the walk until it is over, and an alarm until it is resolved. To
    take someone off a walk she ends it, with her PIN. Nor can they put someone on an alarm
    going on: a request sent from her phone during a silent alarm, accepted (and perhaps
    ended) by whoever it was sent to, must not tell them of it, or let them end it (an
    outside review). Either time may be a parameter of a statement built once
    (`_standing_ids`)."""
    accepted = contacts.c.state == ContactState.ACCEPTED.value
    ended = contacts.c.state == ContactState.ENDED.value
    if alarm_at is None:
        held = [accepted]
    else:
        before_it = contacts.c.accepted_at <= alarm_at  # NULL (never accepted): not before it
        held = [
            sa.and_(accepted, before_it),
            sa.and_(ended, before_it, contacts.c.updated_at > alarm_at),
        ]
    if walking_since is not None:
        by_her = contacts.c.ended_by == contacts.c.owner_id
        held.append(sa.and_(ended, by_her, contacts.c.updated_at >= walking_since))
    return sa.or_(*held)


# An alarm's time and her walk's start, as parameters of a statement built once (see standing).
ALARM_AT = sa.bindparam("alarm_at", type_=sa.BigInteger)
WALKING_SINCE = sa.bindparam("walking_since", type_=sa.BigInteger)


@functools.cache
def _standing_ids(in_alarm: bool, walking: bool) -> sa.Select[tuple[int]]:
    # Built once for each form: the watchdog asks for a walker's guardians at every rung.
    return (
        sa.select(contacts.c.member_id)
        .where(
            contacts.c.owner_id == sa.bindparam("owner_id"),
            contacts.c.role == sa.bindparam("role"),
            standing(ALARM_AT if in_alarm else None, WALKING_SINCE if walking else None),
        )
        .order_by(contacts.c.id)
    )


def standing_ids(
    conn: Connection,
    owner_id: int,
    role: ContactRole,
    *,
    alarm_at: int | None,
    walking_since: int | None = None,
) -> list[int]:
    rows = conn.execute(
        _standing_ids(alarm_at is not None, walking_since is not None),
        {
            "owner_id": owner_id,
            "role": role.value,
            "alarm_at": alarm_at,
            "walking_since": walking_since,
        },
    )
    return list(dict.fromkeys(r.member_id for r in rows))


def accepted_companion_ids(conn: Connection, owner_id: int) -> set[int]:
    return set(accepted_ids(conn, owner_id, ContactRole.COMPANION))


def is_accepted_companion(
    conn: Connection,
    owner_id: int,
    member_id: int,
    *,
    alarm_at: int | None = None,
    walking_since: int | None = None,
) -> bool:
    """`alarm_at`: the walk is in an alarm raised then; `walking_since`: it is live, and
    started then (see `standing`)."""
    row = conn.execute(
        sa.select(contacts.c.id).where(
            contacts.c.owner_id == owner_id,
            contacts.c.member_id == member_id,
            contacts.c.role == ContactRole.COMPANION.value,
            standing(alarm_at, walking_since),
        )
    ).first()
    return row is not None
