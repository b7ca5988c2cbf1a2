"""A phone's clock against the service's, learned from when its messages arrive.

A phone stamps each fix with its own clock, and every rule that counts from a fix's time is
wrong by as much as that clock is. A phone set by hand three minutes slow made every fix
look three minutes old: a walk home looked stalled, was asked "Are you OK?" again and again,
then alarmed her companions; a minute and a half fast, every fix was refused as taken in the
future, and her companions saw "No position yet" all the way home (an outside review). So:

- A fix can't be taken after it arrives: a message whose newest time is more than a minute
  ahead of the service's clock says the phone's clock is fast by at least as much, at once.
- A phone whose messages keep arriving with their newest time the same age (within
  `TOLERANCE_MS`), for `STEADY_MS` or more, has a clock that far off, if it is behind by
  more than `SLOW_MS` (less is the network's doing). A backlog sent after a gap comes in a
  burst, its messages of every age, and is never taken for a clock; so the correction
  learned before a gap holds through it, for the fixes the phone kept meanwhile.

The correction is added to every time the phone gives (its fixes, its heartbeats), so their
spacing stays as the phone measured it. A clock the phone puts right is seen as soon as it
is: fast, at once; slow, after `STEADY_MS`.
"""

from __future__ import annotations

from dataclasses import dataclass

STEADY_MS = 60_000
TOLERANCE_MS = 15_000
# Behind by up to this, a phone is as likely slowed by its network (a mobile one can hold its
# requests tens of seconds, steadily for a while): its fixes keep their times. The rules
# judged a phone a minute and a half slow right (an outside replay); two minutes, not.
SLOW_MS = 60_000
# Ahead by less than this, a fix keeps its own time (the rules count it as taken no later
# than the service's now): a correction learned from one message would move with every
# message's network delay, and a fix sent twice must keep its time to be seen twice.
AHEAD_SLACK_MS = 60_000
# A time further off than this is no clock set wrong: refused by name (domain/fixes.py).
MAX_ERROR_MS = 24 * 3_600_000


@dataclass(frozen=True, slots=True)
class PhoneClock:
    """What is known of one phone's clock: the correction added to its times, and the run
    of messages of the same age that the next correction may come from."""

    offset_ms: int = 0
    run_lag_ms: int | None = None  # how old the run's first message's newest time was
    run_since_ms: int = 0  # when that message arrived

    def learn(self, newest_ms: int, now_ms: int) -> PhoneClock:
        """Told of a message that arrived at `now_ms`, its newest time `newest_ms` by the
        phone's clock."""
        lag = now_ms - newest_ms
        offset = self.offset_ms
        if newest_ms + offset > now_ms + AHEAD_SLACK_MS:
            offset = lag  # taken after it arrived, as corrected: fast by at least this
        if self.run_lag_ms is None or abs(lag - self.run_lag_ms) > TOLERANCE_MS:
            return PhoneClock(offset, lag, now_ms)
        if now_ms - self.run_since_ms >= STEADY_MS:
            run = self.run_lag_ms
            offset = run if run > SLOW_MS or run < -AHEAD_SLACK_MS else 0
        return PhoneClock(offset, self.run_lag_ms, self.run_since_ms)

    def said(self) -> str | None:
        """The phone's clock, in words for her phone's page, when it is corrected."""
        if abs(self.offset_ms) < SLOW_MS:
            return None
        off = abs(self.offset_ms) / 60_000
        amount = f"{off:.0f} min" if off >= 2 else f"{abs(self.offset_ms) / 1000:.0f} s"
        side = "behind" if self.offset_ms > 0 else "ahead of"
        return (
            f"the phone's clock is {amount} {side} the service's: its positions are timed by "
            "when they arrive; set the phone to take its time from the network"
        )
