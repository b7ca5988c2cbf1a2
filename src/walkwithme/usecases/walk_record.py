"""A walk's record: `Walk` as stored (all but its PINs' hashes), made from its row, and
changed in memory. The values it keeps in columns of their own (where she was last seen, after
her duress PIN the `Cover` her own devices are shown...) are usecases/walk_columns.py's; reading
and saving it are usecases/walk_store.py's.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import orjson

from walkwithme.domain.lingering import Stillness
from walkwithme.domain.pace import Walked
from walkwithme.domain.profiles import DEFAULT_PROFILES, Profiles
from walkwithme.domain.rules import (
    Progress,
    Quiet,
    Reason,
    Watch,
    answer_window_ms,
    next_due_at,
    quiet_after_answer,
)
from walkwithme.domain.walks import LIVE_STATES, Destination, WalkState, seen_at_door
from walkwithme.store.schema import walks
from walkwithme.usecases import timeline
from walkwithme.usecases.walk_columns import (
    KEPT,
    NO_FIX,
    NOTHING_JUDGED,
    Cover,
    Judged,
    LastFix,
    ShownToHer,
)

MINUTE_MS = 60_000


@dataclass(frozen=True)
class Walk:
    """A walk as stored (all but its PIN's hash)."""

    id: int
    walker_id: int
    state: WalkState
    destination: Destination | None  # None: a timer walk
    pace_mps: float
    timezone: str
    started_at: int
    expected_at: int
    ended_at: int | None
    last: LastFix = NO_FIX  # where she was last seen
    next_due_at: int | None = None
    # The last time a message from one of her phones reached the service, when later than
    # her last fix: a heartbeat, a fix kept off the map, a position sent again with its old
    # time (usecases/track.py, `Track.received`). It counts against silence, and nothing else.
    heard_at: int | None = None
    progress: Progress | None = None  # how she gets nearer (None: no fix counted yet)
    door_at: int | None = None
    # Where she has been standing near the door since she last moved (kept as `door_still`).
    still: Stillness | None = None
    walked: Walked | None = None  # how far she has walked, along her track: her pace
    # What the rules did about it: the check asked, the quiet time after her answer, the alarm
    # raised and its ladder.
    judged: Judged = NOTHING_JUDGED
    # When her phone was last asked for a fresh position before a check (usecases/judging.py)
    fix_asked_at: int | None = None
    wrong_pins: int = 0  # PIN attempts since her last right one (usecases/moments.py)
    pin_retry_at: int | None = None  # no PIN attempt is taken before this
    battery_notice: int | None = None
    cover: Cover | None = None  # after her duress PIN: what her own devices are shown
    # Once her duress PIN ended the walk for her devices: what they saw of where she was then.
    shown_to_her: ShownToHer | None = None
    profiles: Profiles = DEFAULT_PROFILES  # the thresholds it started with
    fix_seq: int = 0  # how many fixes its track has numbered (as read: see walks_taking_fixes)
    version: int = 0  # moved on by every change: `save` changes the walk as read, or nothing

    @property
    def live(self) -> bool:
        return self.state in LIVE_STATES

    @property
    def walking_since(self) -> int | None:
        """When the walk she is on started (None: it is over): a contact she ends meanwhile
        stays on it until it is (contacts.standing)."""
        return self.started_at if self.live else None

    @property
    def at_her_door(self) -> bool:
        """At her door, or last seen there (`seen_at_door`): where her "I'm inside" is home."""
        return self.door_at is not None or seen_at_door(self.destination, self.last.fix())

    @property
    def alarm_since(self) -> int | None:
        """When the alarm it is in was raised (None: not in alarm)."""
        return self.judged.alarm_at if self.state is WalkState.ALARM else None

    @property
    def shown_alarm_since(self) -> int | None:
        """When the alarm her own devices are shown was raised (None: they are shown none):
        after her duress PIN, the cover's, not the silent alarm's."""
        return self.walker_judged.alarm_at if self.walker_state is WalkState.ALARM else None

    @property
    def shown_walking_since(self) -> int | None:
        """When the walk started, while her own devices are shown it live (None: over)."""
        return self.started_at if self.walker_live else None

    @property
    def after_alarm(self) -> WalkState:
        """Where an alarm that ends leaves the walk: at her door if she was there, else going on."""
        return WalkState.AT_DOOR if self.door_at is not None else WalkState.ACTIVE

    @property
    def covert(self) -> bool:
        """She gave her duress PIN: the walk is in a silent alarm her own devices don't show."""
        return self.cover is not None

    @property
    def walker_state(self) -> WalkState:
        """The state her own devices are shown: what her real PIN would have left."""
        return self.cover.state if self.cover is not None else self.state

    @property
    def walker_live(self) -> bool:
        return self.walker_state in LIVE_STATES

    @property
    def everyone(self) -> str:
        """Who an event for "everybody on the walk" reaches: after her duress PIN ended the walk
        for her devices, only those looking out for her (nothing more happens, for her)."""
        if self.covert and not self.walker_live:
            return timeline.FOR_COMPANIONS
        return timeline.FOR_ALL

    @property
    def walker_ended_at(self) -> int | None:
        return self.cover.ended_at if self.cover is not None else self.ended_at

    @property
    def walker_view(self) -> Walk:
        """The walk as her own devices are shown where she is: after her duress PIN ended it
        for them, with its last position as it was then; once they were shown it forgotten,
        with no destination either (a forgotten walk keeps none)."""
        shown = self.shown_to_her
        if shown is None:
            return self
        forgotten = shown.forgotten_at is not None
        return replace(
            self,
            last=shown.last,
            heard_at=shown.heard_at,
            destination=None if forgotten else self.destination,
        )

    @property
    def walker_judged(self) -> Judged:
        """What the rules did about the walk her devices are shown: the "Are you OK?" they are
        waiting to answer, the alarm they are shown."""
        return self.cover.judged if self.cover is not None else self.judged

    def answer_by(self, asked_at: int, reason: str | None) -> int:
        """When her time to answer a question asked at `asked_at` for `reason` is up: by the
        thresholds of the hour she was asked in, as the rules judge it."""
        return asked_at + answer_window_ms(self.profiles.at(asked_at, self.timezone), reason)

    @property
    def walker_alarm_reason(self) -> str | None:
        """The alarm her devices are shown, if they are shown one."""
        if self.walker_state is not WalkState.ALARM:
            return None
        return self.walker_judged.alarm_reason

    def watch(self) -> Watch:
        """What the watchdog's rules know of this walk."""
        return self._watch(self.state, self.judged)

    def cover_watch(self) -> Watch:
        """What the rules know of the walk her devices are shown (after her duress PIN): the
        same track and times as the walk, with the state, the check, the quiet time and the
        alarm's ladder that her real PIN would have left it (without a cover: the walk's own)."""
        cover = self.cover
        return self.watch() if cover is None else self._watch(cover.state, cover.judged)

    def _watch(self, state: WalkState, judged: Judged) -> Watch:
        return Watch.of(
            state=state,
            started_at=self.started_at,
            expected_at=self.expected_at,
            last_fix_at=self.last.at,
            heard_at=self.heard_at,
            progress_at=self.progress.progress_at if self.progress else self.started_at,
            away_since=self.progress.away_since if self.progress else None,
            nearing=self.progress is not None and self.progress.closer_m is not None,
            fast_away_since=self.walked.rise.since if self.walked and self.walked.rise else None,
            door_at=self.door_at,
            still_since=self.still.since if self.still is not None else None,
            check_reason=Reason(judged.check_reason) if judged.check_reason else None,
            check_asked_at=judged.check_asked_at,
            quiet_until=judged.quiet_until,
            quiet_rules=quiet_rules_of(judged.quiet_rules),
            escalate_at=judged.escalate_at,
            timer=self.destination is None,
            profiles=self.profiles,
        )

    def quiet_after(
        self, now: int, reason: Reason | None, *, covered: bool = False, more_time_ms: int = 0
    ) -> dict[str, Any]:
        """The quiet time after she vouched for herself with her PIN (`reason`: the question
        she answered; None: her alarm ended), as the columns of the walk her devices are shown
        (`covered`) or of the walk itself: the rules due then are held for a while
        (`rules.quiet_after_answer`)."""
        watch = self.cover_watch() if covered else self.watch()
        if watch.state is WalkState.ALARM:
            watch = replace(watch, state=self.after_alarm)  # judged as the alarm leaves it
        thresholds = self.profiles.at(now, self.timezone)
        quiet = quiet_after_answer(watch, thresholds, now, reason, more_time_ms)
        return shown_columns(covered, **quiet_columns(quiet))

    def due_at(self) -> int | None:
        """When the watchdog should look at the walk next: its own rules' earliest deadline
        and, while her devices are shown a cover, the shadow's on that cover."""
        due = [next_due_at(self.watch())]
        if self.covert:
            due.append(next_due_at(self.cover_watch()))
        found = [at for at in due if at is not None]
        return min(found) if found else None


def quiet_columns(quiet: Quiet) -> dict[str, Any]:
    """A quiet time as the walk keeps it: each rule held and until when, as
    "stalled=1780000600000,silent=1780000300000" (NULL: all of them, until `quiet_until`)."""
    rules = quiet.rules
    kept = None if rules is None else ",".join(f"{r.value}={at}" for r, at in sorted(rules.items()))
    return {"quiet_until": quiet.until, "quiet_rules": kept}


def quiet_rules_of(kept: str | None) -> dict[Reason, int] | None:
    """The rules a quiet time holds, and until when, from `quiet_columns` (None: all)."""
    if kept is None:
        return None
    pairs = (item.split("=") for item in kept.split(",") if item)
    return {Reason(name): int(at) for name, at in pairs}


def shown_columns(cover: bool, **values: Any) -> dict[str, Any]:
    """Where the walk keeps these rule facts (`check_reason`, `quiet_until`...) of what her
    devices are shown: its own columns, or under a duress PIN's cover the cover's."""
    return {f"cover_{name}" if cover else name: value for name, value in values.items()}


WALK_COLUMNS = [c for c in walks.c if c.name not in ("pin_hash", "duress_pin_hash")]
# The walk's fields kept each in a column of the same name.
_PLAIN_FIELDS = [
    f.name
    for f in fields(Walk)
    if f.name not in ("state", "destination", "profiles", *(kept.field for kept in KEPT))
]


@functools.lru_cache(maxsize=256)
def _profiles(stored: str | None) -> Profiles:
    """A walk's stored profiles, read once per distinct value: every fix reads its walk."""
    return Profiles.from_stored(orjson.loads(stored) if stored else None)


def profiles_json(profiles: Profiles) -> str:
    return orjson.dumps(profiles.stored()).decode()


def walk_from_row(row: Any) -> Walk:
    """A walk from a row of `WALK_COLUMNS`."""
    return walk_of(row._mapping)


def walk_of(values: Mapping[str, Any]) -> Walk:
    made = {name: values[name] for name in _PLAIN_FIELDS}
    made["state"] = WalkState(values["state"])
    made["destination"] = (
        None
        if values["dest_lat"] is None
        else Destination(
            values["dest_lat"], values["dest_lon"], values["dest_radius_m"], values["dest_name"]
        )
    )
    made["profiles"] = _profiles(values["profiles"])
    for kept in KEPT:
        made[kept.field] = kept.of(values)
    return walk_with(made)


_WALK_FIELDS = frozenset(f.name for f in fields(Walk))


def walk_with(values: dict[str, Any], **changes: Any) -> Walk:
    """A walk of these fields' values (every one of them), with `changes`; what `Walk(...)` and
    `dataclasses.replace` make, without running `__init__`. Why: a frozen dataclass's
    `__init__` sets each of its thirty-odd fields through `object.__setattr__`, and every fix
    makes two walks (read, and as saved): ten times the cost of filling its `__dict__` at
    once. Walk has no `__post_init__` and caches nothing in its `__dict__`, so they are the
    same walk."""
    if not changes.keys() <= _WALK_FIELDS:
        raise TypeError(f"not fields of a walk: {sorted(changes.keys() - _WALK_FIELDS)}")
    walk = object.__new__(Walk)
    walk.__dict__.update(values)
    walk.__dict__.update(changes)
    return walk
