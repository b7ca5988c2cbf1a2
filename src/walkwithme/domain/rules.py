"""The watchdog's rules: pure functions of a walk's facts and `now`.

Each rule has a deadline; the earliest deadline is the walk's `next_due_at`. When one has
passed, the walker is first asked "Are you OK?" (the check) and has a response window to answer
with her PIN; only if she doesn't does the walk go into alarm. SOS skips the check.
Thresholds come in two profiles, day and night (stricter), which the operator, a person and a
walk may change (domain/profiles.py); a walk carries its own in `Watch.profiles`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from walkwithme.domain.lingering import lingering_due

# The built-in profiles are named here too, for those who judge by the defaults.
from walkwithme.domain.profiles import DAY as DAY
from walkwithme.domain.profiles import DEFAULT_PROFILES, Profiles, Thresholds
from walkwithme.domain.profiles import MINUTE as MINUTE
from walkwithme.domain.profiles import NIGHT as NIGHT
from walkwithme.domain.profiles import SECOND as SECOND
from walkwithme.domain.walks import WalkState


class Reason(StrEnum):
    LATE = "late"
    STALLED = "stalled"
    MOVING_AWAY = "moving_away"
    MOVING_AWAY_FAST = "moving_away_fast"  # as in a vehicle (domain/driven.py): asked at once
    SILENT = "silent"
    LINGERING = "lingering"
    SOS = "sos"
    NO_ANSWER = "no_answer"
    WRONG_PINS = "wrong_pins"
    DURESS = "duress"  # her duress PIN: a silent alarm, kept from her own devices


def profile_at(now_ms: int, timezone: str, profiles: Profiles = DEFAULT_PROFILES) -> Thresholds:
    """Night or day, by the walker's own local time."""
    return profiles.at(now_ms, timezone)


# Distance left must fall by this much to count as progress, and rise by this much above the
# best so far to count as walking away: GPS noise is not movement.
PROGRESS_TOLERANCE_M = 25.0


@dataclass(frozen=True)
class Watch:
    """What the rules know of a live walk."""

    state: WalkState
    started_at: int
    expected_at: int
    last_fix_at: int | None
    progress_at: int  # the last time the distance left fell by the tolerance (or the start)
    away_since: int | None  # since when the distance left has stayed above the best so far
    door_at: int | None  # since when she has been at the door
    check_reason: Reason | None
    check_asked_at: int | None
    quiet_until: int | None  # she answered a check: the rules it holds ask nothing before this
    escalate_at: int | None = None  # in alarm: when to tell the next rung of the ladder
    timer: bool = False  # no destination: only the time she set (`unheld_deadlines`)
    profiles: Profiles = DEFAULT_PROFILES  # the thresholds it started with (domain/profiles.py)
    heard_at: int | None = None  # a message from her phone reached us (no position taken)
    still_since: int | None = None  # at the door: since when she has not moved (lingering.py)
    # The rules she vouched for (`quiet_after_answer`), each held until its time; None: all
    # of them until `quiet_until` (after an alarm ended, or a quiet time kept before
    # migration 0038).
    quiet_rules: Mapping[Reason, int] | None = None
    # Since when her distance left has risen faster than anyone walks (domain/driven.py).
    fast_away_since: int | None = None
    # Her last fix was nearer than her least by more than noise, for the next to confirm as
    # progress (`Progress.closer_m`): the stalled rule waits for that fix (`stalled_due`).
    nearing: bool = False

    @property
    def last_heard_at(self) -> int | None:
        """When her phone last showed it is alive: a fix, or a heartbeat without one."""
        fix, heard = self.last_fix_at, self.heard_at
        if heard is None or (fix is not None and fix >= heard):
            return fix
        return heard

    @classmethod
    def of(cls, **facts: Any) -> Watch:
        """The same as `Watch(**facts)`, made without the frozen dataclass's `__init__` (one
        `object.__setattr__` a field: most of the cost of the due time every fix of a walk
        computes). Every field must be given; Watch has no `__post_init__`."""
        if facts.keys() != _WATCH_FIELDS:
            raise TypeError(f"a watch's facts, all of them: {sorted(_WATCH_FIELDS ^ facts.keys())}")
        watch = object.__new__(cls)
        watch.__dict__.update(facts)
        return watch


_WATCH_FIELDS = frozenset(f.name for f in fields(Watch))


@dataclass(frozen=True)
class Verdict:
    ask: Reason | None  # ask the walker "Are you OK?" for this reason
    alarm: Reason | None  # raise the alarm for this reason
    next_due_at: int | None  # when to look again (None: nothing to watch)


