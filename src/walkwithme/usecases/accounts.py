"""People, invites and sign-in sessions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain import people as rules
from walkwithme.domain.errors import Conflict, Forbidden, Unauthorized
from walkwithme.domain.geo import DEFAULT_PACE_MPS
from walkwithme.domain.profiles import Overrides, overrides_json, parse_overrides
from walkwithme.domain.walks import LIVE_VALUES
from walkwithme.security import new_token, token_hash
from walkwithme.store.schema import insert_id, invites, people, sessions, walk_companions, walks
from walkwithme.store.tx import Tx

INVITE_DAYS = 7
DAY_MS = 86_400_000


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str
    is_operator: bool
    timezone: str
    phone: str | None
    pace_mps: float
    rules: Mapping[str, Any] = field(default_factory=dict)  # her thresholds, as she wrote them

    @property
    def overrides(self) -> Overrides:
        """Her settings of the rules, for the walks she starts."""
        return parse_overrides(self.rules)

    def as_listed(self) -> dict[str, Any]:
        """The account as the operator's list shows it: who, never how to reach or judge them
        (her phone number is for her walk's companions and an alarm's link alone)."""
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "is_operator": self.is_operator,
            "timezone": self.timezone,
        }

    def as_json(self) -> dict[str, Any]:
        """The account as its owner sees it."""
        return {
            **self.as_listed(),
            "phone": self.phone,
            "pace": self.pace_mps,
            "rules": dict(self.rules),
        }


_PERSON_COLUMNS = (
    people.c.id,
    people.c.email,
    people.c.name,
    people.c.is_operator,
    people.c.timezone,
    people.c.phone,
    people.c.pace_mps,
    people.c.rules,
)


def _person(row: Any) -> Person:
    return Person(
        id=row.id,
        email=row.email,
        name=row.name,
        is_operator=bool(row.is_operator),
        timezone=row.timezone,
        phone=row.phone,
        pace_mps=row.pace_mps,
        rules=orjson.loads(row.rules) if row.rules else {},
    )


@dataclass(frozen=True)
class NewPerson:
    """A checked sign-up, its password already hashed (outside the writer: argon2 is slow)."""

    email: str
    name: str
    password_hash: str
    timezone: str = "UTC"
    is_operator: bool = False


def check_new_person(email: str, name: str, password: str, timezone: str) -> tuple[str, str, str]:
    rules.check_password(password)
    return rules.normalise_email(email), rules.check_name(name), rules.check_timezone(timezone)


EMAIL_TAKEN = "an account with this email exists already"


def _taken(tx: Tx, email: str) -> bool:
    found = tx.conn.execute(sa.select(people.c.id).where(people.c.email == email)).first()
    return found is not None


def create_person(tx: Tx, new: NewPerson) -> Person:
    if _taken(tx, new.email):
        raise Conflict(EMAIL_TAKEN, field="email")
    person_id = insert_id(
        tx.conn,
        people,
        email=new.email,
        name=new.name,
        password_hash=new.password_hash,
        is_operator=new.is_operator,
        timezone=new.timezone,
        pace_mps=DEFAULT_PACE_MPS,
        created_at=tx.now_ms,
    )
    person = get_person(tx.conn, person_id)
    assert person is not None
    return person


def sign_up(tx: Tx, new: NewPerson, invite: str | None, *, open_signup: bool) -> Person | None:
    """Invite-only unless the operator opened sign-up; an invite is used once. None: the
    email has an account already, and the invite tried with it is used up all the same (the
    caller says so, after the commit): one invite answers "has this address an account?"
    once, not for as many addresses as its holder cares to try (an outside review)."""
    invite_id = None
    if invite:
        row = tx.conn.execute(
            sa.select(invites.c.id, invites.c.used_at, invites.c.expires_at).where(
                invites.c.token_hash == token_hash(invite)
            )
        ).first()
        if row is None or row.used_at is not None or row.expires_at <= tx.now_ms:
            raise Forbidden(
                "this invite is not valid: it is unknown, used or expired", field="invite"
            )
        invite_id = row.id
    elif not open_signup:
        raise Forbidden("sign-up needs an invite on this server", field="invite")
    if invite_id is not None and _taken(tx, new.email):
        tx.conn.execute(invites.update().where(invites.c.id == invite_id).values(used_at=tx.now_ms))
        return None
    person = create_person(tx, new)
    if invite_id is not None:
        tx.conn.execute(
            invites.update()
            .where(invites.c.id == invite_id)
            .values(used_by=person.id, used_at=tx.now_ms)
        )
    return person


def create_invite(tx: Tx, by: int | None) -> str:
    token = new_token("inv")
    tx.conn.execute(
        invites.insert().values(
            token_hash=token_hash(token),
            created_by=by,
            created_at=tx.now_ms,
            expires_at=tx.now_ms + INVITE_DAYS * DAY_MS,
        )
    )
    return token


def get_person(conn: Connection, person_id: int) -> Person | None:
    row = conn.execute(sa.select(*_PERSON_COLUMNS).where(people.c.id == person_id)).first()
    return _person(row) if row else None


def find_by_email(conn: Connection, email: str) -> Person | None:
    row = conn.execute(
        sa.select(*_PERSON_COLUMNS).where(people.c.email == email.strip().lower())
    ).first()
    return _person(row) if row else None


def password_hash_of(conn: Connection, email: str) -> tuple[int, str] | None:
    row = conn.execute(
        sa.select(people.c.id, people.c.password_hash).where(
            people.c.email == email.strip().lower()
        )
    ).first()
    return (row.id, row.password_hash) if row else None


def duress_pin_hash_of(conn: Connection, person_id: int) -> str | None:
    value = conn.execute(
        sa.select(people.c.duress_pin_hash).where(people.c.id == person_id)
    ).scalar()
    return str(value) if value else None


def set_duress_pin(tx: Tx, person_id: int, pin_hash: str | None) -> None:
    """Her duress PIN for the walks she starts from now on (None: she has none)."""
    tx.conn.execute(
        people.update().where(people.c.id == person_id).values(duress_pin_hash=pin_hash)
    )


def list_people(conn: Connection) -> list[Person]:
    return [_person(r) for r in conn.execute(sa.select(*_PERSON_COLUMNS).order_by(people.c.id))]


def count_people(conn: Connection) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(people)).scalar_one())


def _zone_kept(conn: Connection, person_id: int) -> str | None:
    zone: str | None = conn.execute(
        sa.select(people.c.timezone).where(people.c.id == person_id)
    ).scalar()
    return zone


def update_profile(
    tx: Tx,
    person_id: int,
    *,
    name: str | None = None,
    timezone: str | None = None,
    phone: str | None = None,
    pace_mps: float | None = None,
    rule_settings: Mapping[str, Any] | None = None,
) -> Person:
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = rules.check_name(name)
    if timezone is not None and timezone != _zone_kept(tx.conn, person_id):
        # (Her own zone, sent back unchanged by her settings form, is not checked again: one
        # kept before a name was refused, "localtime", refused every save of her phone number:
        # a diff review.)
        values["timezone"] = rules.check_timezone(timezone)
    if phone is not None:
        values["phone"] = rules.check_phone(phone)
    if pace_mps is not None:
        values["pace_mps"] = rules.check_pace(pace_mps)
    if rule_settings is not None:
        # Checked, and kept as people write them ({} clears them: the operator's apply).
        written = overrides_json(parse_overrides(rule_settings))
        values["rules"] = orjson.dumps(written).decode() if written else None
    if values:
        tx.conn.execute(people.update().where(people.c.id == person_id).values(**values))
    person = get_person(tx.conn, person_id)
    assert person is not None
    return person


# -- sessions ----------------------------------------------------------------------------------


def open_session(tx: Tx, person_id: int, days: float) -> str:
    token = new_token("wwm")
    tx.conn.execute(
        sessions.insert().values(
            token_hash=token_hash(token),
            person_id=person_id,
            created_at=tx.now_ms,
            expires_at=tx.now_ms + int(days * DAY_MS),
        )
    )
    return token


def close_session(tx: Tx, token: str) -> None:
    row = tx.conn.execute(
        sa.select(sessions.c.person_id).where(sessions.c.token_hash == token_hash(token))
    ).first()
    tx.conn.execute(sessions.delete().where(sessions.c.token_hash == token_hash(token)))
    if row is not None:
        _recheck_streams_of(tx, row.person_id)


def _recheck_streams_of(tx: Tx, person_id: int) -> None:
    """Her open live streams decide again, at once, whether she may still see their walks."""
    followed = tx.conn.execute(
        sa.select(walks.c.id)
        .join(walk_companions, walk_companions.c.walk_id == walks.c.id, isouter=True)
        .where(
            walks.c.state.in_(LIVE_VALUES),
            sa.or_(walks.c.walker_id == person_id, walk_companions.c.person_id == person_id),
        )
    )
    for walk in followed:
        tx.touch(walk.id, access=True)


def session_expires_at(conn: Connection, token: str) -> int | None:
    """When this session runs out by the clock (None: there is no such session)."""
    found: int | None = conn.execute(
        sa.select(sessions.c.expires_at).where(sessions.c.token_hash == token_hash(token))
    ).scalar()
    return found


def person_for_session(conn: Connection, token: str, now_ms: int) -> Person | None:
    row = conn.execute(
        sa.select(*_PERSON_COLUMNS)
        .join(sessions, sessions.c.person_id == people.c.id)
        .where(
            sessions.c.token_hash == token_hash(token),
            sessions.c.expires_at > now_ms,
            people.c.disabled_at.is_(None),
        )
    ).first()
    return _person(row) if row else None


def require_operator(person: Person) -> None:
    if not person.is_operator:
        raise Forbidden("only the operator can do this")


def bad_credentials() -> Unauthorized:
    return Unauthorized("wrong email or password")
