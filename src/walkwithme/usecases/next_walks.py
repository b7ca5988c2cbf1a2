"""The next walk she offers when she says she is inside ("see you tomorrow at 20:00"): for each
companion who followed the walk, a promise of hers, reminded to both of them at its time, as a
promise she makes when she declines an offer is (offer_times.remind). Kept as an offer row
in state `promised`: no offer to answer, only a time and a reminder either of them can call
off (offers.cancel_reminder). Times are her local time (docs/offers.md)."""

from __future__ import annotations

from walkwithme.domain.offers import describe
from walkwithme.store.schema import insert_id, offers
from walkwithme.store.tx import Tx
from walkwithme.usecases import contacts
from walkwithme.usecases.offer_views import PROMISED, zone_of
from walkwithme.usecases.offers import LocalTime, instant, tell

FIELD = "next"  # the field a time she gives is refused by


def at_of(tx: Tx, walker_id: int, when: LocalTime) -> int:
    """Her next walk's time as an instant (a 422 naming `next` if it is no time in the next
    14 days): read before anything changes, so that a wrong time changes nothing."""
    return instant(when, zone_of(tx.conn, walker_id), tx.now_ms, FIELD)


def promise(tx: Tx, walker_id: int, companion_ids: list[int], at: int, *, told: bool) -> None:
    """Her next walk at `at`, with each of these companions who still follows her. `told`:
    whether they hear of it now (not while her duress PIN's alarm is theirs to act on; the
    reminder comes at its time all the same, as her devices were told)."""
    for companion_id in companion_ids:
        if not contacts.is_accepted_companion(tx.conn, walker_id, companion_id):
            continue  # a guardian, or a contact that has ended: no walk to promise them
        offer_id = insert_id(
            tx.conn,
            offers,
            walker_id=walker_id,
            offerer_id=companion_id,
            state=PROMISED,
            created_at=tx.now_ms,
            at=at,
            expires_at=at,
            answered_at=tx.now_ms,
            promise_at=at,
            remind_at=at,
        )
        if told:
            when = describe(at, zone_of(tx.conn, companion_id))
            facts = {"offer_id": offer_id, "promised_at": at, "when": when}
            tell(tx, companion_id, "next_walk", walker_id, **facts)
