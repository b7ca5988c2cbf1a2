"""A walk as a batch of trusted fixes moves it: where she is, how far she has left, the door,
her pace, her battery. Folded in memory in time order inside the writer's transaction, and
saved once with the events it raised (`usecases/fixes.py` decides which fixes reach it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from walkwithme.domain.fixes import Fix
from walkwithme.domain.lingering import Stillness, still_after
from walkwithme.domain.pace import adapted_arrival, guess_now, paused_before, walked_after
from walkwithme.domain.rules import Progress, Reason, battery_notice, progress_after
from walkwithme.domain.walks import Destination, WalkState, door_after_fix
from walkwithme.store.schema import fixes
from walkwithme.store.tx import Tx
from walkwithme.streets import DistanceField
from walkwithme.usecases import alarms, alerts, timeline, walk_record, walk_store
from walkwithme.usecases.walk_record import Walk


class Track:
    """The walk as a batch of trusted fixes moves it, folded in memory in time order: where
    she is, how far she has left, the door, her battery. Saved once, with its events."""

    def __init__(self, walk: Walk, now_ms: int, field: DistanceField | None = None) -> None:
        self.before = walk
        self.now_ms = now_ms
        self.field = field
        self.state = walk.walker_state  # under a duress PIN's cover, the door moves the cover
        self.moved = False  # a fix of the batch moved the walk (none was late)
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.last: Fix | None = walk.last.fix()
        self.latest_at = walk.last.at
        self.progress: Progress | None = walk.progress
        self.door_at = walk.door_at
        self.still = walk.still
        self.expected_at = walk.expected_at
        self.walked = walk.walked  # along her own track: her pace
        self.battery = walk.last.battery_pct
        self.notice = walk.battery_notice
        self.heard_at = walk.heard_at  # a fix kept out of the map still says her phone is alive
        self.batch_trusted: Fix | None = None  # the latest trusted fix of this batch so far
        self.withdrawn: str | None = None  # the question a fix of the batch took back
        self.nearer_at: int | None = None  # the instant of the last fix that got her nearer
        # The stored track's newest trusted fix, once read (a list: read or not, and what).
        self._newest_stored: list[Fix | None] = []

    def previous_trusted(self, conn: Connection, t_ms: int) -> Fix | None:
        """The trusted fix just before `t_ms`: from this batch, the walk, or (for a fix that
        arrived late) the stored track."""
        if self.latest_at is None or min(t_ms, self.now_ms) > self.latest_at:
            return self.last
        # Here for a late fix, and for every fix of a batch from a phone whose clock runs
        # ahead (its times are counted as the server's "now", so none is newer than the one
        # before): the stored track is read once a batch, and again only for a fix older than
        # its newest (the batch is judged before any of it is stored).
        if not self._newest_stored:
            self._newest_stored.append(_trusted_before(conn, self.before.id, None))
        newest = self._newest_stored[0]
        if newest is None or newest.t_ms < t_ms:
            stored = newest
        else:
            stored = _trusted_before(conn, self.before.id, t_ms)
        here = self.batch_trusted
        if here is not None and (stored is None or here.t_ms > stored.t_ms):
            return here
        return stored

    def add(self, fix: Fix) -> None:
        self.batch_trusted = fix
        # The rules count time by the server's clock: a phone whose clock runs ahead must not
        # hold the walk still (every later fix would look late) or push its deadlines out.
        t = min(fix.t_ms, self.now_ms)
        if self.latest_at is not None and t <= self.latest_at:
            return  # late: stored, drawn in its place, but it never moves the walk back
        walk = self.before
        previous = self.last
        self.latest_at = t
        self.last = fix
        dest = walk.destination
        # As the crow flies, to the door: for the door, and for what is left without streets.
        straight = dest.distance_from(fix.lat, fix.lon) if dest is not None else None
        if dest is not None and self.state in _FOLLOWS_DOOR:
            # During an alarm the walk stays in it, but her door is still followed: the people
            # looking for her are told when she reaches it, and when the alarm ends the walk
            # is at her door (`Walk.after_alarm`).
            alarm = self.state is WalkState.ALARM
            was = self._door_state if alarm else self.state
            door = door_after_fix(was, dest, fix, straight, came_from=previous)
            self._door(was, door, fix, t)
            if not alarm:
                self.state = door
        if dest is not None and straight is not None:
            self._nearer(fix, previous, dest, straight, t)
        self._withdraw_check(t)
        self._battery(fix.battery_pct, fix)
        self.moved = True

    def _nearer(
        self, fix: Fix, previous: Fix | None, dest: Destination, straight: float, t: int
    ) -> None:
        """How far she has left after a trusted fix (`straight`: to the door as the crow
        flies), whether she got nearer, how far she has walked, and her expected arrival."""
        # Measured from wherever she is, never from the route the server would take: she may
        # choose another street, and that is no reason to worry.
        remaining = (
            self.field.walking_distance_left(
                fix.lat, fix.lon, (previous.lat, previous.lon) if previous else None
            )
            if self.field is not None
            else straight
        )
        before = dest.distance_from(previous.lat, previous.lon) if previous else None
        progressed_at = self.progress.progress_at if self.progress is not None else None
        left = max(0.0, remaining - dest.radius_m)
        self.walked, stepped = walked_after(self.walked, fix.lat, fix.lon, fix.accuracy_m, t, left)
        self.progress = progress_after(
            self.progress,
            remaining,
            t,
            fix.accuracy_m,
            (straight, before),
            along_streets=self.field is not None,
        )
        nearer = self.progress.progress_at == t
        if nearer:
            self.nearer_at = t
            self.walked = self.walked.got_nearer()
        elif (
            stepped
            and self.field is None
            and self.progress.away_since is None
            and self.walked.holds_off_stalled(straight)
        ):
            # Without streets, the straight line is all there is to judge her by, and streets
            # are not straight: walking on, not away, holds off the stalled rule for as long
            # as a way home's bends allow (along the streets, getting nearer on them does).
            self.progress = replace(self.progress, progress_at=t)
        paused = (
            progressed_at is not None
            and previous is not None
            and paused_before(t - progressed_at, t - previous.t_ms)
        )
        self._adapt_arrival(left, t, paused, nearer)

    def _withdraw_check(self, t: int) -> None:
        """A question her fixes answer: "Are you OK?" asked because her phone went silent is
        taken back by a fix taken after it, or as it was asked (her phone reports again: out
        of a tunnel, or its queue sent after an outage; or a phone whose interval is the
        silent rule's time, whose fix on time is taken as the question is asked); asked
        because she got no nearer, by a fix that gets her nearer again. Unanswered, it became
        an alarm while her companions watched her walk home. Not the other questions: moving
        away, being late or standing at her door are not undone by one fix, and only her PIN
        says she is OK (a wrong one still counts).

        Progress takes it back even in a fix taken as she was asked, or just before, that
        reaches the service after the question: the watchdog wakes at the stalled rule's
        time, which for a phone with a steady interval is one of its fixes' instants, and
        asks a moment before that fix lands. Her next fix would come only when her time to
        answer is up (a phone that reports every 60 s, at night). Were the fix older than
        her progress needs, the watchdog asks again at once, with a fresh time to answer."""
        walk = self.before
        reason = walk.walker_check_reason
        asked_at = walk.cover.check_asked_at if walk.cover is not None else walk.check_asked_at
        if self.withdrawn is not None or reason is None or asked_at is None:
            return
        if walk.walker_state not in (WalkState.ACTIVE, WalkState.AT_DOOR):
            return  # an alarm is answered by a person, never by a fix
        # Getting nearer, not walking on: without streets, steps that bring her no nearer
        # hold the question off while she walks (above), but once it is asked they don't
        # answer it. Led back within a winding way's allowance, held until she was asked,
        # then walked off sideways, she had it taken back, and her alarm came five minutes
        # late, from a second question.
        if (reason == Reason.SILENT.value and t >= asked_at) or (
            reason == Reason.STALLED.value and self.nearer_at == t
        ):
            self.withdrawn = reason

    @property
    def _door_state(self) -> WalkState:
        return WalkState.AT_DOOR if self.door_at is not None else WalkState.ACTIVE

    def _door(self, was: WalkState, door: WalkState, fix: Fix, t: int) -> None:
        """Her door after a trusted fix (`was` and `door`: at it, or on the way)."""
        at_door = door is WalkState.AT_DOOR
        if door is was:
            if at_door:
                # Moving near the door is not lingering (one noisy fix may have put her "at
                # the door" while she still walks home): the rule counts from when she stopped.
                self.still = still_after(self.still, fix.lat, fix.lon, fix.accuracy_m, t)
            return
        self.door_at = t if at_door else None
        self.still = Stillness(fix.lat, fix.lon, t) if at_door else None
        self.events.append(("arrived" if at_door else "left_door", {"fix_t": fix.t_ms}))

    def heard(self, fix: Fix) -> None:
        """A fix kept out of the map (inaccurate, or a jump): not where she is, but her phone
        sent it, so her walk is not silent (as a heartbeat), and its battery is read."""
        self.alive(fix.t_ms, fix.battery_pct)

    def alive(self, t_ms: int, battery_pct: float | None) -> None:
        """Her phone said it is alive at `t_ms` (a heartbeat, or a fix not drawn), with its
        battery if it said: her walk is not silent, and a low battery is told."""
        t = min(t_ms, self.now_ms)
        if t > max(self.latest_at or 0, self.heard_at or 0):
            self.heard_at = t
            self._battery(battery_pct, self.last)

    def _battery(self, level: float | None, where: Fix | None) -> None:
        """Her phone's battery (`level`, if it said); a word to her companions when it runs
        low, with where she was last seen (`where`)."""
        if level is not None:
            self.battery = level
        notice = battery_notice(self.notice, level)
        if notice is None:
            return
        self.notice = notice
        # Not an alarm: a word to the companions while the phone can still send one.
        position = (
            {
                "t": where.t_ms,
                "lat": where.lat,
                "lon": where.lon,
                "accuracy": where.accuracy_m,
                "bearing": where.bearing_deg,
            }
            if where is not None
            else None
        )
        self.events.append(("low_battery", {"battery": level, "position": position}))

    def values(self) -> dict[str, Any]:
        """What the batch changed of the walk's columns (nothing, if none of its fixes moved
        it), made once for the save rather than after every fix."""
        fix = self.last
        if not self.moved or fix is None:
            return self._heard_values()
        progress = self.progress
        return {
            **self._heard_values(),
            "last_fix_at": self.latest_at,
            "last_lat": fix.lat,
            "last_lon": fix.lon,
            "last_accuracy_m": fix.accuracy_m,
            "last_speed_mps": fix.speed_mps,
            "last_bearing_deg": fix.bearing_deg,
            "last_battery_pct": self.battery,
            **(walk_record.progress_columns(progress) if progress else {}),
            "door_at": self.door_at,
            "door_still": walk_record.still_json(self.still),
            "battery_notice": self.notice,
            "expected_at": self.expected_at,
            "walked": walk_record.walked_json(self.walked),
            **(self._withdrawn_values() if self.withdrawn is not None else {}),
        }

    def _withdrawn_values(self) -> dict[str, Any]:
        """The question taken back (`_withdraw_check`): where her devices' check is kept."""
        covert = self.before.covert
        return walk_record.shown_columns(covert, check_reason=None, check_asked_at=None)

    def _heard_values(self) -> dict[str, Any]:
        """What fixes kept out of the map changed: when her phone was last heard, her
        battery."""
        before = self.before
        if self.heard_at == before.heard_at:
            return {}
        return {
            "heard_at": self.heard_at,
            "last_battery_pct": self.battery,
            "battery_notice": self.notice,
        }

    def _adapt_arrival(self, left_m: float, t: int, paused: bool, nearer: bool) -> None:
        """Her pace is measured from her first fix, or from where she set off again after a
        pause (`paused`: this fix's progress is her first since she stood still a while: a
        wait at the start or at a light is not her walking pace); while she keeps getting
        nearer (`nearer`: this fix did), a slower pace than planned moves her expected
        arrival (and the timeline says so). `left_m`: to the door, along the streets or as
        the crow flies."""
        walked = self.walked
        if walked is None:
            return
        if paused and self.progress is not None and self.progress.progress_at == t:
            self.walked = walked.marked(left_m, t)
            return
        if not nearer:
            return  # no nearer with this fix (walking on, or still): no more time
        if self.door_at is not None:
            return  # at her door: she needs no more time to get there (the door rules watch)
        walk = self.before
        if not walk.walker_live:
            return  # over, for her devices (her duress PIN): what they show doesn't move
        # Only a walker slower than planned along her own track, or, at her pace, one in the
        # last quarter of her time, may need more (`guess_now`): early on, how fast her way
        # left seems to fall is a poor measure (a street running sideways to her door; fixes
        # off the street the map has, whose way left reads longer than it is).
        if not guess_now(walked.track_mps, walk.pace_mps, t, walk.started_at, self.expected_at):
            return
        pace: float | None
        if self.field is not None:
            # Along the streets, how fast her way left shrinks is her pace toward the door.
            pace = walked.pace_along_streets(left_m, t)
        else:
            # As the crow flies, her pace is along her track, and the way left a guess
            # (`Walked.way_left`).
            pace = walked.track_mps
            guessed = walked.way_left(left_m)
            if guessed is None:
                return
            left_m = guessed
        later = adapted_arrival(self.expected_at, walk.started_at, pace, left_m, t)
        if later is not None:
            self.expected_at = later
            self.events.append(("expected_later", {"expected_at": later}))

    def save(self, tx: Tx, numbered: int = 0, fix: Mapping[str, Any] | None = None) -> bool:
        """`numbered`: fixes the batch added to the walk's track (numbered on from
        `fix_seq`), counted in the same update of the walk. `fix`: on PostgreSQL, the batch's
        one fix's row, inserted in the same statement as the walk's save, and the save made
        only if it goes in (walk_store.save_with_fix). False: that fix was stored already, and
        nothing was saved."""
        walk = self.before
        values = self.values()
        if values and walk.covert:
            values["cover_state"] = self.state.value
        # A batch can leave and come back to the door: the net change is what is saved.
        target = self.state if values and not walk.covert and self.state is not walk.state else None
        if numbered:
            values["fix_seq"] = walk.fix_seq + numbered
        if not values:
            return True
        if fix is None:
            walk_store.save(tx, walk, target, **values)
        elif walk_store.save_with_fix(tx, walk, fix, target, **values) is None:
            return False
        if self.withdrawn is not None:
            self._said_withdrawn(tx)
        if not self.events:
            return True
        # During an alarm, everyone it reached (her guardians, the hook) is looking for her.
        reached = (
            alarms.who_it_reached(tx.conn, walk)
            if walk.state is WalkState.ALARM
            else alarms.Reached(alerts.companion_ids(tx.conn, walk.id), [], hook=False)
        )
        for kind, facts in self.events:
            # Her companions are told when she first reaches her door (not each time a noisy
            # fix takes her out of it and back), and when her battery runs low.
            told = kind == "low_battery" or (
                kind == "arrived" and timeline.last_event(tx.conn, walk.id, "arrived") is None
            )
            event_id = timeline.record(tx, walk.id, kind, audience=walk.everyone, **facts)
            if told:
                reached.tell(tx, walk, kind, facts, event_id)
        return True

    def _said_withdrawn(self, tx: Tx) -> None:
        """The question taken back, on the timelines of those who saw it asked (after her
        duress PIN: her devices', and the cover's line for the people looking for her, as
        `judging.ask` put it), and its alert not sent if it still waits."""
        walk = self.before
        timeline.record_shown(
            tx, walk.id, "check_withdrawn", covert=walk.covert, reason=self.withdrawn
        )
        alerts.supersede(tx, walk.id, ("check",), "the question was taken back")


# The states in which a trusted fix moves her door (in an alarm, without leaving it).
_FOLLOWS_DOOR = (WalkState.ACTIVE, WalkState.AT_DOOR, WalkState.ALARM)


def _trusted_before(conn: Connection, walk_id: int, t_ms: int | None) -> Fix | None:
    """The walk's stored trusted fix just before `t_ms` (None: its newest)."""
    row = conn.execute(
        _TRUSTED_BEFORE, {"walk_id": walk_id, "before": t_ms if t_ms is not None else 2**62}
    ).first()
    return Fix(row.taken_at, row.lat, row.lon, row.accuracy_m) if row else None


_TRUSTED_BEFORE = (
    sa.select(fixes.c.taken_at, fixes.c.lat, fixes.c.lon, fixes.c.accuracy_m)
    .where(
        fixes.c.walk_id == sa.bindparam("walk_id"),
        fixes.c.taken_at < sa.bindparam("before"),
        fixes.c.flag.is_(None),
    )
    .order_by(fixes.c.taken_at.desc())
    .limit(1)
)