def deadlines(w: Watch, t: Thresholds) -> dict[Reason, int]:
    """Every rule's deadline for this walk, as things stand."""
    return _held(unheld_deadlines(w, t), w)


def unheld_deadlines(w: Watch, t: Thresholds) -> dict[Reason, int]:
    """Every rule's deadline, as if she had never vouched for herself (no quiet time)."""
    if w.state not in (WalkState.ACTIVE, WalkState.AT_DOOR):
        return {}
    if w.timer:
        # She said when to check on her, and only that: a phone that stops reporting is no
        # sign here (her walk page stops when her screen locks, in the café she waits in).
        return {Reason.LATE: w.expected_at}
    found = {Reason.SILENT: (w.last_heard_at or w.started_at) + t.silent_ms}
    if w.state is WalkState.ACTIVE:
        duration = max(0, w.expected_at - w.started_at)
        grace = max(t.late_grace_min_ms, int(duration * t.late_grace_fraction))
        found[Reason.LATE] = w.expected_at + grace
        found[Reason.STALLED] = stalled_due(w, t)
        if w.away_since is not None:
            found[Reason.MOVING_AWAY] = w.away_since + t.moving_away_ms
        if w.fast_away_since is not None:
            # A car does not wind back: asked at once, with a short time to answer.
            found[Reason.MOVING_AWAY_FAST] = w.fast_away_since
    elif w.door_at is not None:
        found[Reason.LINGERING] = lingering_due(w.door_at, w.still_since, t.lingering_ms)
    return found


def stalled_due(w: Watch, t: Thresholds) -> int:
    """When she is asked for not getting any nearer: her last progress and the stalled
    rule's time. Progress takes two fixes nearer in a row, so a phone that reports every 90 s
    shows it every other fix at the start: walking home, she was asked "Are you OK?" three
    minutes into her walk, and her next fix took the question back. So while her last fix is
    the first of such a pair (`nearing`), the rule waits for the next one as long as the
    silent rule would (which asks if it does not come), and never longer than that beyond
    its own time: someone whose fixes keep landing a little nearer without ever making
    progress is asked all the same."""
    due = w.progress_at + t.stalled_ms
    if w.nearing and w.last_fix_at is not None:
        # (Her rules may make silence longer than a stall: the wait is never longer than
        # either.)
        longest = min(t.silent_ms, t.stalled_ms)
        due = max(due, min(w.last_fix_at + t.silent_ms, due + longest))
    return due


def _held(found: dict[Reason, int], w: Watch) -> dict[Reason, int]:
    until, held = w.quiet_until, w.quiet_rules
    if until is None:
        return found
    if held is None:
        return {reason: max(at, until) for reason, at in found.items()}
    return {reason: max(at, held.get(reason, at)) for reason, at in found.items()}


# After she answers a check with her PIN, how long the rules she vouched for are held; a walk
# that stalled (she stopped to talk, to buy something) is given longer.
QUIET_AFTER_ANSWER_MS = 5 * MINUTE
QUIET_AFTER_STALLED_MS = 10 * MINUTE
# "More time" holds the stalled rule for the minutes she asked, up to this: a stop in a shop
# she announced is not a stall, but no stop is left unwatched for longer.
LONGEST_ANNOUNCED_STOP_MS = 30 * MINUTE


# What an answer about one rule vouches for besides: a stop is what makes her late (and being
# late, or walking elsewhere, is not getting nearer), and without fixes no progress is seen,
# so a stall is the silence she answered for.
VOUCHED_WITH: dict[Reason, set[Reason]] = {
    Reason.STALLED: {Reason.STALLED, Reason.LATE},
    Reason.LATE: {Reason.LATE, Reason.STALLED},
    Reason.MOVING_AWAY: {Reason.MOVING_AWAY, Reason.STALLED, Reason.LATE},
    Reason.MOVING_AWAY_FAST: {
        Reason.MOVING_AWAY_FAST,
        Reason.MOVING_AWAY,
        Reason.STALLED,
        Reason.LATE,
    },
    Reason.SILENT: {Reason.SILENT, Reason.STALLED},
}


@dataclass(frozen=True)
class Quiet:
    """After she vouched for herself with her PIN (or her alarm was ended): each rule held,
    and until when (`rules` None: all of them, until `until`, the latest of them)."""

    until: int
    rules: Mapping[Reason, int] | None


