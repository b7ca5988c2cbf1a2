"""People and their contacts: who may follow whom, by consent."""

from __future__ import annotations

import re
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from walkwithme.domain.errors import IllegalTransition, Invalid
from walkwithme.domain.text import check_text


class ContactRole(StrEnum):
    COMPANION = "companion"  # follows her walks live
    GUARDIAN = "guardian"  # gets only escalations


class ContactState(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ENDED = "ended"


_CONTACT_EDGES = {
    ContactState.PENDING: {ContactState.ACCEPTED, ContactState.DECLINED, ContactState.ENDED},
    ContactState.ACCEPTED: {ContactState.ENDED},
    ContactState.DECLINED: set(),
    ContactState.ENDED: set(),
}


def contact_transition(current: ContactState, target: ContactState) -> ContactState:
    if target not in _CONTACT_EDGES[current]:
        raise IllegalTransition(f"a contact that is {current.value} can't become {target.value}")
    return target


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MIN_PASSWORD_CHARS = 10


def normalise_email(email: str) -> str:
    cleaned = check_text(email, "email").strip().lower()
    if not _EMAIL.fullmatch(cleaned) or len(cleaned) > 254:
        raise Invalid("email is not a valid address", field="email")
    return cleaned


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise Invalid(
            f"password must be at least {MIN_PASSWORD_CHARS} characters", field="password"
        )


def check_name(name: str, field: str = "name") -> str:
    cleaned = check_text(name, field).strip()
    if not 1 <= len(cleaned) <= 100:
        raise Invalid(f"{field} must be 1 to 100 characters", field=field)
    return cleaned


def check_timezone(tz: str) -> str:
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {tz!r}", field="timezone") from None
    return tz


def check_pace(pace_mps: float) -> float:
    if not 0.3 <= pace_mps <= 4.0:
        raise Invalid("pace must be between 0.3 and 4.0 metres per second", field="pace")
    return pace_mps
