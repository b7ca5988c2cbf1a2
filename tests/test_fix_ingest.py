"""Fixes through the native API: each acknowledged once, in time order, only during walks."""

from __future__ import annotations

import threading
from functools import partial
from typing import Any

import sqlalchemy as sa

from tests.people import HOME, START, Cast, Member, between
from walkwithme.domain.errors import Conflict
from walkwithme.domain.fixes import Fix
from walkwithme.store.database import Database, StorageUnavailable
from walkwithme.store.schema import devices, fixes, walks
from walkwithme.store.tx import Tx
from walkwithme.store.writer import Writer
from walkwithme.usecases.devices import device_for_token
from walkwithme.usecases.fixes import SEEN_EVERY_MS, Parsed, record_fixes


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


def test_a_device_revoked_by_another_process_is_refused_within_seconds(cast: Cast) -> None:
    """The command line revokes a phone beside a server on SQLite, which hears nothing of it:
    the server forgets what it remembered of the token within 5 seconds (a revoked companion's
    phone was answered with the walkers it follows for a minute)."""
    mira, noor, phone, walk = cast.walking()
    assert cast.statuses(phone, cast.fix(START)) == ["accepted"]  # its token now remembered
    [device] = cast.client.get("/api/devices", headers=mira.auth).json()
    # Committed on a connection of its own, as the command would: no writer of this service
    # saw it, so nothing told the service to forget the token.
    elsewhere = sa.create_engine(cast.services.db.url)
    with elsewhere.begin() as conn:
        conn.execute(sa.update(devices).where(devices.c.id == device["id"]).values(revoked_at=1))
    elsewhere.dispose()
    cast.clock.advance(seconds=5)
    answer = cast.client.post(
        "/api/fixes", json=cast.fix(START), headers={"Authorization": f"Bearer {phone}"}
    )
    assert answer.status_code == 401


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


def test_a_resent_fix_among_new_ones_is_a_duplicate_and_the_track_keeps_no_gap(
    cast: Cast,
) -> None:
    """The writer inserts a batch first and finds the fixes it had already (one statement,
    not a look-up then an insert): those are answered `duplicate`, the rest judged and
    numbered as if they had come alone."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=2)
    first = cast.fix(between(START, HOME, 0.1), seconds_ago=60)
    assert cast.statuses(phone, first) == ["accepted"]
    second = cast.fix(between(START, HOME, 0.2), seconds_ago=30)
    assert cast.statuses(phone, first, second) == ["duplicate", "accepted"]
    third = cast.fix(between(START, HOME, 0.3))
    # Re-sent within the batch too, and the batch in any order.
    assert cast.statuses(phone, third, second, third) == ["accepted", "duplicate", "duplicate"]
    points = track(cast, noor, walk)
    assert [(p["id"], p["t"]) for p in points] == [
        (1, first["t"]),
        (2, second["t"]),
        (3, third["t"]),
    ]
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["t"] == third["t"]
    # A whole batch of fixes kept already changes nothing, and numbers nothing.
    assert cast.statuses(phone, first, second, third) == ["duplicate"] * 3
    cast.clock.advance(seconds=10)
    assert cast.statuses(phone, cast.fix(between(START, HOME, 0.4))) == ["accepted"]
    assert [p["id"] for p in track(cast, noor, walk)] == [1, 2, 3, 4]


def test_a_resent_fix_is_judged_against_the_fixes_it_came_with(cast: Cast) -> None:
    """A re-sent fix doesn't count twice: the fix after it is judged against the stored
    one (here: a jump of 11 km in a second is flagged whether or not its neighbour was
    kept before)."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=5)
    near = cast.fix(START, seconds_ago=60)
    assert cast.statuses(phone, near) == ["accepted"]
    far = cast.fix((START[0] + 0.1, START[1]), seconds_ago=59)
    onward = cast.fix(between(START, HOME, 0.1))
    assert cast.statuses(phone, near, far, onward) == ["duplicate", "flagged", "accepted"]
    assert [p["id"] for p in track(cast, noor, walk)] == [1, 3]  # 2 is the flagged one
    assert cast.statuses(phone, far) == ["duplicate"]