def quiet_after_answer(
    w: Watch, t: Thresholds, now: int, reason: Reason | None, more_time_ms: int = 0
) -> Quiet:
    """What her answer vouches for: what she was asked about, what follows from it
    (`VOUCHED_WITH`), and every rule already due when she answered; not what starts after. A
    phone taken from her a minute later, or someone leading her away, is still asked about at
    its own time; only what she vouched for is held a while. "More time" (`more_time_ms`)
    also holds the stalled rule for the minutes she asked, up to `LONGEST_ANNOUNCED_STOP_MS`.
    `reason` None: her alarm ended, by her PIN or by someone who found her: every rule is held
    for a while, as the people now with her, or who spoke to her, know more than her fixes."""
    if reason is None and more_time_ms == 0:
        return Quiet(now + QUIET_AFTER_ANSWER_MS, None)
    held = {r for r, at in unheld_deadlines(w, t).items() if at <= now}
    if reason is not None:
        held |= VOUCHED_WITH.get(reason, {reason})
    wait = QUIET_AFTER_STALLED_MS if reason is Reason.STALLED else QUIET_AFTER_ANSWER_MS
    rules = dict.fromkeys(held, now + wait)
    if more_time_ms > 0:
        # Only the stop she announced: a phone gone quiet, or walking away, that she answered
        # for is asked about again after the answer's own few minutes.
        announced = now + min(more_time_ms, LONGEST_ANNOUNCED_STOP_MS)
        rules[Reason.STALLED] = max(rules.get(Reason.STALLED, now), announced)
    return Quiet(max(rules.values(), default=now + wait), rules)


# Her time to answer when she is moving away fast (or the check's own, if shorter): every
# minute takes her most of a kilometre farther.
FAST_AWAY_WINDOW_MS = 60 * SECOND


def answer_window_ms(t: Thresholds, reason: Reason | str | None) -> int:
    """Her time to answer "Are you OK?" asked for `reason`."""
    if reason == Reason.MOVING_AWAY_FAST:
        return min(t.check_window_ms, FAST_AWAY_WINDOW_MS)
    return t.check_window_ms


def evaluate(w: Watch, now: int, t: Thresholds) -> Verdict:
    if w.state not in (WalkState.ACTIVE, WalkState.AT_DOOR):
        return Verdict(None, None, None)
    if w.check_reason is not None and w.check_asked_at is not None:
        answer_by = w.check_asked_at + answer_window_ms(t, w.check_reason)
        if now >= answer_by:
            return Verdict(None, Reason.NO_ANSWER, None)
        return Verdict(None, None, answer_by)
    unheld = unheld_deadlines(w, t)
    due = _held(unheld, w)
    # Several due at once (at the end of a quiet time): the one whose sign came first.
    passed = sorted((at, unheld[reason], reason) for reason, at in due.items() if at <= now)
    if passed:
        reason = passed[0][2]
        return Verdict(reason, None, now + answer_window_ms(t, reason))
    return Verdict(None, None, min(due.values()))


def next_due_at(w: Watch) -> int | None:
    """A hint for when to look again: the earliest deadline under either profile, so a walk
    that crosses into the night is never looked at too late (the rules decide at that time)."""
    if w.state is WalkState.ALARM:
        return w.escalate_at
    if w.state not in (WalkState.ACTIVE, WalkState.AT_DOOR):
        return None
    if w.check_reason is not None and w.check_asked_at is not None:
        windows = (answer_window_ms(t, w.check_reason) for t in w.profiles.both)
        return w.check_asked_at + min(windows)
    due: int | None = None
    for t in w.profiles.both:
        found = deadlines(w, t)
        if found:
            earliest = min(found.values())
            due = earliest if due is None or earliest < due else due
    return due


def next_look_after(w: Watch, now: int) -> int | None:
    """After a look that found nothing due: the next deadline, under either profile, that is
    still ahead (one that passed under the other profile is not this hour's rule)."""
    ahead = [at for t in w.profiles.both for at in deadlines(w, t).values() if at > now]
    return min(ahead) if ahead else None


@dataclass(frozen=True)
class Progress:
    progress_m: float  # the least distance left so far (as counted: see `progress_after`)
    progress_at: int  # when she last got nearer (along the streets, or as the crow flies)
    away_since: int | None
    closer_m: float | None = None  # the last fix was closer than the least by more than noise
    # The least distance to the door as the crow flies so far, counted as the distance left
    # is (None: a walk judged before it was kept).
    straight_m: float | None = None
    # Since her last progress, the least distance left her fixes have had (None: her last fix
    # made progress, or a walk judged before it was kept).
    behind_m: float | None = None
    # The least so far is her first fix's alone, which the next one settles (`progress_after`).
    first_only: bool = False


