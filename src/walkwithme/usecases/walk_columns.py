"""How a walk keeps its values in columns of their own: where she was last seen (`LastFix`),
how she gets nearer (`Progress`), what the rules did about it (`Judged`: the check asked, the
quiet time, the alarm and its ladder), after her duress PIN the walk her devices are shown
(`Cover`, with a `Judged` of its own) and what they saw of where she was as it ended for them
(`ShownToHer`), where she stands near her door and how far she has walked. Each is made from
its columns' values and said as them; `KEPT` lists them, for reading a walk's row
(usecases/walk_record.py) and for changing it (usecases/walk_store.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from operator import itemgetter
from typing import Any, NamedTuple

import orjson

from walkwithme.domain.fixes import Fix
from walkwithme.domain.lingering import Stillness
from walkwithme.domain.pace import Walked
from walkwithme.domain.rules import Progress
from walkwithme.domain.walks import WalkState


class LastFix(NamedTuple):
    """Where she was last seen: the walk's newest trusted fix (its time no later than the
    server's clock: `track.Track`) and the last battery any of her devices reported. Kept in
    the walk's `LAST_FIX` columns; once the walk is forgotten (usecases/retention.py) only its
    time and the battery are left. (A named tuple: every fix reads one and makes one.)"""

    at: int | None = None
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    battery_pct: float | None = None

    def fix(self) -> Fix | None:
        """As a trusted fix of her track, if it says where she was."""
        if self.at is None or self.lat is None or self.lon is None:
            return None
        return Fix(self.at, self.lat, self.lon, self.accuracy_m)


NO_FIX = LastFix()

# The walk's columns that keep its `LastFix`, in the order of its fields.
LAST_FIX = (
    "last_fix_at",
    "last_lat",
    "last_lon",
    "last_accuracy_m",
    "last_speed_mps",
    "last_bearing_deg",
    "last_battery_pct",
)
_LAST_FIX_VALUES = itemgetter(*LAST_FIX)


def last_fix_of(columns: Mapping[str, Any]) -> LastFix:
    """The last fix kept in these `LAST_FIX` columns' values."""
    return LastFix._make(_LAST_FIX_VALUES(columns))


def last_fix_columns(last: LastFix) -> dict[str, Any]:
    """A last fix as its `LAST_FIX` columns keep it."""
    return dict(zip(LAST_FIX, last, strict=True))


@dataclass(frozen=True)
class Judged:
    """What the watchdog's rules did about a walk, as someone is shown it: the "Are you OK?"
    it asked (why, and when), the quiet time after her answer (`quiet_rules`: each rule held,
    and until when, as `walk_record.quiet_columns` keeps them), and the alarm it raised (why,
    and when) with its ladder (the rung it reached, when it climbs next). The walk keeps its
    own in columns of these names; after her duress PIN, its `Cover` keeps the one her own
    devices are shown, in `cover_*` columns, so that the rules judge both the same way."""

    check_reason: str | None = None
    check_asked_at: int | None = None
    quiet_until: int | None = None
    quiet_rules: str | None = None
    alarm_reason: str | None = None
    alarm_at: int | None = None
    escalation_level: int | None = None
    escalate_at: int | None = None

    def without_alarm(self) -> Judged:
        """The same check and quiet time, with no alarm raised."""
        return replace(
            self, alarm_reason=None, alarm_at=None, escalation_level=None, escalate_at=None
        )


NOTHING_JUDGED = Judged()

# The walk's columns that keep its own `Judged`, in the order of its fields.
JUDGED = tuple(f.name for f in fields(Judged))
_JUDGED_VALUES = itemgetter(*JUDGED)


def judged_of(columns: Mapping[str, Any]) -> Judged:
    return Judged(*_JUDGED_VALUES(columns))


def judged_columns(judged: Judged) -> dict[str, Any]:
    return {name: getattr(judged, name) for name in JUDGED}


@dataclass(frozen=True)
class Cover:
    """After her duress PIN, the walk her own devices are shown while the walk itself is in
    its silent alarm (usecases/moments.py): the state her real PIN would have left it in, and
    when it ended for them; and the rules' shadow on it (`judged`: usecases/judging.py,
    usecases/alarms.py): the check they were asked, the quiet time after an answer, the alarm
    they are shown and its ladder. Stored in the walk's `cover_*` columns (`cover_state` NULL:
    no cover)."""

    state: WalkState
    ended_at: int | None = None
    since: int | None = None  # when her duress PIN gave her devices the cover
    judged: Judged = NOTHING_JUDGED


# The walk's columns that keep its cover: `cover_` and the name of a `Cover` field, or of a
# field of its `Judged`.
_COVER_OWN = ("state", "ended_at", "since")
COVER_COLUMNS = tuple(f"cover_{name}" for name in (*_COVER_OWN, *JUDGED))
_COVER_JUDGED = itemgetter(*(f"cover_{name}" for name in JUDGED))


# The walk's columns that keep its `Progress` (domain/rules.py), in the order of its fields.
PROGRESS = tuple(f.name for f in fields(Progress))
_PROGRESS_VALUES = itemgetter(*PROGRESS)


def progress_of(columns: Mapping[str, Any]) -> Progress | None:
    """The progress kept in these `PROGRESS` columns' values (None: no fix counted yet; the
    walk's start leaves `progress_at` at its start time, which is what None means)."""
    if columns["progress_m"] is None:
        return None
    return Progress(*_PROGRESS_VALUES(columns))


