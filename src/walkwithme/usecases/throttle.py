"""Limits on guessing: attempts counted per key in fixed windows, in the database (so the
processes that share a PostgreSQL database share the count).

Sign-in is counted per account and per address before the password is checked, and an
unknown email is counted like a known one: the answers and their timing don't tell whether
someone has an account. Past the limit: 429 with Retry-After, and no password is checked.
Her password asked again while she is signed in (to change it or her duress PIN, or to delete
her account) is counted under a limit of its own: whoever holds her unlocked phone can't guess
it there either, and a stranger who used up her sign-ins' limit (knowing only her email)
doesn't lock her out of her own settings. Sign-ups are counted under their own key for the
same reason: a sign-up tried with her address doesn't count against her sign-ins.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from walkwithme.domain.errors import TooSoon
from walkwithme.store.schema import throttles
from walkwithme.store.tx import Tx
from walkwithme.usecases import known_browsers

MINUTE_MS = 60_000


@dataclass(frozen=True)
class Limit:
    hits: int
    window_ms: int
    what: str  # for the refusal: "sign-ins for this account"


# An account: enough for a person who mistypes, far too few to guess a password.
PER_ACCOUNT = Limit(10, 15 * MINUTE_MS, "sign-ins for this account")
# Her password asked again while she is signed in: counted with her sign-ins (the same key).
PASSWORD_CHECKS = Limit(
    PER_ACCOUNT.hits, PER_ACCOUNT.window_ms, "password attempts for this account"
)
# An address: a campus or a household behind one address signs in together at night.
PER_ADDRESS = Limit(100, 15 * MINUTE_MS, "sign-ins from your address")


def hit(tx: Tx, key: str, limit: Limit, *, refuse: bool = True) -> None:
    """Count one attempt under `key`; `TooSoon` (nothing counted) once the window is full
    (unless not `refuse`: counted, never refused)."""
    row = tx.conn.execute(
        sa.select(throttles.c.window_start, throttles.c.hits).where(throttles.c.key == key)
    ).first()
    if row is not None and tx.now_ms < row.window_start + limit.window_ms:
        if row.hits >= limit.hits and refuse:
            wait_s = math.ceil((row.window_start + limit.window_ms - tx.now_ms) / 1000)
            raise TooSoon(
                f"too many {limit.what}: try again in {_say(wait_s)}", retry_after_s=wait_s
            )
        tx.conn.execute(
            throttles.update().where(throttles.c.key == key).values(hits=throttles.c.hits + 1)
        )
        return
    insert = (postgresql.insert if tx.conn.dialect.name == "postgresql" else sqlite.insert)(
        throttles
    ).values(key=key, window_start=tx.now_ms, hits=1)
    tx.conn.execute(
        insert.on_conflict_do_update(
            index_elements=[throttles.c.key], set_={"window_start": tx.now_ms, "hits": 1}
        )
    )


def sign_in(
    tx: Tx, email: str, address: str | None, *, signing_up: bool = False, browser: str = ""
) -> None:
    """One attempt to sign in (or, `signing_up`, to sign up) as `email` from `address`; from a
    browser she has signed in on before (`browser`: its token), counted under that browser
    rather than the account or the address, which a stranger may have used up: anyone behind
    the same address (a campus, a household, a carrier's NAT) could otherwise keep her
    companions from signing in to answer an alarm (usecases/known_browsers.py)."""
    if not signing_up and known_browsers.known_to(tx.conn, browser, email, tx.now_ms):
        hit(tx, known_browsers.throttle_key(browser), PER_ACCOUNT)
        # Counted with the account's and the address's too, never refused there: whoever
        # holds her browser gets no more guesses by trying again without its cookie.
        hit(tx, account_key(email), PER_ACCOUNT, refuse=False)
        if address:
            hit(tx, f"addr:{address}", PER_ADDRESS, refuse=False)
        return
    if address:
        hit(tx, f"addr:{address}", PER_ADDRESS)
    hit(tx, account_key(email, SIGN_UP if signing_up else SIGN_IN), PER_ACCOUNT)


def password_check(tx: Tx, email: str) -> None:
    """One check of a signed-in person's password, under its own limit."""
    hit(tx, account_key(email, SIGNED_IN), PASSWORD_CHECKS)


# Messages on walks, one person's (a companion's quick replies, her own words): a
# conversation, never a flood that buries her timeline and everyone's view of the walk (an
# outside review posted 4,000 in 21 s, each 201).
MESSAGES_PER_MINUTE = Limit(20, MINUTE_MS, "messages in a minute")
MESSAGES_PER_DAY = Limit(500, 24 * 60 * MINUTE_MS, "messages today")


def message(tx: Tx, person_id: int) -> None:
    """One message on a walk, counted for the person who sends it."""
    hit(tx, f"messages:{person_id}", MESSAGES_PER_MINUTE)
    hit(tx, f"messages-day:{person_id}", MESSAGES_PER_DAY)


# Tests of a channel: enough to try one, and again after mending it; too few to make the
# operator's mail server (or the service, for a webhook) a way to flood an address that is
# not hers (an outside review sent a stranger 100 test emails in seconds), which would get
# the server's mail blocked, alarms too.
TESTS_PER_CHANNEL = Limit(5, 60 * MINUTE_MS, "tests of this channel")
TESTS_PER_PERSON = Limit(20, 24 * 60 * MINUTE_MS, "tests of your channels today")


def channel_test(tx: Tx, person_id: int, channel_id: int) -> None:
    """One test of a channel, counted for the channel and for its owner."""
    hit(tx, f"test-channel:{channel_id}", TESTS_PER_CHANNEL)
    hit(tx, f"test-person:{person_id}", TESTS_PER_PERSON)


# Requests to be someone's contact: enough to ask a circle of friends, and a write for each,
# whoever the address is (an unknown one made none, and answered 1.5 ms sooner: whether an
# address has an account was in the timing, an outside review).
CONTACT_ASKS = Limit(30, 24 * 60 * MINUTE_MS, "requests to be someone's contact today")


def contact_ask(tx: Tx, person_id: int) -> None:
    """One request to be someone's contact, counted for whoever asks."""
    hit(tx, f"asks:{person_id}", CONTACT_ASKS)


SIGN_IN, SIGN_UP, SIGNED_IN = "account", "signup", "password"  # what the attempts were


def account_key(email: str, kind: str = SIGN_IN) -> str:
    """Where an account's attempts of a kind are counted (forgotten with it:
    usecases/deletion.py, `account_keys`)."""
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]
    return f"{kind}:{digest}"


def account_keys(email: str) -> list[str]:
    """Every key an account's attempts are counted under."""
    return [account_key(email, kind) for kind in (SIGN_IN, SIGN_UP, SIGNED_IN)]


def person_keys(person_id: int, channel_ids: list[int]) -> list[str]:
    """Every key a person's messages and channel tests are counted under (forgotten with her
    account: usecases/deletion.py)."""
    mine = [
        f"messages:{person_id}",
        f"messages-day:{person_id}",
        f"test-person:{person_id}",
        f"asks:{person_id}",
    ]
    return mine + [f"test-channel:{channel_id}" for channel_id in channel_ids]


def _say(seconds: int) -> str:
    minutes = seconds // 60
    return f"{minutes} min" if minutes >= 2 else f"{seconds} seconds"