def noise_m(accuracy_m: float | None) -> float:
    """How much the distance left may seem to change, from one fix to the next, for someone
    who doesn't move: the tolerance, or twice the accuracy the fix claims if that is more,
    up to `MAX_NOISE_M`."""
    by_accuracy = min(MAX_NOISE_M, ACCURACY_NOISE_FACTOR * (accuracy_m or 0.0))
    return max(PROGRESS_TOLERANCE_M, by_accuracy)


# A phone's accuracy is about one standard deviation of its error; twice that is seldom
# exceeded by noise alone. But a walker whose phone is vague (a street between tall
# buildings) must still make progress well within the stalled rule's time: with fixes 30 s
# apart at an ordinary pace, 50 m of noise means progress every 90 s, against 3 minutes.
ACCURACY_NOISE_FACTOR = 2.0
MAX_NOISE_M = 50.0


def progress_after(
    previous: Progress | None,
    remaining_m: float,
    t: int,
    accuracy_m: float | None = None,
    straight: tuple[float, float | None] | None = None,
    *,
    along_streets: bool = True,
    held: bool = False,
) -> Progress:
    """Progress is the distance left falling; walking away is it staying above the least seen
    so far, by more than GPS noise. Going back toward the destination ends "away".

    Another street home may mean, for a while, more to walk than she had (a detour round a
    dark park): the distance left rises while she gets nearer as the crow flies. So getting
    nearer as the crow flies than where she last made progress (by the same measure: two
    fixes in a row, each nearer by more than noise) is progress too, in time: it ends "away"
    and holds off the stalled rule, without being a new least distance left. And while she
    is no farther as the crow flies, a rise of the distance left within a detour's allowance
    (a quarter of the least, up to 300 m) is not walking away. Whoever turns back is farther
    both ways, and is asked as before; going round a railway yard takes her farther as the
    crow flies while every step brings her nearer along the streets. `straight`: this
    fix's distance to the door as the crow flies, and the fix before's.

    The least seen so far is a record, and for someone standing still every noisy fix is a new
    chance to beat it (snapped to the streets, a fix a few metres off may land on a street
    with a shorter way home). Counted as progress, a record set by noise would hold off the
    stalled rule and make her true position look like walking away. So a fix counts as closer
    only by more than its own noise, and as progress only if the fix before it was closer
    too: a walker's fixes are, two in a row of noise's seldom are; and the new least is the
    farther of the two, so that the one of a pair that noise carried ahead doesn't set it.
    (Walking in steps smaller than the noise, she makes progress every few fixes, well within
    the stalled rule's time.)

    A record can still be set by noise: two stray fixes in a row ahead on her way (tall
    buildings reflect them, each claiming a good accuracy), or a stray first fix. Her true
    fixes behind it then stay above it while she walks on, and were walking away. So walking
    away is also having more left than the least since her last progress (by more than noise):
    whoever walks home behind a false record gets nearer fix by fix, and is not away; whoever
    turns back gets farther from where she turned. It costs one fix: the first behind a
    record only marks where she is.

    Without streets (`along_streets` False: the distance left is the straight line), a way
    home that winds takes her farther as the crow flies for a while too, round a block or a
    bay, and nothing says how far it may. Walking away is then a rise beyond a smaller
    allowance (`CROW_DETOUR_SHARE` of the least, up to `MAX_CROW_DETOUR_M`).

    Her first fix alone is no surer than any other: its least is settled by the next fix,
    to the farther of the two unless that one is nearer by more than noise.

    `held`: she has stopped (a pause, or a question about it waiting) and has not clearly
    left where she stood (domain/stops.py): what would be progress is not, yet. Standing
    still for minutes, two noisy fixes in a row land ahead by more than noise often enough."""
    found = _progress_after(previous, remaining_m, t, accuracy_m, straight, along_streets)
    if not held or previous is None or found.progress_at != t or previous.progress_at == t:
        return found
    closer = remaining_m <= previous.progress_m - noise_m(accuracy_m)
    return Progress(
        previous.progress_m,
        previous.progress_at,
        None,
        closer_m=remaining_m if closer else None,
        straight_m=previous.straight_m,
        behind_m=_least(previous.behind_m, remaining_m),
    )


