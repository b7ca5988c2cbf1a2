"""People and their contacts: who may follow whom, by consent."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

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


MAX_PHONE_CHARS = 40
# A number someone can dial: digits, a + in front, and the spaces, dashes, dots, brackets
# and slashes people write between them. At least 3 digits (112), at most 20.
_PHONE = re.compile(r"\+?[0-9 ().\-/]+")
_DIGIT = re.compile(r"[0-9]")


def check_phone(phone: str) -> str | None:
    """Her phone number, for her companions to call; empty: none."""
    cleaned = phone.strip()
    if not cleaned:
        return None
    if len(cleaned) > MAX_PHONE_CHARS:
        raise Invalid(f"phone must be at most {MAX_PHONE_CHARS} characters", field="phone")
    if not _PHONE.fullmatch(cleaned) or not 3 <= len(_DIGIT.findall(cleaned)) <= 20:
        raise Invalid(
            "phone must be a phone number: digits, with spaces, dashes or brackets between "
            f"them and a + in front, such as +358 40 123 4567 (not “{cleaned}”)",
            field="phone",
        )
    return cleaned


def tel_uri(phone: str) -> str:
    """ "tel:+358401234567": what a phone dials (RFC 3966), from the number as written."""
    plus = "+" if phone.strip().startswith("+") else ""
    return "tel:" + plus + "".join(_DIGIT.findall(phone))


# Files of the time zone database that name no place: the server's own zone ("localtime"
# told its owner how the host is set), a zone with leap seconds ("right/UTC" runs 27 s off),
# copies of every zone under "posix/", and "Factory" (an outside review).
_NOT_A_PLACE = ("localtime", "Factory", "posixrules")
_NOT_A_PLACE_UNDER = ("posix/", "right/")


@cache
def _zones() -> frozenset[str]:
    return frozenset(
        z
        for z in available_timezones()
        if z not in _NOT_A_PLACE and not z.startswith(_NOT_A_PLACE_UNDER)
    )


def check_timezone(tz: str) -> str:
    """An IANA time zone's name, as the time zone database lists it (such as Europe/Helsinki)."""
    try:
        ZoneInfo(tz)
        if tz not in _zones():
            raise ValueError(tz)
    except (ZoneInfoNotFoundError, ValueError):
        meant = _zone_named(tz)
        hint = f": did you mean {meant}?" if meant else ": a name such as Europe/Helsinki"
        raise Invalid(f"unknown time zone {tz!r}{hint}", field="timezone") from None
    return tz


def _zone_named(typed: str) -> str | None:
    """The time zone whose city is what she typed ("New York": America/New_York), if one is."""
    city = typed.strip().replace(" ", "_").casefold()
    if not city:
        return None
    found = sorted(z for z in _zones() if z.rsplit("/", 1)[-1].casefold() == city)
    return found[0] if found else None


def check_pace(pace_mps: float) -> float:
    if not 0.3 <= pace_mps <= 4.0:
        raise Invalid("pace must be between 0.3 and 4.0 metres per second", field="pace")
    return pace_mps
