"""OwnTracks' Tours, here: a tour she makes in the app is a share link of her walk going on,
for the hours she chose (ingest/owntracks_tours.py has the app's words).

What a tour may show is what a share link may: her walk, through the link, until it expires
or she ends it (usecases/shares.py). So a tour needs a walk going on; one that starts later
is refused (the link would show where she is at once, before the time she chose); and it
lasts to the time she chose, `MAX_SHARE_HOURS` at most (its answer says until when), or to
the end of her walk if that comes first: a tour never shows her door once she is home.
The app is told the link's address once, when the tour is made: only its hash is kept, so
the list of her tours has no addresses (the app says "URL not available" for them).
"""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.fixes import MAX_FUTURE_MS
from walkwithme.domain.reporting import App
from walkwithme.domain.walks import LIVE_STATES
from walkwithme.ingest.owntracks_tours import END, LIST, MAKE, TourRequest, listed, made, written
from walkwithme.store.schema import share_links, walks
from walkwithme.store.tx import Tx
from walkwithme.usecases import shares, timeline
from walkwithme.usecases.walk_record import Walk

NO_WALK = "a tour shows a walk going on: start the walk first, then make the tour"
LATER = (
    "a tour that starts later is not made: its link would show where you are at once. "
    "Make it when you set off"
)
OVER = "a tour that is over already"


TOUR_MADE = "tour_made"  # the timeline's word for it (a `phone_signal`)


def take(
    tx: Tx,
    person_id: int,
    request: TourRequest,
    walk: Walk | None,
    base_url: str,
    device_name: str = "phone",
) -> tuple[dict[str, Any] | None, str | None]:
    """Do what the app asked: its answer (None: none is expected), and why it was not done
    (for her device's last refusal), if it wasn't. `walk`: her walk going on, as her own
    devices see it, if there is one.

    A tour made is said on the walk's timeline, to her and her companions: a phone's token
    posts fixes, and this is the one thing it can make that shows her walk to someone (a
    token that leaked, from a Traccar Client's address say, shows there, and she takes the
    link back from her walk page)."""
    if request.kind == LIST:
        return listed(tours_of(tx.conn, person_id, tx.now_ms)), None
    if request.kind == END:
        if request.problem is None:
            end(tx, person_id, request.uuid)
        return None, request.problem
    assert request.kind == MAKE
    if request.problem is not None:
        return made(400), request.problem
    if walk is None:
        return made(404), NO_WALK
    if request.from_ms > tx.now_ms + MAX_FUTURE_MS:
        return made(422), LATER
    until = min(request.to_ms, tx.now_ms + shares.MAX_SHARE_HOURS * shares.HOUR_MS)
    if until <= tx.now_ms:
        return made(422), OVER
    tour_uuid = str(uuid.uuid4())
    link = shares.create_link(
        tx,
        walk.id,
        person_id,
        (until - tx.now_ms) / shares.HOUR_MS,
        label=request.label,
        tour_uuid=tour_uuid,
    )
    timeline.record(
        tx,
        walk.id,
        "phone_signal",
        audience=walk.everyone,
        device=device_name,
        app=App.OWNTRACKS.value,
        signal=TOUR_MADE,
    )
    tour = {
        "label": request.label,
        # It shows her walk from its start: from then, if she chose a time before it.
        "from": written(max(walk.started_at, min(request.from_ms, tx.now_ms))),
        "to": written(until),
        "uuid": tour_uuid,
        "url": f"{base_url}/api/share/{link['token']}",
    }
    return made(200, tour), None


def tours_of(conn: Connection, person_id: int, now_ms: int) -> list[dict[str, Any]]:
    """Her tours that still show her walk, newest last, as the app lists them (without their
    addresses)."""
    rows = conn.execute(
        sa.select(
            share_links.c.label,
            share_links.c.created_at,
            share_links.c.expires_at,
            share_links.c.tour_uuid,
        )
        .join(walks, walks.c.id == share_links.c.walk_id)
        .where(
            walks.c.walker_id == person_id,
            # Her walk going on, as her own devices see it (`Walk.walker_live`).
            sa.func.coalesce(walks.c.cover_state, walks.c.state).in_(
                [state.value for state in LIVE_STATES]
            ),
            share_links.c.tour_uuid.is_not(None),
            share_links.c.revoked_at.is_(None),
            share_links.c.expires_at > now_ms,
        )
        .order_by(share_links.c.created_at, share_links.c.id)
    )
    return [
        {
            "label": row.label or "Tour",
            "from": written(row.created_at),
            "to": written(row.expires_at),
            "uuid": row.tour_uuid,
        }
        for row in rows
    ]


def end(tx: Tx, person_id: int, tour_uuid: str) -> None:
    """End her tour of that uuid, if it is hers and not ended: its link shows nothing more,
    and a page open through it closes."""
    walk_ids = sa.select(walks.c.id).where(walks.c.walker_id == person_id).scalar_subquery()
    found = tx.conn.execute(
        share_links.update()
        .where(
            share_links.c.tour_uuid == tour_uuid,
            share_links.c.walk_id.in_(walk_ids),
            share_links.c.revoked_at.is_(None),
        )
        .values(revoked_at=tx.now_ms)
        .returning(share_links.c.walk_id)
    ).all()
    for (walk_id,) in found:
        tx.touch(walk_id, access=True)