def _progress_after(
    previous: Progress | None,
    remaining_m: float,
    t: int,
    accuracy_m: float | None,
    straight: tuple[float, float | None] | None,
    along_streets: bool,
) -> Progress:
    crow, crow_before = straight if straight is not None else (None, None)
    if previous is None:
        return Progress(remaining_m, t, None, straight_m=crow, first_only=True)
    tolerance = noise_m(accuracy_m)
    if previous.first_only and remaining_m > previous.progress_m - tolerance:
        # Her first two fixes settle where she sets off from: the farther of the two, as for
        # two closer fixes in a row. Noise can land the first on a street with a shorter way
        # home, or a reflection ahead: her walking would make no progress for 100 m or more.
        crows = [c for c in (crow, previous.straight_m) if c is not None]
        farthest = max(remaining_m, previous.progress_m)
        return Progress(farthest, previous.progress_at, None, straight_m=max(crows, default=None))
    # As the crow flies, measured from where she was when she last made progress.
    mark = previous.straight_m if previous.straight_m is not None else crow
    nearer = (
        crow is not None
        and crow_before is not None
        and mark is not None
        and max(crow, crow_before) <= mark - tolerance
    )
    if remaining_m <= previous.progress_m - tolerance:
        if previous.closer_m is not None:
            # The new least is where both fixes agree she has got to: the farther of the two.
            # One fix that claims a good accuracy yet lands well ahead (the second of a pair
            # whose first was true) would otherwise set a record her true fixes then fail to
            # beat by more than noise, and the stalled rule would ask a walker who walks on.
            least = max(remaining_m, previous.closer_m)
            return Progress(least, t, None, closer_m=remaining_m, straight_m=crow)
        if nearer:
            return Progress(previous.progress_m, t, None, remaining_m, crow)
        # Not behind the record: ahead of it, maybe the first of a stray pair.
        at, since, behind = previous.progress_m, previous.progress_at, previous.behind_m
        return Progress(at, since, None, remaining_m, mark, behind)
    if nearer:
        return Progress(previous.progress_m, t, None, straight_m=crow)
    rise = remaining_m - previous.progress_m
    if along_streets:
        farther = crow is None or mark is None or crow > mark + tolerance
    else:
        winding = min(MAX_CROW_DETOUR_M, CROW_DETOUR_SHARE * previous.progress_m)
        farther = rise > max(tolerance, winding)
    detour = max(tolerance, min(MAX_DETOUR_M, DETOUR_SHARE * previous.progress_m))
    # More left than the least since her last progress (None: no fix behind the record yet).
    backing = previous.behind_m is not None and remaining_m > previous.behind_m + tolerance
    behind = _least(previous.behind_m, remaining_m)
    at, since = previous.progress_m, previous.progress_at
    if rise > tolerance and (farther or rise > detour) and backing:
        return Progress(at, since, previous.away_since or t, straight_m=mark, behind_m=behind)
    return Progress(at, since, None, straight_m=mark, behind_m=behind)


def _least(behind_m: float | None, remaining_m: float) -> float:
    """The least distance left since her last progress, counting this fix's too."""
    return remaining_m if behind_m is None else min(behind_m, remaining_m)


# Another way home may be longer than the shortest: while she is no farther as the crow flies,
# the distance left may rise this much above the least before she counts as walking away.
# (Walking across for long is not progress either way: the stalled rule asks her.)
DETOUR_SHARE = 0.25
MAX_DETOUR_M = 300.0
# Without streets, the straight line may rise this much above the least before she counts as
# walking away. Ways home through central Helsinki rise 50 to 90 m as the crow flies when they
# go round a block first. With 25 m allowed, 6 of 150 random ways home walked at night were
# asked "Are you OK?" for walking away; with this, 3, each twice the straight line or more
# (docs/alarms.md). Someone led away on foot is asked half a minute later than with 25 m
# allowed (then for not getting any nearer), someone driven away seconds later.
CROW_DETOUR_SHARE = 0.25
MAX_CROW_DETOUR_M = 100.0


BATTERY_NOTICES = (15, 5)


def battery_notice(previous: int | None, battery_pct: float | None) -> int | None:
    """The lower battery level the companions should now be told of, or None. Each level is
    told once: 15% and then 5%."""
    if battery_pct is None:
        return None
    for level in reversed(BATTERY_NOTICES):  # 5 first: a phone may drop past both at once
        if battery_pct <= level and (previous is None or previous > level):
            return level
    return None


# -- the escalation ladder -------------------------------------------------------------------

# An alarm goes to the walk's companions first; if nobody says "I'm on it" in time, to her
# guardians; then to the operator's emergency hook. "I'm on it" pauses the climb, not forever.
LADDER = ("companions", "guardians", "hook")
ESCALATE_AFTER_MS = 3 * MINUTE
ACK_PAUSES_MS = 10 * MINUTE


REPEAT_AT_TOP_MS = 10 * MINUTE  # at the top of the ladder, it is said again, not dropped
