"""A phone whose clock runs minutes off, walked home at night through the service (an outside
replay, 2026-12-07): three minutes slow, every fix looked three minutes old, and a steady walk
was asked "Are you OK?" nineteen times, then alarmed her companion; a minute and a half fast,
every fix was refused as taken in the future, and her companion saw "No position yet" all
the way home. The service learns her phone's clock from when its messages arrive
(domain/phone_clock.py) and times her fixes by its own; what a phone with a right clock
does (a queue sent after a gap, a poor network, a garbled time, a fix sent again after a
restart) teaches it nothing, and keeps its times.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.people import HOME, START, Cast, between
from tests.test_held_out_walks import BOTH_WAYS, Fix, Night, walked, way_home
from tests.test_pages import page, text_of
from tests.test_phone_sos import GENERATIONS, reports_for, sos_at
from walkwithme.domain.phone_clock import STEADY_MS, PhoneClock
from walkwithme.streets import StreetMap

pytestmark = pytest.mark.one_database
MIN = 60_000
# Until her clock is learned (a minute and a half of its positions), a slow clock's fixes look taken
# before her walk began (not kept: a phone's last position from before the walk is not where
# she is), a fast one's in the future (refused by name).
LEARNING_MS = STEADY_MS + 40_000


def play(night: Night, fixes: Iterable[Fix], off_ms: int) -> int:
    """Her phone reports each fix when it is taken, stamped by its clock, `off_ms` off; how
    many were not kept while her clock was being learned."""
    lost = 0
    for t, (lat, lon), extra in fixes:
        night.look_until(t)
        sent = {"t": t + off_ms, "lat": lat, "lon": lon, "accuracy": 8, **extra}
        [status] = night.cast.statuses(night.phone, sent)
        if status in ("not_kept", "refused") and t - night.started <= LEARNING_MS:
            lost += 1
        else:
            assert status == "accepted", (t - night.started, status)
    return lost


def her_phone(night: Night) -> dict[str, Any]:
    [phone] = night.cast.client.get("/api/devices", headers=night.mira.auth).json()
    return dict(phone)


def track(night: Night) -> list[dict[str, Any]]:
    url = f"/api/walks/{night.walk['id']}/fixes"
    return list(night.cast.client.get(url, headers=night.noor.auth).json())


@pytest.mark.parametrize("streets", BOTH_WAYS)
@pytest.mark.parametrize(
    ("off_ms", "said"),
    [
        pytest.param(-3 * MIN, "3 min behind", id="3 min slow"),
        pytest.param(-10 * MIN, "10 min behind", id="10 min slow"),
        pytest.param(90_000, "90 s ahead of", id="90 s fast"),
    ],
)
def test_a_phone_whose_clock_runs_off_walks_her_home_without_an_alarm(
    cast: Cast, helsinki: StreetMap, streets: bool, off_ms: int, said: str
) -> None:
    night = Night(cast)
    fixes = walked(way_home(helsinki), night.started, noise_m=5)
    lost = play(night, fixes, off_ms)
    assert night.state() == "at_door"
    assert "alarm" not in night.kinds()
    # At most one question, while her clock was being learned, taken back by her progress.
    assert len(night.at("check")) <= 1
    assert all(at * 1000 <= LEARNING_MS + MIN for at in night.at("check"))
    # Her companion saw her from then on, at the times the service heard her.
    kept = track(night)
    assert len(kept) == len(fixes) - lost
    assert lost <= LEARNING_MS // 10_000
    assert abs(kept[-1]["t"] - fixes[-1][0]) <= 1_000
    # Her phone's page says why, and what to do.
    assert said in her_phone(night)["clock"]
    assert "take its time from the network" in her_phone(night)["clock"]


@pytest.mark.parametrize("off_s", [90, 120, 150])
def test_a_phone_a_few_minutes_slow_reporting_every_half_minute_is_not_asked_at_all(
    cast: Cast, helsinki: StreetMap, off_s: int
) -> None:
    """Her first fixes look taken before her walk began (not kept); the first kept one, still
    her clock's time, looked a minute older than her walk: the stalled rule counted from it,
    and asked her two minutes in, then alarmed her companion before her progress showed
    (7 walks home in 10 with her clock two and a half minutes slow, in a held-out replay)."""
    night = Night(cast)
    play(night, walked(way_home(helsinki), night.started, every_s=30, noise_m=5), -off_s * 1000)
    assert night.state() == "at_door"
    assert night.at("check") == []


def test_a_phone_that_went_quiet_is_asked_as_ever_though_its_clock_is_slow(
    cast: Cast, helsinki: StreetMap
) -> None:
    """What is learned of her clock puts her fixes at the times they arrived: it never makes
    a phone that stopped look alive."""
    night = Night(cast)
    fixes = walked(way_home(helsinki), night.started)
    play(night, fixes[:36], -3 * MIN)  # six minutes, then her phone dies
    died = fixes[35][0]
    night.look_until(died + 2 * MIN + 5_000)
    asked = [e for e in night.events() if e["kind"] == "check"]
    assert asked[-1]["reason"] == "silent"
    assert 120 <= (asked[-1]["at"] - died) // 1000 <= 125  # (at night: two minutes)


@pytest.mark.parametrize("every_s", [1, 4.5])
def test_a_queue_after_a_gap_keeps_the_times_of_a_phone_whose_clock_is_right(
    cast: Cast, helsinki: StreetMap, every_s: float
) -> None:
    """Out of signal for four minutes, her phone sends what it kept, one fix a request as
    Traccar Client does, at once or over a poor network (a fix every 5 s, sent every 4.5 s):
    each is older by a different amount, and no clock is learned from them."""
    night = Night(cast)
    fixes = walked(way_home(helsinki), night.started, every_s=5)
    play(night, fixes[:40], 0)
    gap = fixes[40:88]
    sent_at = gap[-1][0] + 2_000
    for n, (t, (lat, lon), _extra) in enumerate(gap):
        night.look_until(sent_at + int(n * every_s * 1000))
        sent = {"t": t, "lat": lat, "lon": lon, "accuracy": 8}
        assert night.cast.statuses(night.phone, sent) == ["accepted"]
    assert her_phone(night)["clock"] is None
    kept = track(night)
    assert [f["t"] for f in kept] == [t for t, _where, _extra in fixes[:88]]


def test_one_garbled_time_is_refused_alone(cast: Cast) -> None:
    """A batch of ten with one fix three hours ahead: that one is refused, the nine kept (a
    correction made from it at once lost the nine, and a minute of fixes after them)."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=100)
    batch = [cast.fix(between(START, HOME, 0.01 * n), seconds_ago=100 - 10 * n) for n in range(10)]
    batch[6]["t"] += 3 * 3_600_000
    statuses = cast.statuses(phone, *batch)
    assert statuses == ["accepted"] * 6 + ["refused"] + ["accepted"] * 3
    cast.clock.advance(seconds=10)
    assert cast.statuses(phone, cast.fix(between(START, HOME, 0.11))) == ["accepted"]
    assert cast.client.get("/api/devices", headers=mira.auth).json()[0]["clock"] is None


