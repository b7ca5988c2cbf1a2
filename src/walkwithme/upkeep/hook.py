"""The operator's emergency hook (`WWM_EMERGENCY_HOOK`), the top rung of an alarm that nobody
acknowledged, as its operator needs to know it: how the alarms posted to it fared (for
`walkwithme check`), and a signed test posted to it now (`walkwithme hook test`).

Set and signed is not the same as working: a hook whose receiver moved, or answers 502, lets
the alarm climb to the top of its ladder and stop there, and nobody finds out until the night
it was needed."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy import Connection

from walkwithme.clock import Clock
from walkwithme.config import Config
from walkwithme.notify import outbound
from walkwithme.notify.channels import HOOK_MAY_BE_PRIVATE, Alert, DeliveryError, Webhook
from walkwithme.store.schema import deliveries
from walkwithme.usecases.alerts import DEAD, PENDING, SENT, new_alert_key

# The hook's deliveries: neither a person's nor a channel's (store/schema.py).
_HOOK = sa.and_(deliveries.c.channel_id.is_(None), deliveries.c.person_id.is_(None))


@dataclass(frozen=True)
class Health:
    delivered: int  # alerts it took (answered 2xx)
    last_delivered_at: int | None
    retrying: int  # failed at least once, tried again
    given_up: int  # failed for good since the last one it took
    last_error: str | None  # why the newest alert it did not take failed


def health(conn: Connection) -> Health:
    """How the alerts posted to the hook fared, in one query and one for the last error."""
    sent = deliveries.c.state == SENT
    last_sent_id = (
        sa.select(sa.func.coalesce(sa.func.max(deliveries.c.id), 0)).where(_HOOK, sent)
    ).scalar_subquery()
    delivered, last_at, retrying, given_up = conn.execute(
        sa.select(
            sa.func.count().filter(sent),
            sa.func.max(deliveries.c.sent_at),
            sa.func.count().filter(deliveries.c.state == PENDING, deliveries.c.attempts > 0),
            sa.func.count().filter(deliveries.c.state == DEAD, deliveries.c.id > last_sent_id),
        ).where(_HOOK)
    ).one()
    error = conn.execute(
        sa.select(deliveries.c.last_error)
        .where(_HOOK, deliveries.c.state != SENT, deliveries.c.last_error.is_not(None))
        .order_by(deliveries.c.id.desc())
        .limit(1)
    ).scalar()
    return Health(int(delivered), last_at, int(retrying), int(given_up), error)


def shown(url: str) -> str:
    """The hook's address fit to print: its scheme and host (its path or query may hold the
    receiver's own secret, as a chat service's hook URLs do)."""
    parts = urlsplit(url)
    rest = "/..." if parts.path.strip("/") or parts.query else ""
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{rest}"


def test_payload(clock: Clock) -> dict[str, object]:
    """What a test posts: an alert of kind "test", signed like every alert to the hook."""
    return {"kind": "test", "at": clock.now_ms(), "key": new_alert_key()}


async def send_test(config: Config, clock: Clock, http: outbound.Outbound) -> str | None:
    """Post a signed test to the hook now, as an alarm would be posted: None if it took it
    (a 2xx), or why not, in the words the outbox keeps."""
    payload = test_payload(clock)
    hook = Webhook(config.emergency_hook, config.hook_secret, HOOK_MAY_BE_PRIVATE, http)
    try:
        await hook.send(Alert(str(payload["key"]), payload))
    except DeliveryError as exc:
        return exc.message
    return None
