"""Browsers she has signed in on, so that a stranger can't lock her out.

Sign-in attempts are counted per account (usecases/throttle.py): past ten in a quarter of an
hour, no password is checked. Anyone who knows her email can use those up, over and over, and
keep her out of her account, at night, when a companion needs to say "I'm on it". So a
browser where she has signed in before is given a token of its own (a cookie that lasts
`KNOWN_DAYS` after its last use), and its attempts are counted under that token rather than
the account: a stranger's attempts don't reach it. A thief who holds the browser is held to
the same ten, and gets no more by dropping its cookie: its attempts are counted with the
account's too, only never refused there (usecases/throttle.py). Only a hash of the token is
kept, as for sessions; the rows go with her account.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.security import new_token, token_hash
from walkwithme.store.schema import known_browsers, people
from walkwithme.store.tx import Tx

COOKIE = "wwm_known"
KNOWN_DAYS = 90
DAY_MS = 86_400_000


def known_to(conn: Connection, token: str, email: str, now_ms: int) -> bool:
    """Whether this browser's token was given on a sign-in to the account of `email`, and
    used in the last `KNOWN_DAYS`."""
    if not token:
        return False
    found = conn.execute(
        sa.select(known_browsers.c.id)
        .join(people, people.c.id == known_browsers.c.person_id)
        .where(
            known_browsers.c.token_hash == token_hash(token),
            people.c.email == email.strip().lower(),
            known_browsers.c.used_at > now_ms - KNOWN_DAYS * DAY_MS,
        )
    ).first()
    return found is not None


def remember(tx: Tx, person_id: int, token: str | None) -> str:
    """After she signed in: the browser's token, kept if it is hers already (its last use
    moved on), else a new one."""
    if token:
        kept = tx.conn.execute(
            known_browsers.update()
            .where(
                known_browsers.c.token_hash == token_hash(token),
                known_browsers.c.person_id == person_id,
            )
            .values(used_at=tx.now_ms)
        )
        if kept.rowcount == 1:
            return token
    # Hers that went unused too long are forgotten as a new one is made (no table grows
    # without end).
    tx.conn.execute(
        known_browsers.delete().where(
            known_browsers.c.person_id == person_id,
            known_browsers.c.used_at <= tx.now_ms - KNOWN_DAYS * DAY_MS,
        )
    )
    token = new_token("wwk")
    tx.conn.execute(
        known_browsers.insert().values(
            token_hash=token_hash(token),
            person_id=person_id,
            created_at=tx.now_ms,
            used_at=tx.now_ms,
        )
    )
    return token


def throttle_key(token: str) -> str:
    """Where a known browser's sign-ins are counted."""
    return f"known:{token_hash(token)[:40]}"
