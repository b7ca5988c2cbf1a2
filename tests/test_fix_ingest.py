"""Fixes through the native API: each acknowledged once, in time order, only during walks."""

from __future__ import annotations

from typing import Any

from tests.people import HOME, START, Cast, Member, between


def track(cast: Cast, who: Member, walk: dict[str, Any]) -> list[dict[str, Any]]:
    answer = cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=who.auth)
    assert answer.status_code == 200, answer.text
    fixes: list[dict[str, Any]] = answer.json()
    return fixes


def test_the_same_fix_sent_twice_is_stored_once(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    fix = cast.fix(between(START, HOME, 0.1))
    assert cast.statuses(phone, fix) == ["accepted"]
    assert cast.statuses(phone, fix) == ["duplicate"]
    assert cast.statuses(phone, fix, fix) == ["duplicate", "duplicate"]
    assert len(track(cast, noor, walk)) == 1


def test_a_bad_item_is_refused_by_name_and_the_rest_of_the_batch_is_kept(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=20)
    good_one = cast.fix(between(START, HOME, 0.1), seconds_ago=10)
    bad_lat = {**cast.fix(START), "lat": 95}
    no_time = {"lat": START[0], "lon": START[1]}
    bad_accuracy = {**cast.fix(START, seconds_ago=5), "accuracy": -3}
    good_two = cast.fix(between(START, HOME, 0.2))
    results = cast.send(phone, good_one, bad_lat, no_time, bad_accuracy, good_two)
    assert [r["status"] for r in results] == [
        "accepted",
        "refused",
        "refused",
        "refused",
        "accepted",
    ]
    assert [r.get("field") for r in results] == [None, "lat", "t", "accuracy", None]
    assert "between -90 and 90" in results[1]["reason"]
    assert len(track(cast, noor, walk)) == 2


def test_a_late_fix_is_stored_in_time_order_and_never_moves_the_walk_back(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=10)
    newest = between(START, HOME, 0.8)
    cast.send(phone, cast.fix(newest))
    # A fix from five minutes ago arrives only now (the phone was offline).
    older = between(START, HOME, 0.4)
    assert cast.statuses(phone, cast.fix(older, seconds_ago=300)) == ["accepted"]
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["lat"] == newest[0]
    points = sorted(track(cast, noor, walk), key=lambda f: f["t"])
    assert [p["lat"] for p in points] == [older[0], newest[0]]


def test_a_late_fix_inside_the_radius_does_not_put_her_back_at_the_door(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=12)
    cast.send(phone, cast.fix(HOME))
    cast.clock.advance(minutes=1)
    away = (HOME[0] + 0.002, HOME[1])  # about 220 m north: she walked on
    cast.send(phone, cast.fix(away))
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=mira.auth).json()["state"] == (
        "active"
    )
    cast.send(phone, cast.fix(HOME, seconds_ago=30))
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=mira.auth).json()["state"] == (
        "active"
    )


def test_implausible_fixes_are_stored_flagged_and_kept_off_the_map(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.send(phone, cast.fix(START))
    cast.clock.advance(seconds=60)
    far_away = (START[0] + 0.1, START[1])  # 11 km in a minute
    vague = {**cast.fix(between(START, HOME, 0.1), seconds_ago=-1), "accuracy": 1600}
    results = cast.send(phone, cast.fix(far_away), vague)
    assert [r["status"] for r in results] == ["flagged", "flagged"]
    assert "jump" in results[0]["reason"]
    assert "inaccurate" in results[1]["reason"]
    assert [p["lat"] for p in track(cast, noor, walk)] == [START[0]]
    assert (
        cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["last_position"][
            "lat"
        ]
        == START[0]
    )


def test_location_outside_a_walk_is_not_kept(cast: Cast) -> None:
    mira = cast.person("Mira")
    phone = cast.device(mira)
    results = cast.send(phone, cast.fix(START))
    assert results[0]["status"] == "not_kept"
    stored = cast.services.db.read_sync(
        lambda c: c.exec_driver_sql("SELECT count(*) FROM fixes").scalar_one()
    )
    assert stored == 0


def test_a_fix_taken_before_the_walk_started_is_not_kept(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    assert cast.statuses(phone, cast.fix(START, seconds_ago=3600)) == ["not_kept"]
    assert track(cast, noor, walk) == []


def test_a_single_fix_without_a_batch_is_accepted(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    answer = cast.client.post(
        "/api/fixes", json=cast.fix(START), headers={"Authorization": f"Bearer {phone}"}
    )
    assert answer.json() == {"results": [{"index": 0, "status": "accepted"}]}


def test_a_single_malformed_fix_is_a_400_naming_the_field(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    for field, value in (("altitude", 1e308), ("speed", 1e9), ("accuracy", 1e9)):
        answer = cast.client.post(
            "/api/fixes",
            json={**cast.fix(START), field: value},
            headers={"Authorization": f"Bearer {phone}"},
        )
        assert answer.status_code == 400, answer.text
        assert answer.json()["field"] == field
        assert field in answer.json()["error"]
    assert track(cast, noor, walk) == []


def test_a_body_that_is_not_json_is_refused_and_changes_nothing(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    answer = cast.client.post(
        "/api/fixes", content=b"{lat: 1", headers={"Authorization": f"Bearer {phone}"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "body is not valid JSON"
    assert track(cast, noor, walk) == []


def test_a_revoked_device_can_post_no_more(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    devices = cast.client.get("/api/devices", headers=mira.auth).json()
    gone = cast.client.delete(f"/api/devices/{devices[0]['id']}", headers=mira.auth)
    assert gone.status_code == 204
    answer = cast.client.post(
        "/api/fixes", json=cast.fix(START), headers={"Authorization": f"Bearer {phone}"}
    )
    assert answer.status_code == 401
    assert track(cast, noor, walk) == []


def test_a_walker_can_report_from_two_phones(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    watch = cast.device(mira, "watch")
    fix = cast.fix(START)
    assert cast.statuses(phone, fix) == ["accepted"]
    # Same instant from another device is another fix, not a duplicate.
    assert cast.statuses(watch, fix) == ["accepted"]
    assert len(track(cast, noor, walk)) == 2


def test_a_whole_walk_in_one_batch_moves_the_walk_as_fix_by_fix(cast: Cast) -> None:
    """A phone that was offline sends its queue at once: the walk reaches the door, the
    battery notice is given, and everything is drawn in order."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=10)
    queue = [
        cast.fix(between(START, HOME, step / 10), seconds_ago=(10 - step) * 50, battery=20 - step)
        for step in range(11)
    ]
    results = cast.send(phone, *reversed(queue))  # and in any order
    assert {r["status"] for r in results} == {"accepted"}
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "at_door"
    assert seen["last_position"]["battery"] == 10
    kinds = [
        e["kind"]
        for e in cast.client.get(f"/api/walks/{walk['id']}/events", headers=noor.auth).json()
    ]
    assert kinds == ["started", "low_battery", "arrived"]
    assert len(track(cast, noor, walk)) == 11


def test_late_fixes_in_one_batch_are_judged_against_each_other(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=5)
    cast.send(phone, cast.fix(between(START, HOME, 0.5)))
    # Two fixes from a minute ago, 11 km apart within a second: the second is a jump.
    near = cast.fix(START, seconds_ago=60)
    far = cast.fix((START[0] + 0.1, START[1]), seconds_ago=59)
    assert cast.statuses(phone, far, near) == ["flagged", "accepted"]
