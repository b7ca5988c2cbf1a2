"""The watchdog's decisions: what it runs for a walk that fell due, and the check it asks.

`judge` re-reads the walk in the writer's transaction and acts only if the due time it claimed
is still the walk's due time: a fix that landed meanwhile moved it, and then there is nothing
to decide. After her duress PIN, it also judges the walk her devices are shown (the cover),
with the same rules: see `_judge_covert`. The alarms it raises are usecases/alarms.py's.

Before "Are you OK?" for silence or a stall, a phone that can be asked for its position is
asked first and the check waits a short while for its answer (domain/fresh_fix.py): `judge`
then answers "fix_asked", and the watchdog has the MQTT bridge publish the question
(`phone_topics`) once the decision is committed. Only a process that follows the broker can
ask (`can_ask_phone`); any process honours a wait that another one started, since the walk
keeps when its phone was asked (`walks.fix_asked_at`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import NotFound
from walkwithme.domain.fresh_fix import Wait, before_asking
from walkwithme.domain.rules import Reason, Verdict, Watch, evaluate, next_look_after
from walkwithme.domain.walks import LIVE_VALUES, WalkState
from walkwithme.security import new_token, token_hash
from walkwithme.store.schema import answer_links, devices, insert_id, people, walks
from walkwithme.store.tx import Tx
from walkwithme.usecases import alerts, timeline
from walkwithme.usecases.alarms import (
    escalate,
    escalate_shown,
    facts_of,
    raise_alarm,
    shown_alarm,
    tell_shown,
)
from walkwithme.usecases.devices import KEPT
from walkwithme.usecases.walk_record import Walk, shown_columns
from walkwithme.usecases.walk_store import get_walk, save


def due_walks(conn: Connection, now_ms: int, limit: int = 500) -> list[tuple[int, int]]:
    rows = conn.execute(
        sa.select(walks.c.id, walks.c.next_due_at)
        .where(walks.c.next_due_at <= now_ms, walks.c.state.in_(LIVE_VALUES))
        .order_by(walks.c.next_due_at)
        .limit(limit)
    )
    return [(r.id, r.next_due_at) for r in rows]


def counts(conn: Connection) -> dict[str, int]:
    """Live walks and alarms, for /metrics: numbers, never anyone's whereabouts."""
    rows = conn.execute(
        sa.select(walks.c.state, sa.func.count())
        .where(walks.c.state.in_(LIVE_VALUES))
        .group_by(walks.c.state)
    )
    return {state: int(n) for state, n in rows}


def earliest_due(conn: Connection) -> int | None:
    value = conn.execute(
        sa.select(sa.func.min(walks.c.next_due_at)).where(walks.c.state.in_(LIVE_VALUES))
    ).scalar()
    return int(value) if value is not None else None


def verdict(walk: Walk, watch: Watch, now_ms: int) -> Verdict:
    """The walk's rules, judged now: the one place they are called, for the walk itself and
    for the shadow of the walk her devices are shown (`Walk.cover_watch`). A question waiting
    for her answer is judged by the thresholds of the hour she was asked in: the time to
    answer she was told (`Walk.answer_by`), even when day turns to night meanwhile."""
    asked_at = watch.check_asked_at if watch.check_reason is not None else None
    thresholds_at = now_ms if asked_at is None else asked_at
    return evaluate(watch, now_ms, walk.profiles.at(thresholds_at, walk.timezone))


# After the database refused to store anything for a while (a lock held by another process,
# a disk, a server gone), what her phone sent meanwhile is still on its way: phones retry.
# For this long after it takes writes again, a walk not heard from since is not judged by
# what it looks like (silent, no nearer, her answer not in): a review of faults had her
# asked "Are you OK?" about a phone that never stopped sending.
CATCH_UP_MS = 60_000


@dataclass(frozen=True)
class Fault:
    """The database's last fault as this process met it: since when, and when it was back
    (the moment of the look, while it still fails)."""

    began: int
    back: int


# The database's last fault as of a moment (its time): read when a walk is judged, on the
# writer's thread, not when the watchdog looked: a write refused in between is a fault too
# (a diff review: a walk that fell due as a lock began was asked at once, after it).
Faults = Callable[[int], Fault | None]


def _catching_up(walk: Walk, watch: Watch, now_ms: int, fault: Fault | None) -> int | None:
    """Until when to wait for her phone's messages held up by a fault (None: no need). Only
    a phone not yet silent by the rules when the fault began can have had messages held up
    by it: one silent before is silent, fault or none (faults one after another each held
    off her alarm anew while her phone stayed silent: a review of this change)."""
    if fault is None or now_ms >= fault.back + CATCH_UP_MS:
        return None
    heard = watch.last_heard_at or watch.started_at
    if heard < fault.began - walk.profiles.at(fault.began, walk.timezone).silent_ms:
        return None
    return fault.back + CATCH_UP_MS if heard < fault.back else None


