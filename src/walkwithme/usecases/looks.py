"""Who looked: every opening of a walk's live data by someone other than its walker (a
companion's page, WebSocket or API read, a share link she made, an alarm's link), and her own
exports, recorded for her to see.

One record per person, door and link in any ten minutes: a page that reconnects, or an app
that polls, is one look, not hundreds. The records go when the walk is forgotten
(usecases/retention.py).

After her duress PIN her devices must see nothing that tells of the silent alarm: her list
leaves out the alarm's links opened since (but for a link her real PIN would have left
working), and her companions' looks since then, but for those
through a door they were still looking through as she gave it (an app that reads her walk
goes on as it did).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.rules import ESCALATE_AFTER_MS, LADDER
from walkwithme.domain.walks import WalkState
from walkwithme.store.schema import looks, people, share_links
from walkwithme.store.tx import Tx
from walkwithme.usecases.walk_record import Walk
from walkwithme.usecases.walk_store import ALARM_LINK_AFTER_MS

PAGE, LIVE, API, SHARE_LINK, ALARM_LINK, EXPORT = (
    "page",
    "live",
    "api",
    "share_link",
    "alarm_link",
    "export",
)
COMPANIONS_DOORS = (PAGE, LIVE, API)
SAME_LOOK_MS = 10 * 60_000
# A door he looked through this long before her duress PIN, he was still looking through: an
# app that reads her walk every minute or so is recorded every ten minutes (`SAME_LOOK_MS`).
STILL_LOOKING_MS = SAME_LOOK_MS + 2 * 60_000


def record(
    tx: Tx,
    walk_id: int,
    via: str,
    viewer_id: int | None = None,
    link_number: int | None = None,
) -> bool:
    """A look, unless the same one was recorded in the last ten minutes. His walk page and
    its own live connection are one look: her list said each visit twice ("opened your
    walk's page", "followed your walk live")."""
    doors = (PAGE, LIVE) if via in (PAGE, LIVE) else (via,)
    same = tx.conn.execute(
        sa.select(looks.c.id)
        .where(
            looks.c.walk_id == walk_id,
            looks.c.via.in_(doors),
            looks.c.viewer_id.is_(None) if viewer_id is None else looks.c.viewer_id == viewer_id,
            looks.c.link_number.is_(None)
            if link_number is None
            else looks.c.link_number == link_number,
            looks.c.at > tx.now_ms - SAME_LOOK_MS,
        )
        .limit(1)
    ).first()
    if same is not None:
        return False
    tx.conn.execute(
        looks.insert().values(
            walk_id=walk_id, via=via, viewer_id=viewer_id, link_number=link_number, at=tx.now_ms
        )
    )
    return True


def through_link(conn: Connection, token_hash: str) -> tuple[str, int | None]:
    """Which door a link is: one she made (with its number), or an alarm's."""
    row = conn.execute(
        sa.select(share_links.c.for_alarm, share_links.c.number).where(
            share_links.c.token_hash == token_hash
        )
    ).first()
    if row is None or row.for_alarm:
        return ALARM_LINK, None
    return SHARE_LINK, row.number


def of_walk(conn: Connection, walk: Walk) -> list[dict[str, Any]]:
    """Her walk's looks, oldest first, as her devices may see them."""
    query = (
        sa.select(looks.c.at, looks.c.via, looks.c.link_number, people.c.name)
        .outerjoin(people, people.c.id == looks.c.viewer_id)
        .where(looks.c.walk_id == walk.id)
        .order_by(looks.c.at, looks.c.id)
    )
    if walk.cover is not None:
        # What her real PIN would have left: no alarm's link opened since her duress PIN but
        # one her real PIN would have left working (`_twins_link`), and no companion's look
        # since then through a door he was not still looking through: its silent alarm is
        # what sends them to her walk, and her list showed them opening it, one after
        # another, within a minute of the PIN she gave (an outside review). One still looking
        # that way goes on being shown: his app reading her walk stopped at her PIN in her
        # list (a second review). Her links and her exports go on.
        query = query.where(sa.not_(_hidden_since(walk)))
    found = []
    for at, via, number, name in conn.execute(query):
        item: dict[str, Any] = {"at": at, "via": via}
        if name is not None:
            item["who"] = name
        if number is not None:
            item["link"] = number
        found.append(item)
    return found


def forget_what_the_cover_hid(tx: Tx, walk: Walk) -> None:
    """Her silent alarm ends: what `of_walk` hid from her devices while it lasted goes, so
    that they never show it once the cover that hid it is gone (an alarm's link opened, her
    companions following since her duress PIN): her real PIN would have left none of it."""
    if walk.cover is None:
        return
    tx.conn.execute(looks.delete().where(looks.c.walk_id == walk.id, _hidden_since(walk)))


def _hidden_since(walk: Walk) -> sa.ColumnElement[bool]:
    """What her devices are not shown: an alarm's link opened since her duress PIN (before
    it, her list had shown it already: taken away at her PIN, it told which one she gave, an
    outside review), and a companion's look since then through a door he had not been
    looking through just before it (`STILL_LOOKING_MS`; his page and its live connection are
    one door): a companion who opened her walk as it began, and again when the silent alarm
    reached him, was shown in her list 30 s after her PIN (a diff review)."""
    covered = _covered_from(walk)
    alarm_link_since = sa.and_(
        looks.c.via == ALARM_LINK, looks.c.at > covered, sa.not_(_twins_link(walk, covered))
    )
    before = looks.alias("before")
    same_door = sa.or_(
        sa.and_(looks.c.via.in_((PAGE, LIVE)), before.c.via.in_((PAGE, LIVE))),
        sa.and_(looks.c.via == API, before.c.via == API),
    )
    looked_so_before = (
        sa.select(before.c.id)
        .where(
            before.c.walk_id == walk.id,
            before.c.viewer_id == looks.c.viewer_id,
            before.c.at <= covered,
            before.c.at > covered - STILL_LOOKING_MS,
            same_door,
        )
        .exists()
    )
    companion_since = sa.and_(
        looks.c.via.in_(COMPANIONS_DOORS), looks.c.at > covered, sa.not_(looked_so_before)
    )
    return sa.or_(alarm_link_since, companion_since)


def _twins_link(walk: Walk, covered: int) -> sa.ColumnElement[bool]:
    """Whether a look through an alarm's link since her duress PIN is one her real PIN would
    have left her devices to see (a diff review found both hidden): through a link made
    before it, in the hour such a link works once her alarm ended (she ended it with her PIN;
    the link is anonymous, so any of them may be the one); or, while her devices are shown an
    alarm of their own (her SOS since, say), once its ladder would have reached her guardians
    with links of theirs."""
    cover = walk.cover
    assert cover is not None
    made_before = (
        sa.select(share_links.c.id)
        .where(
            share_links.c.walk_id == walk.id,
            share_links.c.for_alarm.is_(True),
            share_links.c.created_at <= covered,
        )
        .exists()
    )
    in_its_hour = sa.and_(made_before, looks.c.at <= covered + ALARM_LINK_AFTER_MS)
    shown = cover.judged
    if cover.state is not WalkState.ALARM or shown.alarm_at is None:
        return in_its_hour
    seen = [in_its_hour]
    if shown.alarm_at < covered:
        seen.append(made_before)  # the alarm she was shown before it goes on, and its links
    if (shown.escalation_level or 0) >= LADDER.index("guardians"):
        seen.append(looks.c.at >= shown.alarm_at + ESCALATE_AFTER_MS)
    return sa.or_(*seen)


def _covered_from(walk: Walk) -> int:
    """Since when her companions' looks are hidden from her devices: her duress PIN (or, for
    a cover given before it was kept, the walk's end for her devices; else none)."""
    cover = walk.cover
    assert cover is not None
    at = cover.since if cover.since is not None else cover.ended_at
    return at if at is not None else 2**62


def forget(tx: Tx, walk_id: int) -> None:
    tx.conn.execute(looks.delete().where(looks.c.walk_id == walk_id))
