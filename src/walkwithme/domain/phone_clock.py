"""A phone's clock against the service's, learned from when its messages arrive.

A phone stamps each fix with its own clock, and every rule that counts from a fix's time is
wrong by as much as that clock is. A phone set by hand three minutes slow made every fix
look three minutes old: a walk home looked stalled, was asked "Are you OK?" again and again,
then alarmed her companions; a minute and a half fast, every fix was refused as taken in the
future, and her companions saw "No position yet" all the way home (an outside review).

What tells a clock that is off from what a phone with a right clock also does (a queue of
fixes kept through a tunnel, sent in a burst or drained slowly over a poor network; a
network that holds requests tens of seconds; one garbled time): a clock that is off makes
every message's newest time off by the same amount, message after message, for minutes. So
a correction is learned only from a run of messages, `STEADY_COUNT` or more over
`STEADY_MS` or more, whose newest times are all as old (within `SPREAD_MS` of each other,
and drifting less than `DRIFT_MS` from the first to the last: a queue drained slowly gets
younger message by message) and more than `OFF_MS` old or ahead. A queue sent after a gap,
fast or slowly, a network's delays and one garbled time never make such a run.

The correction is added to every time the phone gives (its fixes, its heartbeats, its SOS,
its tours), so their spacing stays as the phone measured it. A slow clock put right is seen
at once (its next times, corrected, would be in the future); a fast one put right, after a
new run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

# A minute and a half: a phone three minutes slow is learned before its fixes' times come
# within the slack a walk's start gives a slow clock (a minute), so none is kept at its wrong
# time; and a queue drained slowly drifts more than `DRIFT_MS` in it unless sent at 97% of
# the pace it was kept at or faster (the drift is its messages getting younger).
STEADY_MS = 90_000
STEADY_COUNT = 4
# A clock that is off is as steady as the network under it (a second or two); a queue whose
# requests take as long as the phone takes to fill it (a degraded network) arrives a steady
# age too, but less steadily: its positions would be shown as current, minutes old, so only
# the steadiest run is taken for a clock (a slow clock not learned asks "Are you OK?" at
# worst; a queue learned as one shows her where she was minutes ago).
SPREAD_MS = 5_000
DRIFT_MS = 3_000
# Off by up to this, a phone keeps its times: a fix a minute ahead is counted by the rules as
# taken no later than the service's now, and a minute behind is as likely a network's delay.
# The rules judged a phone a minute and a half slow right (an outside replay); two, not.
OFF_MS = 60_000
# A time further off than this is no clock set wrong: a day ahead is refused by name
# (domain/fixes.py), and no correction is larger.
MAX_ERROR_MS = 24 * 3_600_000


@dataclass(frozen=True, slots=True)
class Run:
    """Messages whose newest times were all about as old, so far."""

    first_lag_ms: int  # how old the first one's newest time was, as it arrived
    low_ms: int
    high_ms: int
    since_ms: int  # when the first one arrived
    count: int = 1

    def taking(self, lag_ms: int) -> Run | None:
        """The run with one more message as old as `lag_ms`, or None if it is not."""
        low, high = min(self.low_ms, lag_ms), max(self.high_ms, lag_ms)
        if high - low > SPREAD_MS:
            return None
        return replace(self, low_ms=low, high_ms=high, count=self.count + 1)

    def steady(self, lag_ms: int, now_ms: int) -> bool:
        """Long and even enough to be a clock's doing (`lag_ms`: its last message's)."""
        return (
            self.count >= STEADY_COUNT
            and now_ms - self.since_ms >= STEADY_MS
            and abs(lag_ms - self.first_lag_ms) <= DRIFT_MS
        )


@dataclass(frozen=True, slots=True)
class PhoneClock:
    """What is known of one phone's clock: the correction added to its times (its clock's
    error, once learned), and the run of messages the next one may come from."""

    offset_ms: int = 0
    run: Run | None = None
    # Whether the correction was learned (or read as learned before): until a first steady
    # run, a phone's clock is not known to be right either.
    known: bool = False

    def learn(self, newest_ms: int, now_ms: int) -> PhoneClock:
        """Told of a message that arrived at `now_ms`, its newest time `newest_ms` by the
        phone's clock."""
        lag = now_ms - newest_ms
        offset = self.offset_ms
        if offset > 0 and newest_ms + offset > now_ms + OFF_MS:
            offset = 0  # slow no more: corrected, its times would be in the future
        run = self.run.taking(lag) if self.run is not None else None
        if run is None:
            return PhoneClock(offset, Run(lag, lag, lag, now_ms), self.known)
        known = self.known
        if run.steady(lag, now_ms):
            known = True
            learned = round((run.low_ms + run.high_ms) / 2)
            target = learned if OFF_MS < abs(learned) <= MAX_ERROR_MS else 0
            # Kept as it is within a run's spread: a correction that moved by a second with
            # each message would give a fix sent twice two times.
            if abs(target - offset) > SPREAD_MS or (target == 0) != (offset == 0):
                offset = target
        return PhoneClock(offset, run, known)

    def ahead(self, t_ms: int, now_ms: int) -> bool:
        """A time of the phone's, corrected, too far ahead of the service's clock to be kept:
        a fast clock not learned yet, or a garbled time."""
        return t_ms + self.offset_ms > now_ms + OFF_MS


def clock_said(offset_ms: int | None) -> str | None:
    """A phone's clock as corrected by `offset_ms`, in words (None: not corrected)."""
    if not offset_ms:
        return None
    off = abs(offset_ms) / 60_000
    amount = f"{off:.0f} min" if off >= 2 else f"{abs(offset_ms) / 1000:.0f} s"
    side = "behind" if offset_ms > 0 else "ahead of"
    return (
        f"This phone's clock is {amount} {side} the service's: its positions are timed by "
        "when they arrive. Set the phone to take its time from the network."
    )