def judge(
    tx: Tx,
    walk_id: int,
    seen_due: int,
    *,
    has_hook: bool = False,
    can_ask_phone: bool = False,
    faults: Faults | None = None,
) -> str | None:
    """Decide about a walk that fell due. Returns "check", "alarm", "escalated", "fix_asked"
    (ask her phones for a fresh fix now: the caller publishes it after the commit), or None
    (nothing was due after all). `has_hook`: the operator configured an emergency hook;
    `can_ask_phone`: this process can publish to phones (it follows the MQTT broker);
    `faults`: the database's last fault this process met (`CATCH_UP_MS`)."""
    fault = faults(tx.now_ms) if faults is not None else None
    walk = get_walk(tx.conn, walk_id)
    if walk is None or not walk.live or walk.next_due_at != seen_due:
        return None  # over, or moved by a fix since the watchdog looked
    if walk.covert:
        return _judge_covert(tx, walk, has_hook=has_hook, can_ask_phone=can_ask_phone, fault=fault)
    if walk.state is WalkState.ALARM:
        _walk, said = escalate(tx, walk, has_hook=has_hook)
        return "escalated" if said else None
    found = verdict(walk, walk.watch(), tx.now_ms)
    held = _catching_up(walk, walk.watch(), tx.now_ms, fault)
    if held is not None and (found.alarm is not None or found.ask is not None):
        _look_again(tx, walk, [held])
        return None
    if found.alarm is not None:
        raise_alarm(tx, walk, found.alarm, asked=walk.judged.check_reason)
        return "alarm"
    if found.ask is not None:
        wait = _fresh_fix_first(tx, walk, walk.watch(), found.ask, can_ask_phone)
        if wait is not None:
            return _wait_for_fix(tx, walk, wait, [next_look_after(walk.watch(), tx.now_ms)])
        ask(tx, walk, found.ask)
        return "check"
    # The hint was early (the night profile, say): look again when something is really due.
    _look_again(tx, walk, [found.next_due_at, next_look_after(walk.watch(), tx.now_ms)])
    return None


def _judge_covert(
    tx: Tx, walk: Walk, *, has_hook: bool, can_ask_phone: bool, fault: Fault | None
) -> str | None:
    """A walk in the silent alarm of her duress PIN: its ladder climbs, while the rules'
    shadow judges the walk her devices are shown exactly as the rules would have judged the
    walk her real PIN left: she is asked "Are you OK?" (her phone asked for a fresh fix
    first, as it would have been), an unanswered question is an alarm for her devices, and
    that alarm climbs its own ladder, for her devices only."""
    now = tx.now_ms
    decided: str | None = None
    saved = False  # the walk was saved: its due time is recomputed already
    if walk.judged.escalate_at is not None and walk.judged.escalate_at <= now:
        walk, said = escalate(tx, walk, has_hook=has_hook)
        decided, saved = ("escalated" if said else None), True
    shadow = walk.cover_watch()
    cover = walk.cover
    if cover is not None and cover.state is WalkState.ALARM:
        if cover.judged.escalate_at is not None and cover.judged.escalate_at <= now:
            said = escalate_shown(tx, walk, cover, has_hook=has_hook)
            return "escalated" if said else decided
        looks = [cover.judged.escalate_at]
    elif walk.walker_live:
        found = verdict(walk, shadow, now)
        held = _catching_up(walk, shadow, now, fault)  # as `judge` would hold the real walk
        if held is not None and (found.alarm is not None or found.ask is not None):
            found = replace(found, ask=None, alarm=None, next_due_at=held)
        if found.alarm is not None:
            asked = walk.walker_judged.check_reason  # the question her devices were asked
            walk = shown_alarm(tx, walk, found.alarm, asked)
            tell_shown(tx, walk, "alarm", found.alarm, asked)
            return "alarm"
        if found.ask is not None:
            wait = _fresh_fix_first(tx, walk, shadow, found.ask, can_ask_phone)
            if wait is None:
                ask(tx, walk, found.ask)
                return "check"
            asked = _wait_for_fix(
                tx, walk, wait, [walk.judged.escalate_at, next_look_after(shadow, now)]
            )
            return asked or decided
        looks = [found.next_due_at, next_look_after(shadow, now)]
    else:
        looks = []
    if not saved:
        _look_again(tx, walk, [walk.judged.escalate_at, *looks])
    return decided


def _look_again(tx: Tx, walk: Walk, candidates: list[int | None]) -> None:
    """Nothing was due after all: the watchdog looks again at the earliest of these."""
    found = [at for at in candidates if at is not None]
    tx.conn.execute(
        _MOVE_DUE,
        {"walk_id": walk.id, "seen_due": walk.next_due_at, "due": min(found) if found else None},
    )


