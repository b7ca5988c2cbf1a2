"""A walk as a batch of trusted fixes moves it: where she is, how far she has left, the door,
her pace, her battery. Folded in memory in time order inside the writer's transaction, and
saved once with the events it raised (`usecases/fixes.py` decides which fixes reach it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy.engine import Connection

from walkwithme.domain.driven import rise_after
from walkwithme.domain.fixes import MAX_JUDGED_ACCURACY_M, Fix
from walkwithme.domain.geo import distance_m
from walkwithme.domain.lingering import Stillness, still_after
from walkwithme.domain.pace import PAUSE_MS, paused_before, walked_after
from walkwithme.domain.rules import Progress, Reason, battery_notice, noise_m, progress_after
from walkwithme.domain.stops import (
    CROW_AWAY_M,
    Stop,
    door_where_she_stands,
    progress_from,
    stop_after,
)
from walkwithme.domain.walks import MAX_DOOR_ACCURACY_M, Destination, WalkState, door_after_fix
from walkwithme.store.tx import Tx
from walkwithme.streets import DistanceField
from walkwithme.usecases import (
    alerts,
    arrival,
    timeline,
    track_news,
    walk_columns,
    walk_record,
    walk_store,
)
from walkwithme.usecases.walk_record import Walk


class Track:
    """The walk as a batch of trusted fixes moves it, folded in memory in time order: where
    she is, how far she has left, the door, her battery. Saved once, with its events."""

    def __init__(
        self, walk: Walk, now_ms: int, field: DistanceField | None = None, *, charging: bool = False
    ) -> None:
        self.before = walk
        self.charging = charging  # the phone said it is on its charger
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
        # When her phone was last heard, if later than her last fix: a message that reached
        # the server (`received`), a heartbeat, a fix kept out of the map.
        self.heard_at = walk.heard_at
        self.batch_trusted: Fix | None = None  # the latest trusted fix of this batch so far
        self.withdrawn: str | None = None  # the question a fix of the batch took back
        # The question a fix of the batch that brought her to her door answers, if she is at
        # it still once the whole batch is folded in (`save`).
        self.door_answers: str | None = None
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
            self._newest_stored.append(walk_store.trusted_before(conn, self.before.id, None))
        newest = self._newest_stored[0]
        if newest is None or newest.t_ms < t_ms:
            stored = newest
        else:
            stored = walk_store.trusted_before(conn, self.before.id, t_ms)
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
            stop = self.walked.stop if self.walked is not None else None
            door = door_where_she_stands(was, door, stop, dest, fix, previous)
            self._door(was, door, fix, t)
            if not alarm:
                self.state = door
        judged = (fix.accuracy_m or 0.0) <= MAX_JUDGED_ACCURACY_M  # (a network position: shown)
        if dest is not None and straight is not None and judged:
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
        # (Beyond the street map's edge, the straight line: judged as without a map.)
        remaining, along_streets = (
            self.field.walking_left(
                fix.lat, fix.lon, (previous.lat, previous.lon) if previous else None
            )
            if self.field is not None
            else (straight, False)
        )
        before = dest.distance_from(previous.lat, previous.lon) if previous else None
        progressed_at = self.progress.progress_at if self.progress is not None else None
        left = max(0.0, remaining - dest.radius_m)
        stop_before = self.walked.stop if self.walked is not None else None
        # Since when she stood where her fixes gathered (None: she was walking, a pause in her
        # progress she walked through, slowly, sideways to her door, her fixes noisy, is no
        # wait: a walk told "waited a while" had its late alarm put off by each).
        stood_since = (
            stop_before.waited_since(fix.accuracy_m, PAUSE_MS) if stop_before is not None else None
        )
        self.walked, stepped = walked_after(self.walked, fix.lat, fix.lon, fix.accuracy_m, t, left)
        stop = stop_after(stop_before, fix.lat, fix.lon, fix.accuracy_m, t)
        # A pause in her progress (or a question about it waiting): noise round where she
        # stands is no progress, nor walking on; only clearly leaving the place is.
        asked_about_stop = self.before.walker_judged.check_reason == Reason.STALLED.value
        paused = (
            progressed_at is not None
            and previous is not None
            and (
                paused_before(
                    t - progressed_at, t - previous.t_ms, first=not self.walked.went_nearer
                )
                or asked_about_stop
            )
        )
        held = paused and not stop.left(fix.accuracy_m)
        progress_before = self.progress

        def progress(held: bool) -> Progress:
            return progress_after(
                progress_before,
                remaining,
                t,
                fix.accuracy_m,
                (straight, before),
                along_streets=along_streets,
                held=held,
            )

        self.progress = progress(held)
        stood = self._where_asked(stop_before) if asked_about_stop else None
        if (
            stood is not None
            and not held
            and along_streets
            and _nearer_as_the_crow_flies_only(
                progress_before, self.progress, t, remaining, fix.accuracy_m
            )
            and distance_m(stood[0], stood[1], fix.lat, fix.lon) <= CROW_AWAY_M
        ):
            # Asked about her stop, getting nearer only as the crow flies (no nearer along the
            # streets by more than noise) near where she stood is no progress: fixes reflected off
            # buildings toward her door, each claiming a good accuracy, took back her "Are you
            # OK?" 200 m from home, told her companions she was on her way again, and her
            # alarm came five minutes late (held-out walks). Leaving along the streets makes
            # progress as before; a longer way round, once she is 100 m from where she stood
            # when she was asked (`_where_asked`).
            # (Not before she is asked: a walker leaving a red light sideways to her door
            # would be asked for it.)
            self.progress = progress(held=True)
        nearer = self.progress.progress_at == t
        if self.progress.progress_at < self.before.started_at:
            # A fix taken before she started (a slow phone clock, within the start's slack)
            # starts no timer before her walk did: the stalled rule counted from it, and asked
            # a walker whose phone was two minutes slow two minutes into her walk.
            self.progress = replace(self.progress, progress_at=self.before.started_at)
        # Moving away fast, as in a vehicle (measured as the moving-away rule measures).
        rise = rise_after(
            self.walked.rise, remaining, straight, t, fix.accuracy_m, fix.speed_mps, nearer
        )
        stop = progress_from(fix.lat, fix.lon, t) if nearer else stop
        self.walked = replace(self.walked, stop=stop, rise=rise)
        if nearer:
            self.nearer_at = t
            self.walked = self.walked.got_nearer()
        elif (
            stepped
            and not along_streets
            and self.progress.away_since is None
            and self.walked.holds_off_stalled(straight)
        ):
            # Without streets, the straight line is all there is to judge her by, and streets
            # are not straight: walking on, not away, holds off the stalled rule for as long
            # as a way home's bends allow (along the streets, getting nearer on them does).
            self.progress = replace(self.progress, progress_at=t)
        # How long she waited (counted from her last progress, or from when she stood still if
        # that is later), or 0: a pause, but she walked through it.
        # Until she left where she stood: her last fix there, and one of her phone's
        # intervals (she left in between), not the fixes it took to see her clearly away.
        waited = (
            None
            if not paused or progressed_at is None or previous is None
            else 0
            if stood_since is None or stop_before is None
            else min(t, stop_before.last_at + t - previous.t_ms) - max(progressed_at, stood_since)
        )
        # A fix vaguer than her door trusts can't measure her pace: network positions by
        # turns with GPS moved a walker on time minutes later (an outside review).
        measures = (fix.accuracy_m or 0.0) <= MAX_DOOR_ACCURACY_M
        self._adapt_arrival(left, t, waited, nearer and measures)

    def _where_asked(self, stop: Stop | None) -> tuple[float, float] | None:
        """Where she stood when she was asked about her stop: her stop's middle at her first
        fix since, kept with her walk (`Walked.asked_where`) for as long as the question
        waits; the stop's own middle moves with her once she is clearly away from it, and a
        longer way round was never far from it (a review of this change). None: she was not
        standing (her fixes had not gathered round one place): a slow walker on a longer way
        round, asked, walks on, and her next fixes nearer as the crow flies are hers (a
        held-out walk alarmed so). Decided once a question, at her first fix after it (a
        stop that gathers later is not where she was asked)."""
        asked_at = self.before.walker_judged.check_asked_at
        walked = self.walked
        if asked_at is None or walked is None:
            return None
        kept = walked.asked_where
        if kept is None or kept[2] != asked_at:
            stood = stop is not None and stop.stood()
            lat, lon = (stop.lat, stop.lon) if stop is not None and stood else (None, None)
            kept = (lat, lon, asked_at)
            self.walked = replace(walked, asked_where=kept)
        if kept[0] is None or kept[1] is None:
            return None
        return kept[0], kept[1]

    def _withdraw_check(self, t: int) -> None:
        """A question her fixes answer: "Are you OK?" asked because her phone went silent is
        taken back by a fix taken after it, or as it was asked (her phone reports again: out
        of a tunnel, or its queue sent after an outage; or a phone whose interval is the
        silent rule's time, whose fix on time is taken as the question is asked); asked
        because she got no nearer, by a fix that gets her nearer again; asked because she was
        late or got no nearer, by the fix that brings her to her door (the rules of a walk at
        its door watch her from there: lingering, silence). Unanswered, it became an alarm
        while her companions watched her walk home, or after she had reached her door. Not the
        other questions: moving away or standing at her door are not undone by one fix, and
        only her PIN says she is OK (a wrong one still counts).

        Progress takes it back even in a fix taken as she was asked, or just before, that
        reaches the service after the question: the watchdog wakes at the stalled rule's
        time, which for a phone with a steady interval is one of its fixes' instants, and
        asks a moment before that fix lands. Her next fix would come only when her time to
        answer is up (a phone that reports every 60 s, at night). Were the fix older than
        her progress needs, the watchdog asks again at once, with a fresh time to answer."""
        walk = self.before
        reason = walk.walker_judged.check_reason
        asked_at = walk.walker_judged.check_asked_at
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
        elif reason in _ANSWERED_AT_THE_DOOR and self.door_at == t:
            # Settled once the batch is folded in: a batch her phone kept while offline may
            # take her through her door and on (the question stood, and was asked again).
            self.door_answers = reason

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
        if not at_door and self.progress is not None:
            # Her time at her door was watched by the door's rules, not the way's: a stall, or
            # walking away, counts from when she left it (stepping out to see someone off,
            # she was asked "not getting any closer" 40 s after, for her minutes at the door).
            self.progress = replace(self.progress, progress_at=t, away_since=None)
        self.events.append(("arrived" if at_door else "left_door", {"fix_t": fix.t_ms}))

    def received(self) -> None:
        """The message this batch came in reached the server now (`now_ms`): her phone is
        alive now, whatever times its fixes carry. A phone with no fresh fix sends the one it
        has with that fix's old time (Traccar Client 10's stationary heartbeat on iOS, indoors
        or underground; OwnTracks on iOS answering `reportLocation`), or a queue held through
        an outage: each counts against silence when it arrives, never as where she is.
        Nothing changes (and nothing is written) if the walk heard from her as recently."""
        if self.now_ms > max(self.latest_at or 0, self.heard_at or 0):
            self.heard_at = self.now_ms

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
        said: dict[str, Any] = {"battery": level, "position": track_news.position(where)}
        if self.charging:
            said["charging"] = True  # "Mira's battery is low, but charging"
        self.events.append(("low_battery", said))

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
            **(walk_columns.progress_columns(progress) if progress else {}),
            "door_at": self.door_at,
            "door_still": walk_columns.still_json(self.still),
            "battery_notice": self.notice,
            "expected_at": self.expected_at,
            "walked": walk_columns.walked_json(self.walked),
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

    def _adapt_arrival(self, left_m: float, t: int, waited: int | None, nearer: bool) -> None:
        """Her pace, and her expected arrival, after a fix that told how far she has left
        (`left_m`: to the door, along the streets or as the crow flies): `usecases/arrival`."""
        if self.walked is None:
            return
        progressed = self.progress is not None and self.progress.progress_at == t
        at_door = self.door_at is not None
        along = self.field is not None
        after = arrival.After(left_m, t, waited, nearer, progressed, at_door, along)
        moved = arrival.after_fix(self.before, self.walked, self.expected_at, after)
        self.walked, self.expected_at = moved.walked, moved.expected_at
        if moved.said is not None:
            self.events.append(moved.said)

    def save(self, tx: Tx, numbered: int = 0, fix: Mapping[str, Any] | None = None) -> bool:
        """`numbered`: fixes the batch added to the walk's track (numbered on from
        `fix_seq`), counted in the same update of the walk. `fix`: on PostgreSQL, the batch's
        one fix's row, inserted in the same statement as the walk's save, and the save made
        only if it goes in (walk_store.save_with_fix). False: that fix was stored already, and
        nothing was saved."""
        walk = self.before
        if self.door_answers is not None and self.state is WalkState.AT_DOOR:
            self.withdrawn = self.withdrawn or self.door_answers  # at her door, all read
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
        # What the batch tells: its events, a phone heard again, her walking on in an alarm.
        track_news.tell(
            tx,
            walk,
            track_news.News(
                self.events,
                max(self.latest_at or 0, self.heard_at or 0) or None,
                self.nearer_at,
                self.batch_trusted,
                self.progress.progress_m if self.progress is not None else None,
            ),
            self.now_ms,
        )
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


# The questions her arrival at her door answers (see `_withdraw_check`).
_ANSWERED_AT_THE_DOOR = (Reason.LATE.value, Reason.STALLED.value)

# The states in which a trusted fix moves her door (in an alarm, without leaving it).
_FOLLOWS_DOOR = (WalkState.ACTIVE, WalkState.AT_DOOR, WalkState.ALARM)


def _nearer_as_the_crow_flies_only(
    before: Progress | None, after: Progress, t: int, remaining_m: float, accuracy_m: float | None
) -> bool:
    """This fix made progress (`rules.progress_after`) as the crow flies, and is no nearer
    along the streets than the least before it by more than noise (one that is, the first
    of a pair, is her way along them)."""
    if before is None or after.progress_at != t:
        return False
    return remaining_m > before.progress_m - noise_m(accuracy_m)
