"""A fresh fix before asking: before "Are you OK?" goes out because her phone went quiet
(silent) or she seems not to move on (stalled), a phone that can be asked for its position
(OwnTracks over MQTT: `reportLocation` on its /cmd topic) is asked first, and the check waits
a short while for the answer.

Pure: a function of the walk's facts, the rule that is due, when her phone was last asked,
and `now`. The watchdog (usecases/judging.py) calls it only when the rules say "ask her" for
one of these reasons; the rules themselves don't change. If a fix arrives meanwhile and the
rule is no longer due, the rules ask nobody; if it is still due, or nothing came, the check
goes out as it would have, never later than the wait after the look that asked the phone.

A question to the phone belongs to the rule's deadline it was asked after: once a fix moves
that deadline past it, a later silence (or stall) is a new one, and the phone is asked again.
"""

from __future__ import annotations

from dataclasses import dataclass

from walkwithme.domain.profiles import SECOND, Thresholds
from walkwithme.domain.rules import Reason, Watch, deadlines

# How long the check waits for the phone's answer. OwnTracks answers a reportLocation with a
# single fix as soon as it has one: seconds, where the phone can get one at all.
FRESH_FIX_WAIT_MS = 30 * SECOND

# The rules whose question a fresh position can make moot. Late, moving away and lingering are
# judged on positions the walk already has: a fresh one changes nothing of them.
ASK_PHONE_FOR = frozenset({Reason.SILENT, Reason.STALLED})


@dataclass(frozen=True)
class Wait:
    """Not yet "Are you OK?": ask her phone now (`ask_phone`), or not again, and look again
    at `look_at`."""

    ask_phone: bool
    look_at: int


def before_asking(
    w: Watch,
    reason: Reason,
    t: Thresholds,
    now: int,
    *,
    fix_asked_at: int | None,
    can_ask: bool,
) -> Wait | None:
    """The rules would ask her "Are you OK?" for `reason` now: first wait for a fresh fix?
    None: ask her now. `fix_asked_at`: when her phone was last asked for its position;
    `can_ask`: one of her phones can be asked, by this process, now."""
    if reason not in ASK_PHONE_FOR:
        return None
    due = deadlines(w, t).get(reason)
    if due is None or due > now:
        return None  # not this rule's question after all
    if fix_asked_at is not None and fix_asked_at >= due:
        # Her phone was asked after this deadline passed: its answer, or the end of the wait.
        answer_by = fix_asked_at + FRESH_FIX_WAIT_MS
        heard = w.last_heard_at
        if now >= answer_by or (heard is not None and heard >= fix_asked_at):
            return None  # the wait is over, or her phone answered and the rule is still due
        return Wait(ask_phone=False, look_at=answer_by)
    if not can_ask or now >= due + FRESH_FIX_WAIT_MS:
        # No phone to ask, or the look is late by the wait already (the watchdog was down):
        # her check is not put off any longer.
        return None
    return Wait(ask_phone=True, look_at=now + FRESH_FIX_WAIT_MS)
