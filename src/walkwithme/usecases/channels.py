"""A person's notification channels: added, listed, removed and tested. What is sent through
them, and how each went, is the outbox's (usecases/outbox.py)."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Conflict, Invalid, NotFound
from walkwithme.domain.people import check_name
from walkwithme.notify import mail
from walkwithme.store.schema import alerts, channels, deliveries, insert_id
from walkwithme.store.tx import Tx
from walkwithme.usecases import cover_channels, throttle
from walkwithme.usecases.alerts import (
    FAILING_AFTER,
    PENDING,
    enqueue,
)

# A person's channels: more than anyone reaches, few enough that an account can't be a list
# of strangers' addresses to send alerts and tests to.
MOST_CHANNELS = 20


def add_channel(tx: Tx, person_id: int, kind: str, target: str, label: str) -> dict[str, Any]:
    """`target` already checked (notify.channels.check_target). A webhook gets a secret to
    check signatures with, shown this once. The same address twice is refused: each alert
    would reach her twice, and a page's form sent again (a reload) would add it again."""
    same = sa.select(channels.c.id).where(
        channels.c.person_id == person_id,
        channels.c.kind == kind,
        channels.c.target == target,
        channels.c.removed_at.is_(None),  # a channel she removed may be added again
    )
    if tx.conn.execute(same).first() is not None:
        raise Conflict("you have a channel to this address already", field="target")
    mine = (
        sa.select(sa.func.count())
        .select_from(channels)
        .where(channels.c.person_id == person_id, channels.c.removed_at.is_(None))
    )
    if tx.conn.execute(mine).scalar_one() >= MOST_CHANNELS:
        # 422, not 409: a browser's page reads 409 as "this browser is a channel already".
        raise Invalid(
            f"you have {MOST_CHANNELS} channels, the most there may be: remove one first",
            field="target",
        )
    secret = secrets.token_urlsafe(24) if kind == "webhook" else None
    channel_id = insert_id(
        tx.conn,
        channels,
        person_id=person_id,
        kind=kind,
        label=check_name(label, "label"),
        target=target,
        secret=secret,
        created_at=tx.now_ms,
        failures=0,
    )
    found = get_channel(tx.conn, person_id, channel_id)
    if secret:
        found["secret"] = secret
    return found


def _json(row: Any) -> dict[str, Any]:
    if row.broken_at:
        status = "broken"
    elif row.failures >= FAILING_AFTER:
        status = "failing"
    else:
        status = "working" if row.worked_at else "untested"
    return {
        "id": row.id,
        "kind": row.kind,
        "label": row.label,
        "status": status,
        "worked_at": row.worked_at,
        "failures": row.failures,
        "last_error": row.last_error,
    }


def list_channels(conn: Connection, person_id: int) -> list[dict[str, Any]]:
    """Never the target itself: an Apprise URL may hold a password."""
    rows = conn.execute(
        sa.select(channels)
        .where(channels.c.person_id == person_id, channels.c.removed_at.is_(None))
        .order_by(channels.c.id)
    )
    return [_json(r) for r in rows]


def get_channel(conn: Connection, person_id: int, channel_id: int) -> dict[str, Any]:
    row = conn.execute(
        sa.select(channels).where(
            channels.c.id == channel_id,
            channels.c.person_id == person_id,
            channels.c.removed_at.is_(None),
        )
    ).first()
    if row is None:
        raise NotFound("no such channel")
    return _json(row)


def remove_channel(tx: Tx, person_id: int, channel_id: int) -> None:
    get_channel(tx.conn, person_id, channel_id)
    tx.conn.execute(
        channels.update().where(channels.c.id == channel_id).values(removed_at=tx.now_ms)
    )


def send_test(tx: Tx, person_id: int, channel_id: int) -> str:
    """A test notification through this one channel; when it is delivered, the channel counts
    as working (and a broken one is given another chance). Returns the test's idempotency key
    (what the receiver gets): random, where the alert's row id would count every alert made,
    a silent alarm's too."""
    get_channel(tx.conn, person_id, channel_id)
    throttle.channel_test(tx, person_id, channel_id)  # 429 past its limits: nothing sent
    tx.conn.execute(
        channels.update().where(channels.c.id == channel_id).values(broken_at=None, failures=0)
    )
    cover_channels.tested(tx, channel_id)
    alert_id = enqueue(tx, None, "test", {"kind": "test", "at": tx.now_ms}, [])
    tx.conn.execute(
        deliveries.insert().values(
            alert_id=alert_id,
            person_id=person_id,
            channel_id=channel_id,
            state=PENDING,
            attempts=0,
            next_attempt_at=tx.now_ms,
        )
    )
    tx.alerted()
    stored = sa.select(alerts.c.payload).where(alerts.c.id == alert_id)
    return str(tx.conn.execute(stored).scalar_one()["key"])


def email_channels(conn: Connection) -> int:
    """How many email channels people have (removed ones aside)."""
    count: int = conn.execute(
        sa.select(sa.func.count())
        .select_from(channels)
        .where(channels.c.kind == "email", channels.c.removed_at.is_(None))
    ).scalar_one()
    return count


def mend_email(tx: Tx) -> int:
    """The email channels broken only because this server sent no email (`mail.EMAIL_OFF`:
    started once without WWM_SMTP_URL), working again now that it does, as a test would have
    them: they stayed broken for good, and the ladder skipped whoever had only email (an
    outside review of an operator's first hour). How many were mended."""
    broken = tx.conn.execute(
        sa.select(channels.c.id).where(
            channels.c.kind == "email",
            channels.c.removed_at.is_(None),
            channels.c.broken_at.is_not(None),
            channels.c.last_error == mail.EMAIL_OFF,
        )
    )
    mended = [channel_id for (channel_id,) in broken]
    for channel_id in mended:
        tx.conn.execute(
            channels.update()
            .where(channels.c.id == channel_id)
            .values(broken_at=None, failures=0, last_error=None)
        )
        cover_channels.tested(tx, channel_id)  # (what her devices were shown of it too)
    return len(mended)
