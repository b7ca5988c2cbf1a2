"""A phone whose clock runs minutes off, walked home at night through the service (an outside
replay, 2026-12-07): three minutes slow, every fix looked three minutes old, and a steady walk
was asked "Are you OK?" nineteen times, then alarmed her companion; a minute and a half fast,
every fix was refused as taken in the future, and her companion saw "No position yet" all
the way home. The service learns her phone's clock from when its messages arrive
(domain/phone_clock.py) and times her fixes by its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.people import HOME, START, Cast, between
from tests.test_held_out_walks import BOTH_WAYS, Fix, Night, walked, way_home
from tests.test_phone_sos import GENERATIONS, sos_at
from walkwithme.domain.phone_clock import STEADY_MS, PhoneClock
from walkwithme.streets import StreetMap

pytestmark = pytest.mark.one_database
MIN = 60_000


def play(night: Night, fixes: Iterable[Fix], off_ms: int) -> int:
    """Her phone reports each fix when it is taken, stamped by its clock, `off_ms` off; how
    many were not kept. Until a slow clock is learned (a minute), its fixes look taken
    before her walk started, and are not kept: a phone's last position from before the walk
    is not where she is."""
    not_kept = 0
    for t, (lat, lon), extra in fixes:
        night.look_until(t)
        sent = {"t": t + off_ms, "lat": lat, "lon": lon, "accuracy": 8, **extra}
        [status] = night.cast.statuses(night.phone, sent)
        if status == "not_kept" and t - night.started <= STEADY_MS + 10_000:
            not_kept += 1
        else:
            assert status == "accepted"
    return not_kept


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
        pytest.param(90_000, "90 s ahead of", id="90 s fast"),
    ],
)
def test_a_phone_whose_clock_runs_off_walks_her_home_as_any_other(
    cast: Cast, helsinki: StreetMap, streets: bool, off_ms: int, said: str
) -> None:
    night = Night(cast)
    fixes = walked(way_home(helsinki), night.started, noise_m=5)
    lost = play(night, fixes, off_ms)
    assert lost <= (7 if off_ms < 0 else 0)
    assert night.state() == "at_door"
    assert night.at("check") == []
    assert "alarm" not in night.kinds()
    # Her companion saw her all the way, at the times the service heard her.
    kept = track(night)
    assert len(kept) == len(fixes) - lost
    assert abs(kept[-1]["t"] - fixes[-1][0]) <= 1_000
    # Her phone's page says why, and what to do.
    assert said in her_phone(night)["last_refusal"]
    assert "take its time from the network" in her_phone(night)["last_refusal"]


def test_a_phone_that_went_quiet_is_asked_as_ever_though_its_clock_is_slow(
    cast: Cast, helsinki: StreetMap
) -> None:
    """What is learned of her clock puts her fixes at the times they arrived: it never makes
    a phone that stopped look alive."""
    night = Night(cast)
    fixes = walked(way_home(helsinki), night.started)
    play(night, fixes[:30], -3 * MIN)  # five minutes, then her phone dies
    died = fixes[29][0]
    night.look_until(died + 2 * MIN + 5_000)
    [asked] = [e for e in night.events() if e["kind"] == "check"]
    assert asked["reason"] == "silent"
    assert 120 <= (asked["at"] - died) // 1000 <= 125  # (at night: two minutes)


def test_a_backlog_after_a_gap_keeps_the_times_of_a_phone_whose_clock_is_right(
    cast: Cast, helsinki: StreetMap
) -> None:
    """Out of signal for four minutes, her phone sends what it kept, one fix a request as
    Traccar Client does: their ages are each different, and no clock is learned from them."""
    night = Night(cast)
    fixes = walked(way_home(helsinki), night.started)
    play(night, fixes[:20], 0)
    gap = fixes[20:44]
    night.look_until(gap[-1][0] + 2_000)
    for t, (lat, lon), _extra in gap:  # in two seconds
        sent = {"t": t, "lat": lat, "lon": lon, "accuracy": 8}
        assert night.cast.statuses(night.phone, sent) == ["accepted"]
    play(night, fixes[44:60], 0)
    kept = track(night)
    assert [f["t"] for f in kept] == [t for t, _where, _extra in fixes[:60]]
    assert her_phone(night)["last_refusal"] is None


@pytest.mark.parametrize("gen", GENERATIONS)
@pytest.mark.parametrize(
    "off_s", [-5 * 60, -20, 3 * 60], ids=["5 min slow", "20 s slow", "3 min fast"]
)
def test_her_sos_from_a_phone_whose_clock_runs_off_is_raised(
    cast: Cast, gen: str, off_s: int
) -> None:
    """Pressed in her walk's first minute, on Traccar Client, its clock minutes slow: the
    SOS looked pressed before her walk began, and was not raised."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=30)
    pressed = cast.clock.now_ms() // 1000 + off_s
    sent = cast.client.post(**sos_at(gen, phone, pressed, between(START, HOME, 0.05)))
    assert sent.status_code == 200
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "alarm"
    assert cast.events(noor, walk)[-1]["reason"] == "sos"


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


@given(st.integers(min_value=-6 * 3_600_000, max_value=6 * 3_600_000))
def test_a_clock_off_by_a_steady_amount_is_learned_within_a_minute(off_ms: int) -> None:
    steady = [(t, t + off_ms) for t in range(0, STEADY_MS + 10_000, 10_000)]
    clock = learned(steady)
    if off_ms > 60_000:  # far ahead: known from the first message
        assert learned(steady[:1]).offset_ms == -off_ms
    if off_ms > 60_000 or off_ms < -60_000:
        assert clock.offset_ms == -off_ms
    else:  # the network's doing, or within what a fix ahead keeps its time for
        assert clock.offset_ms == 0


@given(
    st.integers(min_value=10_000, max_value=600_000),
    st.integers(min_value=2_000, max_value=30_000),
)
def test_a_backlog_sent_in_a_burst_is_never_taken_for_a_clock(gap_ms: int, every_ms: int) -> None:
    """Kept while she had no signal and sent at once (a request a second): each message's
    fix is older by a different amount."""
    t0 = 1_000_000
    sent_at = t0 + gap_ms
    backlog = [
        (sent_at + i * 1_000, t0 + i * every_ms)
        for i in range(gap_ms // every_ms)
        if t0 + i * every_ms <= sent_at
    ]
    assert learned(backlog).offset_ms == 0


def test_a_clock_put_right_is_followed() -> None:
    slow = learned((t, t - 3 * MIN) for t in range(0, 2 * MIN, 10_000))
    assert slow.offset_ms == 3 * MIN
    right = slow.learn(2 * MIN, 2 * MIN)  # set right: ahead, as corrected, at once
    assert right.offset_ms == 0
    fast = learned((t, t + 90_000) for t in range(0, 2 * MIN, 10_000))
    assert fast.offset_ms == -90_000
    put_right = fast
    for t in range(2 * MIN, 4 * MIN, 10_000):
        put_right = put_right.learn(t, t)
    assert put_right.offset_ms == 0