def test_a_fix_sent_again_after_a_restart_is_seen_twice(cast: Cast, helsinki: StreetMap) -> None:
    """Her slow clock learned, then the service restarts (what it learned of her clock's
    runs is in its memory): her phone sends its last fix again (its answer was lost). Kept
    with the device, the correction gives it the same time: a duplicate, not a second point
    three minutes back."""
    night = Night(cast)
    fixes = walked(way_home(helsinki), night.started)
    play(night, fixes[:30], -3 * MIN)
    cast.services.writer._learned.clear()
    t, (lat, lon), _extra = fixes[29]
    again = {"t": t - 3 * MIN, "lat": lat, "lon": lon, "accuracy": 8}
    assert cast.statuses(night.phone, again) == ["duplicate"]


def test_a_slow_clock_put_right_is_followed_at_once(cast: Cast, helsinki: StreetMap) -> None:
    night = Night(cast)
    fixes = walked(way_home(helsinki), night.started)
    play(night, fixes[:30], -3 * MIN)
    assert "3 min behind" in her_phone(night)["clock"]
    said = "This phone's clock is 3 min behind the service's: its positions are timed by when"
    assert said in text_of(page(cast.client, "/phones/apps", night.mira).text)
    assert play(night, fixes[30:40], 0) == 0  # every one kept, at its own time
    assert [f["t"] for f in track(night)][-10:] == [t for t, _where, _extra in fixes[30:40]]
    assert her_phone(night)["clock"] is None
    assert "clock is" not in text_of(page(cast.client, "/phones/apps", night.mira).text)