def _fresh_fix_first(
    tx: Tx, walk: Walk, watch: Watch, reason: Reason, can_ask_phone: bool
) -> Wait | None:
    """Before asking her "Are you OK?" for this reason: wait for a fresh fix first? (None:
    ask her now.) Her phones are asked only if one of them can be, from this process."""
    now = tx.now_ms
    can_ask = can_ask_phone and bool(phone_topics(tx.conn, walk.walker_id))
    thresholds = walk.profiles.at(now, walk.timezone)
    return before_asking(
        watch, reason, thresholds, now, fix_asked_at=walk.fix_asked_at, can_ask=can_ask
    )


def _wait_for_fix(tx: Tx, walk: Walk, wait: Wait, others: list[int | None]) -> str | None:
    """Look again when the wait for her phone's fix is over (or at the earliest of `others`,
    the walk's other due times), having asked her phone now if `wait` says so. Nothing
    anyone sees changes: her phone's answer, if any, is a fix like any other."""
    if not wait.ask_phone:
        _look_again(tx, walk, [wait.look_at, *others])
        return None
    due = min(at for at in (wait.look_at, *others) if at is not None)
    done = tx.conn.execute(
        _ASK_PHONE,
        {"walk_id": walk.id, "seen_due": walk.next_due_at, "due": due, "now": tx.now_ms},
    )
    return "fix_asked" if done.rowcount == 1 else None


def phone_topics(conn: Connection, walker_id: int) -> list[str]:
    """The MQTT topics of her phones that can be asked for their position (OwnTracks bound to
    a topic, not revoked); their commands go to `<topic>/cmd`."""
    rows = conn.execute(
        sa.select(devices.c.owntracks_topic)
        .join(people, people.c.id == devices.c.person_id)
        .where(
            devices.c.person_id == walker_id,
            devices.c.owntracks_topic.is_not(None),
            KEPT,
            people.c.disabled_at.is_(None),
        )
        .order_by(devices.c.id)
    )
    return [str(topic) for topic in rows.scalars()]


def walk_phone_topics(conn: Connection, walk_id: int) -> list[str]:
    """`phone_topics` of the walk's walker (none if the walk is gone)."""
    walker_id = conn.execute(
        sa.select(walks.c.walker_id).where(walks.c.id == walk_id)
    ).scalar_one_or_none()
    return phone_topics(conn, walker_id) if walker_id is not None else []


_ASK_PHONE = (
    walks.update()
    .where(walks.c.id == sa.bindparam("walk_id"), walks.c.next_due_at == sa.bindparam("seen_due"))
    .values(fix_asked_at=sa.bindparam("now"), next_due_at=sa.bindparam("due"))
)

# The due time moves only if it is still the one the decision was taken on.
_MOVE_DUE = (
    walks.update()
    .where(walks.c.id == sa.bindparam("walk_id"), walks.c.next_due_at == sa.bindparam("seen_due"))
    .values(next_due_at=sa.bindparam("due"))
)


def postpone(tx: Tx, walk_id: int, seen_due: int, delay_ms: int) -> None:
    """For a walk whose judging failed: look again later instead of failing in a loop."""
    tx.conn.execute(
        _MOVE_DUE, {"walk_id": walk_id, "seen_due": seen_due, "due": tx.now_ms + delay_ms}
    )


def ask(tx: Tx, walk: Walk, reason: Reason) -> None:
    """Ask the walker "Are you OK?"; she answers with her PIN within the response window.
    The question reaches her open pages (the timeline) and her own channels. After her duress
    PIN it is the walk her devices are shown that asks (its shadow's check): they get the
    question as her real PIN's walk would have, and the people looking out for her see, in
    their timeline, that she was asked."""
    covert = walk.covert
    save(tx, walk, **shown_columns(covert, check_reason=reason.value, check_asked_at=tx.now_ms))
    # When her time to answer is up (said on her page: "Answer by 23:41").
    answer_by = walk.answer_by(tx.now_ms, reason)
    facts = {"reason": reason.value, "answer_by": answer_by, **facts_of(walk, tx.now_ms)}
    event_id = timeline.record_shown(tx, walk.id, "check", covert=covert, **facts)
    # Her channels get a link to a page where she answers with her PIN, from any browser.
    token = new_token("ans")
    insert_id(
        tx.conn, answer_links, walk_id=walk.id, token_hash=token_hash(token), created_at=tx.now_ms
    )
    told = {**facts, "link_path": f"/answer/{token}"}
    alerts.tell(tx, walk, "check", told, [walk.walker_id], event_id=event_id)


def walk_for_answer(conn: Connection, token: str) -> Walk:
    """The walk an answer link belongs to, while it is live; NotFound otherwise."""
    row = conn.execute(
        sa.select(answer_links.c.walk_id).where(answer_links.c.token_hash == token_hash(token))
    ).first()
    walk = get_walk(conn, row.walk_id) if row else None
    if walk is None or not walk.walker_live:
        raise NotFound("this link has expired: the walk is over")
    return walk