def test_a_phones_last_message_is_noted_once_a_group(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(seconds=30)
    cast.send(phone, cast.fix(START), cast.fix(START, seconds_ago=5))
    phones = cast.client.get("/api/devices", headers=mira.auth).json()
    assert phones[0]["last_seen_at"] == cast.clock.now_ms()


def test_a_phones_last_seen_time_is_kept_to_the_half_minute_while_its_fixes_come(
    cast: Cast,
) -> None:
    mira, noor, phone, walk = cast.walking()

    def last_seen() -> int:
        found: int = cast.client.get("/api/devices", headers=mira.auth).json()[0]["last_seen_at"]
        return found

    first = cast.clock.now_ms()
    cast.send(phone, cast.fix(START))
    assert last_seen() == first
    for _ in range(2):  # every 10 s: not written again within SEEN_EVERY_MS
        cast.clock.advance(seconds=10)
        cast.send(phone, cast.fix(START))
        assert last_seen() == first
        assert cast.clock.now_ms() - last_seen() < SEEN_EVERY_MS
    cast.clock.advance(seconds=10)  # 30 s after the first
    cast.send(phone, cast.fix(START))
    assert last_seen() == cast.clock.now_ms()


def test_fixes_from_two_writers_at_once_are_numbered_in_commit_order_without_a_gap(
    cast: Cast, db_url: str
) -> None:
    """Two writers on one database, as two `serve` processes on PostgreSQL have (on SQLite
    the second waits for the file's lock): her two phones post at once through both, so
    each fix reaches both writers. Each fix is kept once, answered `accepted` once and
    `duplicate` once, and the walk's track is numbered 1, 2, 3... without a gap."""
    mira, noor, phone, walk = cast.walking()
    watch = cast.device(mira, "watch")
    cast.clock.advance(minutes=1)
    db = cast.services.db
    phones = [db.read_sync(partial(device_for_token, token=token)) for token in (phone, watch)]
    other = Database(db_url)
    writers = [cast.services.writer, Writer(other.write_engine, cast.clock)]
    writers[1].start()
    start = cast.clock.now_ms() - 50_000
    answers: list[str] = []

    def post(writer: Writer, device_index: int) -> None:
        device = phones[device_index]
        assert device is not None
        for n in range(60):
            fix: list[Parsed] = [Fix(start + n * 1000, START[0] + n * 1e-5, START[1], 8.0)]
            for _attempt in range(20):  # as a phone does when asked to send again
                try:
                    outcome = writer.run_sync(partial(record_fixes, device=device, batch=fix))
                except (Conflict, StorageUnavailable):
                    continue
                answers.append(outcome[0].status)
                break

    # Each phone posts through both writers at once: the same fix reaches both.
    threads = [
        threading.Thread(target=post, args=(writer, device_index))
        for writer in writers
        for device_index in (0, 1)
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        writers[1].stop()
        other.dispose()
    assert len(answers) == 240
    assert answers.count("accepted") == 120
    assert answers.count("duplicate") == 120
    points = track(cast, noor, walk)
    assert sorted(p["id"] for p in points) == list(range(1, 121))
    assert len({(p["t"], p["id"]) for p in points}) == 120


def test_phones_fixes_committed_together_with_a_resent_one_are_each_answered_as_alone(
    cast: Cast,
) -> None:
    """Fixes of several requests in one group commit, one of them sent again: on PostgreSQL
    the group's fixes go with its commit unread, and the resent one must fail the group, not
    be answered "accepted" or move her walk (store/pg_writes.py)."""
    mira, noor, phone, walk = cast.walking()
    device = cast.services.db.read_sync(partial(device_for_token, token=phone))
    assert device is not None
    now = cast.clock.now_ms()
    first, second = (Fix(now - ms, START[0] + ms * 1e-7, START[1], 8.0) for ms in (2000, 1000))

    def one_group(tx: Tx) -> list[str]:
        said: list[str] = []
        for fix in (first, first, second):  # as three requests in one group would be
            said += [o.status for o in record_fixes(tx, device=device, batch=[fix])]
        return said

    assert cast.services.writer.run_sync(one_group) == ["accepted", "duplicate", "accepted"]
    points = track(cast, noor, walk)
    assert [(p["id"], p["t"]) for p in points] == [(1, first.t_ms), (2, second.t_ms)]
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["last_position"]["t"] == second.t_ms


def test_what_a_group_reads_after_a_fix_includes_that_fix(cast: Cast) -> None:
    """On PostgreSQL a fix waits to be sent with the commit; anything the group runs after it
    is sent after it (store/pg_writes.py)."""
    mira, noor, phone, walk = cast.walking()
    device = cast.services.db.read_sync(partial(device_for_token, token=phone))
    assert device is not None
    fix = Fix(cast.clock.now_ms(), START[0], START[1], 8.0)

    def fix_then_read(tx: Tx) -> tuple[int, int]:
        record_fixes(tx, device=device, batch=[fix])
        kept = tx.conn.execute(sa.select(sa.func.count()).select_from(fixes)).scalar_one()
        last = tx.conn.execute(sa.select(walks.c.last_fix_at).where(walks.c.id == walk["id"]))
        return kept, last.scalar_one()

    assert cast.services.writer.run_sync(fix_then_read) == (1, fix.t_ms)


def test_a_long_queue_sent_at_once_is_kept_whole_and_numbered_in_time_order(cast: Cast) -> None:
    """A phone back online sends hundreds of fixes in one request (more than one insert
    statement's worth on SQLite), with the last few it had sent already among them."""
    mira, noor, phone, walk = cast.walking()
    cast.clock.advance(minutes=10)
    queue = [
        cast.fix(between(START, HOME, 0.3 * step / 300), seconds_ago=(300 - step) * 2)
        for step in range(300)
    ]
    assert cast.statuses(phone, *queue[-5:]) == ["accepted"] * 5
    answers = cast.statuses(phone, *queue)
    assert answers == ["accepted"] * 295 + ["duplicate"] * 5
    points = track(cast, noor, walk)
    assert len(points) == 300
    # The five sent first were numbered first; the rest follow, in time order.
    by_id = sorted(points, key=lambda p: p["id"])
    assert [p["id"] for p in by_id] == list(range(1, 301))
    assert [p["t"] for p in by_id[5:]] == [f["t"] for f in queue[:295]]


def test_a_batch_from_a_phone_whose_clock_runs_ahead_is_judged_as_any_other(cast: Cast) -> None:
    """Its fixes' times are all counted as the server's "now", so none is newer than the one
    before: each is judged against the trusted fix just before it, whether it came in this
    batch or earlier (a jump is flagged, the fix after it judged against the one before the
    jump), and a late one among them against the stored track."""
    mira, noor, phone, walk = cast.walking()
    ahead = 40.0  # seconds: the phone's clock runs this much ahead of the server's
    for share, at in ((0.09, 30), (0.1, 10)):  # seconds before the phone's "now"
        fix = cast.fix(between(START, HOME, share), seconds_ago=-(ahead - at))
        assert cast.statuses(phone, fix) == ["accepted"]
    far = (START[0] + 0.1, START[1])  # 11 km away
    batch = [
        cast.fix(between(START, HOME, 0.11), seconds_ago=-(ahead - 8)),
        cast.fix(far, seconds_ago=-(ahead - 7)),  # 11 km in a second: a jump
        cast.fix(between(START, HOME, 0.12), seconds_ago=-(ahead - 6)),
        # Late: 11 km in 10 s from the stored fix before it.
        cast.fix(far, seconds_ago=-(ahead - 20)),
        cast.fix(between(START, HOME, 0.13), seconds_ago=-(ahead - 5)),
    ]
    assert cast.statuses(phone, *batch) == [
        "accepted",
        "flagged",
        "accepted",
        "flagged",
        "accepted",
    ]
    assert len(track(cast, noor, walk)) == 5  # the flagged ones are kept off the map