@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize(
    ("off_s", "at_once"),
    [(-3 * 3600, False), (-12 * 60, True), (-20, True), (3 * 60, True)],
    ids=["3 h slow", "12 min slow", "20 s slow", "3 min fast"],
)
def test_her_sos_from_a_phone_whose_clock_runs_off_is_raised(
    cast: Cast, gen: str, off_s: int, at_once: bool
) -> None:
    """Pressed in her walk's first minute on Traccar Client, its clock minutes slow: it
    looked pressed before her walk began, and was never raised (an outside review). While
    her phone's clock is not known, one up to half an hour before is raised at once; an
    older one (a phone set to the wrong time zone) is held, and raised once her clock is."""
    mira, noor, phone, walk = cast.walking()
    reports_for(cast, phone, seconds=30, off_s=off_s)
    pressed = cast.clock.now_ms() // 1000 + off_s
    sent = cast.client.post(**sos_at(gen, phone, pressed, between(START, HOME, 0.05)))
    assert sent.status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == ("alarm" if at_once else "active")
    reports_for(cast, phone, seconds=90, off_s=off_s)
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "alarm"
    assert [e["reason"] for e in cast.events(noor, walk) if e["kind"] == "alarm"] == ["sos"]


def test_a_fix_more_than_a_day_ahead_is_refused_by_name(cast: Cast) -> None:
    mira, _noor, phone, _walk = cast.walking()
    sent = cast.fix((60.17, 24.94), seconds_ago=-(25 * 3600))
    [result] = cast.send(phone, sent)
    assert (result["status"], result["field"]) == ("refused", "t")
    assert "more than a day ahead of the server's clock" in result["reason"]


# -- what is learned, message by message --------------------------------------------------


def learned(arrivals: Iterable[tuple[int, int]]) -> PhoneClock:
    """The clock learned from messages (arrived at, newest time by the phone)."""
    clock = PhoneClock()
    for now, newest in arrivals:
        clock = clock.learn(newest, now)
    return clock


@given(
    st.integers(min_value=-6 * 3_600_000, max_value=6 * 3_600_000),
    st.integers(min_value=5_000, max_value=30_000),
    st.lists(st.integers(min_value=0, max_value=3_000), min_size=40, max_size=40),
)
def test_a_clock_off_by_a_steady_amount_is_learned_in_two_minutes(
    off_ms: int, every_ms: int, delays: list[int]
) -> None:
    """Whatever the phone's interval, with a few seconds of network delay each message."""
    steady = [
        (t + delays[n % 40], t + off_ms)
        for n, t in enumerate(range(0, STEADY_MS + 2 * every_ms + 1, every_ms))
    ]
    clock = learned(steady)
    if abs(off_ms) > 63_000:
        assert abs(clock.offset_ms + off_ms) <= 3_000
    elif abs(off_ms) < 57_000:  # the network's doing, or a fix ahead that keeps its time
        assert clock.offset_ms == 0


@given(
    st.integers(min_value=30_000, max_value=600_000),
    st.integers(min_value=2_000, max_value=10_000),
    st.floats(min_value=0.0, max_value=0.9),
)
def test_a_queue_sent_after_a_gap_is_never_taken_for_a_clock(
    gap_ms: int, every_ms: int, pace: float
) -> None:
    """Kept while she had no signal, then sent: at once, or drained over a poor network
    (`pace`: each message takes this share of the phone's interval to send)."""
    t0 = 1_000_000
    sent_at = t0 + gap_ms
    queue = [
        (sent_at + round(n * every_ms * pace), t0 + n * every_ms)
        for n in range(gap_ms // every_ms + 1)
    ]
    assert learned(queue).offset_ms == 0


def test_a_fast_clock_is_learned_and_one_put_right_is_followed() -> None:
    fast = learned((t, t + 90_000) for t in range(0, 3 * MIN, 10_000))
    assert fast.offset_ms == -90_000
    put_right = fast
    for t in range(3 * MIN, 6 * MIN, 10_000):
        put_right = put_right.learn(t, t)
    assert put_right.offset_ms == 0
