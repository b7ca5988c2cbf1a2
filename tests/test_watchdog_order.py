"""The watchdog when it is behind (a restart after an outage, a burst): the walks whose walker
was asked "Are you OK?" and hasn't answered are judged first, so their alarms don't wait
behind new questions. The order changes who is judged first, never what is decided."""

from __future__ import annotations

from tests.people import Cast


def test_an_unanswered_check_is_judged_before_new_questions_when_the_watchdog_is_behind(
    cast: Cast,
) -> None:
    watchdog = cast.services.watchdog
    watchdog.judge_batch = 1  # every walk in a writer group of its own: the order shows
    mira, _noor, _phone, _walk = cast.walking()
    cast.clock.advance(seconds=30)
    aino, eero = cast.person("Aino"), cast.person("Eero")
    cast.link(aino, eero)
    cast.start_walk(aino)  # silent from now: her check falls due 3 minutes on, at 3:30
    cast.clock.advance(minutes=2, seconds=30)
    assert watchdog.tick_sync() == ["check"]  # 3:00: Mira is asked; her window ends at 4:00
    # The watchdog was away until 4:30: Aino's check fell due first, Mira's alarm after.
    cast.clock.advance(minutes=1, seconds=30)
    assert watchdog.tick_sync() == ["alarm", "check"]


def test_in_order_of_due_time_when_one_group_takes_them_all(cast: Cast) -> None:
    mira, _noor, _phone, _walk = cast.walking()
    cast.clock.advance(seconds=30)
    aino, eero = cast.person("Aino"), cast.person("Eero")
    cast.link(aino, eero)
    cast.start_walk(aino)
    cast.clock.advance(minutes=2, seconds=30)
    assert cast.services.watchdog.tick_sync() == ["check"]
    cast.clock.advance(minutes=1, seconds=30)
    assert cast.services.watchdog.tick_sync() == ["check", "alarm"]  # one batch: due order
