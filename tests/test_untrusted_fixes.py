"""Fixes kept out of the map: a phone's stale first position far away, a run of fixes that
agree with each other against it, and fixes too vague to draw, which still say that her phone
is alive and how its battery is."""

from __future__ import annotations

from typing import Any

from tests.people import HOME, START, Cast, Member, between

KERAVA = (60.40, 25.10)  # 27 km north of the walk: where a phone last knew itself


def seen(cast: Cast, who: Member, walk: dict[str, Any]) -> dict[str, Any]:
    answer = cast.client.get(f"/api/walks/{walk['id']}", headers=who.auth)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def near(position: dict[str, Any], where: tuple[float, float]) -> bool:
    lat, lon = float(position["lat"]), float(position["lon"])
    return abs(lat - where[0]) < 1e-6 and abs(lon - where[1]) < 1e-6


def test_a_stale_first_position_far_away_does_not_hold_her_there(cast: Cast) -> None:
    """Her phone's first fix is where it last knew itself, 27 km away; her true fixes after
    it are each a jump from it. Three in a row that agree with each other move the track:
    within half a minute her companion sees where she is, not 27 km off."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=10)
    assert cast.statuses(phone, cast.fix(KERAVA, accuracy=60)) == ["accepted"]
    statuses = []
    for step in range(1, 5):
        cast.clock.advance(seconds=10)
        statuses += cast.statuses(phone, cast.fix(between(START, HOME, step / 100)))
    assert statuses == ["flagged", "flagged", "accepted", "accepted"]
    shown = seen(cast, noor, walk)["last_position"]
    assert near(shown, between(START, HOME, 4 / 100)), shown


def test_the_same_run_in_one_batch_moves_the_track_too(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=60)
    assert cast.statuses(phone, cast.fix(KERAVA, seconds_ago=50)) == ["accepted"]
    batch = [
        cast.fix(between(START, HOME, step / 100), seconds_ago=50 - 10 * step)
        for step in range(1, 5)
    ]
    assert cast.statuses(phone, *batch) == ["flagged", "flagged", "accepted", "accepted"]
    assert near(seen(cast, noor, walk)["last_position"], between(START, HOME, 4 / 100))


def test_one_or_two_wild_fixes_are_still_kept_out(cast: Cast) -> None:
    """Two fixes far away that agree with each other are not yet a run: the next true fix,
    plausible from where she was, is trusted, and the wild ones stay off the map."""
    mira, noor, phone, walk = cast.walking()
    path = [between(START, HOME, 0.01), KERAVA, (KERAVA[0] + 0.0005, KERAVA[1])]
    path.append(between(START, HOME, 0.04))
    statuses = []
    for where in path:
        cast.clock.advance(seconds=10)
        statuses += cast.statuses(phone, cast.fix(where))
    assert statuses == ["accepted", "flagged", "flagged", "accepted"]
    assert near(seen(cast, noor, walk)["last_position"], between(START, HOME, 0.04))


def test_a_phone_whose_fixes_are_too_vague_to_draw_is_not_silent(cast: Cast) -> None:
    """Underground or indoors her phone reports every 10 s, each fix ±800 m: none is drawn,
    but her phone is alive, so she is never asked "Are you OK?" because it went silent, and
    her companion sees when it was last heard."""
    mira, noor, phone, walk = cast.walking()
    for _ in range(36):  # six minutes
        cast.clock.advance(seconds=10)
        sent = cast.fix(between(START, HOME, 0.1), accuracy=800, battery=60)
        assert cast.statuses(phone, sent) == ["flagged"]
        cast.services.watchdog.tick_sync()
    events = cast.events(mira, walk)
    asked = [e.get("reason") for e in events if e["kind"] in ("check", "alarm")]
    assert "silent" not in asked, events
    assert seen(cast, noor, walk)["heard_at"] == cast.clock.now_ms()


def test_a_low_battery_is_told_from_fixes_kept_out_of_the_map(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=10)
    assert cast.statuses(phone, cast.fix(between(START, HOME, 0.05), battery=40)) == ["accepted"]
    for battery in (16, 14, 4):
        cast.clock.advance(seconds=10)
        vague = cast.fix(between(START, HOME, 0.06), accuracy=800, battery=battery)
        assert cast.statuses(phone, vague) == ["flagged"]
    low = [e for e in cast.events(noor, walk) if e["kind"] == "low_battery"]
    assert [e["battery"] for e in low] == [14, 4]
    # Where she was last seen, as her companions are told it: the last fix that was drawn.
    assert near(low[0]["position"], between(START, HOME, 0.05))


def test_a_network_position_during_an_alarm_is_where_she_was_last_seen(cast: Cast) -> None:
    """A fix within 300 m (a network position) is not judged by the rules, but it is shown:
    during her alarm it may be all there is of where she is (a review: flagged, it vanished)."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=10)
    assert cast.statuses(phone, cast.fix(between(START, HOME, 0.05))) == ["accepted"]
    cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth)
    cast.clock.advance(seconds=30)
    driven = cast.fix(between(START, HOME, 0.6), accuracy=300)
    assert cast.statuses(phone, driven) == ["accepted"]
    last = seen(cast, noor, walk)["last_position"]
    assert near(last, between(START, HOME, 0.6))
    assert last["accuracy"] == 300