def progress_columns(progress: Progress | None) -> dict[str, Any]:
    """A walk's progress as its `PROGRESS` columns keep it (all NULL: none)."""
    if progress is None:
        return {**dict.fromkeys(PROGRESS), "first_only": False}
    return {name: getattr(progress, name) for name in PROGRESS}


def cover_of(columns: Mapping[str, Any]) -> Cover | None:
    """The cover kept in these `cover_*` columns' values, if there is one."""
    state = columns["cover_state"]
    if state is None:
        return None
    return Cover(
        WalkState(state),
        columns["cover_ended_at"],
        columns["cover_since"],
        Judged(*_COVER_JUDGED(columns)),
    )


def cover_columns(cover: Cover | None) -> dict[str, Any]:
    """A cover as its `cover_*` columns keep it (all NULL: none)."""
    if cover is None:
        return dict.fromkeys(COVER_COLUMNS)
    return {
        "cover_state": cover.state.value,
        "cover_ended_at": cover.ended_at,
        "cover_since": cover.since,
        **{f"cover_{name}": value for name, value in judged_columns(cover.judged).items()},
    }


def still_of(stored: str | None) -> Stillness | None:
    return Stillness.from_stored(orjson.loads(stored)) if stored else None


def still_json(still: Stillness | None) -> str | None:
    """Where she stands near the door, as the walk's `door_still` column keeps it."""
    return orjson.dumps(still.stored()).decode() if still is not None else None


def walked_of(stored: str | None) -> Walked | None:
    return Walked.from_stored(orjson.loads(stored)) if stored else None


def walked_json(walked: Walked | None) -> str | None:
    """How far she has walked, as the walk's `walked` column keeps it."""
    return orjson.dumps(walked.stored()).decode() if walked is not None else None


@dataclass(frozen=True)
class ShownToHer:
    """Once her duress PIN ended the walk for her devices: what they saw of where she was
    then, which is all they see while the walk goes on for the people looking for her (later
    fixes are for them). Kept in the walk's `walker_*` columns (`walker_fix_seq` NULL: none)."""

    fix_seq: int  # the last number of its track they see
    last: LastFix  # where she was last seen then
    # When her phone was last heard then (a heartbeat, a fix kept off the map): kept in the
    # `walker_last` column beside where she was, for her real PIN's walk would have kept it.
    heard_at: int | None = None
    # When they were shown it forgotten, as a walk without an alarm would have been, while it
    # is kept for its silent alarm (usecases/retention.py, `forget_for_her`).
    forgotten_at: int | None = None


SHOWN_TO_HER = ("walker_fix_seq", "walker_last", "walker_forgotten_at")


def shown_to_her_of(columns: Mapping[str, Any]) -> ShownToHer | None:
    """What her devices saw as the walk ended for them, from its `SHOWN_TO_HER` columns."""
    fix_seq = columns["walker_fix_seq"]
    if fix_seq is None:
        return None
    stored: Mapping[str, Any] = columns["walker_last"] or {}
    return ShownToHer(
        fix_seq,
        last_fix_of(dict.fromkeys(LAST_FIX) | dict(stored)),
        stored.get("heard_at"),
        columns["walker_forgotten_at"],
    )


def shown_to_her_columns(shown: ShownToHer | None) -> dict[str, Any]:
    """What her devices saw as the walk ended for them, as its `SHOWN_TO_HER` columns keep it."""
    if shown is None:
        return dict.fromkeys(SHOWN_TO_HER)
    return {
        "walker_fix_seq": shown.fix_seq,
        "walker_last": {**last_fix_columns(shown.last), "heard_at": shown.heard_at},
        "walker_forgotten_at": shown.forgotten_at,
    }


def still_of_columns(columns: Mapping[str, Any]) -> Stillness | None:
    return still_of(columns["door_still"])


def still_columns(still: Stillness | None) -> dict[str, Any]:
    return {"door_still": still_json(still)}


def walked_of_columns(columns: Mapping[str, Any]) -> Walked | None:
    return walked_of(columns["walked"])


def walked_columns(walked: Walked | None) -> dict[str, Any]:
    return {"walked": walked_json(walked)}


@dataclass(frozen=True)
class Kept:
    """A value of the walk kept in columns of its own: its field, its columns, and how it is
    made from their values (`of`) and said as them (`columns_of`)."""

    field: str
    columns: frozenset[str]
    of: Callable[[Mapping[str, Any]], Any]
    columns_of: Callable[[Any], dict[str, Any]]


KEPT = (
    Kept("last", frozenset(LAST_FIX), last_fix_of, last_fix_columns),
    Kept("progress", frozenset(PROGRESS), progress_of, progress_columns),
    Kept("judged", frozenset(JUDGED), judged_of, judged_columns),
    Kept("cover", frozenset(COVER_COLUMNS), cover_of, cover_columns),
    Kept("shown_to_her", frozenset(SHOWN_TO_HER), shown_to_her_of, shown_to_her_columns),
    Kept("still", frozenset({"door_still"}), still_of_columns, still_columns),
    Kept("walked", frozenset({"walked"}), walked_of_columns, walked_columns),
)
# Every column whose value the walk keeps in a value of its own.
KEPT_COLUMNS = frozenset().union(*(kept.columns for kept in KEPT))
