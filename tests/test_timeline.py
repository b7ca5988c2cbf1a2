"""The two projections of a walk's timeline: what the walker sees and what companions see."""

from __future__ import annotations

from typing import Any

from tests.people import HOME, START, Cast, between
from walkwithme.store.tx import Tx
from walkwithme.usecases import timeline
from walkwithme.usecases.timeline import Audience


def test_each_side_sees_only_the_events_meant_for_it(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk_id = cast.start_walk(mira)["id"]

    def write(tx: Tx) -> None:
        timeline.record(tx, walk_id, "note_for_all", text="both")
        timeline.record(tx, walk_id, "note_for_walker", audience=timeline.FOR_WALKER)
        timeline.record(tx, walk_id, "note_for_companions", audience=timeline.FOR_COMPANIONS)

    cast.services.writer.run_sync(write)

    def kinds(audience: Audience) -> list[str]:
        return cast.services.db.read_sync(
            lambda c: [e["kind"] for e in timeline.events_after(c, walk_id, 0, audience)]
        )

    assert kinds(Audience.WALKER) == ["started", "note_for_all", "note_for_walker"]
    assert kinds(Audience.COMPANION) == ["started", "note_for_all", "note_for_companions"]
    seen_by_noor = cast.client.get(f"/api/walks/{walk_id}/events", headers=noor.auth).json()
    assert "note_for_walker" not in [e["kind"] for e in seen_by_noor]


def test_a_reader_resumes_after_the_last_event_it_saw(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk_id = cast.start_walk(mira)["id"]
    first = cast.client.get(f"/api/walks/{walk_id}/events", headers=noor.auth).json()
    for text in ("one", "two"):
        cast.client.post(f"/api/walks/{walk_id}/messages", json={"text": text}, headers=mira.auth)
    rest = cast.client.get(
        f"/api/walks/{walk_id}/events", params={"after": first[-1]["id"]}, headers=noor.auth
    ).json()
    assert [e["text"] for e in rest] == ["one", "two"]


def test_a_companion_reconnecting_misses_nothing(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    walk_id = cast.start_walk(mira)["id"]
    url = f"/api/walks/{walk_id}/live"
    with cast.client.websocket_connect(url, headers=noor.auth) as ws:
        ws.receive_json()
        last_event = ws.receive_json()["event"]["id"]
    # While she is away: a message and two fixes.
    cast.client.post(
        f"/api/walks/{walk_id}/messages", json={"text": "still there?"}, headers=mira.auth
    )
    cast.clock.advance(seconds=10)
    cast.send(phone, cast.fix((60.170, 24.942)))
    cast.clock.advance(seconds=10)
    cast.send(phone, cast.fix((60.169, 24.942)))
    with cast.client.websocket_connect(
        f"{url}?after_event={last_event}&after_fix=0", headers=noor.auth
    ) as ws:
        assert ws.receive_json()["type"] == "walk"
        assert ws.receive_json()["event"]["text"] == "still there?"
        assert [ws.receive_json()["fix"]["lat"] for _ in range(2)] == [60.170, 60.169]


def test_a_live_stream_sends_the_stored_track_fix_for_fix(cast: Cast) -> None:
    """Fixes reach the stream as their commit hands them over (bell.py); what it sends is the
    track as stored, every trusted fix once, in order: through batches, a flagged jump that
    stays off the map, a fix re-sent, one that arrived late, and a second phone."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone, watch = cast.device(mira), cast.device(mira, "watch")
    walk_id = cast.start_walk(mira)["id"]
    with cast.client.websocket_connect(f"/api/walks/{walk_id}/live", headers=noor.auth) as ws:
        assert ws.receive_json()["type"] == "walk"
        assert ws.receive_json()["event"]["kind"] == "started"
        sent: list[str] = []
        for step in range(1, 7):
            cast.clock.advance(seconds=20)
            here = between(START, HOME, step / 10)
            batch = [cast.fix(here, seconds_ago=10), cast.fix(here)]
            if step == 3:
                batch.append(cast.fix((60.30, 25.20), seconds_ago=5))  # 15 km away: flagged
            if step == 4:
                batch.append(cast.fix(between(START, HOME, 0.35), seconds_ago=25))  # late
            sent += cast.statuses(phone, *batch)
            sent += cast.statuses(phone, batch[-1])  # the app re-sends: a duplicate
            sent += cast.statuses(watch, cast.fix(here, seconds_ago=2))
        assert "flagged" in sent
        assert "duplicate" in sent
        stored = cast.client.get(f"/api/walks/{walk_id}/fixes", headers=noor.auth).json()
        seen: list[dict[str, Any]] = []
        while len(seen) < len(stored):
            message = ws.receive_json()
            if message["type"] == "fix":
                seen.append(message["fix"])
    assert seen == stored
    assert len(stored) == sent.count("accepted")


def test_a_stream_taking_fixes_together_gets_each_batch_in_one_message(cast: Cast) -> None:
    """With `?together=true` (the pages' way), fixes that land at once come as one "fixes"
    message, a fix alone still as "fix"; the track they make is the track as stored, and a
    companion resuming from the last id she saw misses nothing and sees nothing twice."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    walk_id = cast.start_walk(mira)["id"]
    url = f"/api/walks/{walk_id}/live?together=true"
    seen: list[dict[str, Any]] = []
    kinds: list[tuple[str, int]] = []

    def take(message: dict[str, Any]) -> None:
        if message["type"] == "fixes":
            kinds.append(("fixes", len(message["fixes"])))
            seen.extend(message["fixes"])
        elif message["type"] == "fix":
            kinds.append(("fix", 1))
            seen.append(message["fix"])

    with cast.client.websocket_connect(url, headers=noor.auth) as ws:
        assert ws.receive_json()["type"] == "walk"
        assert ws.receive_json()["event"]["kind"] == "started"
        cast.clock.advance(seconds=60)
        queue = [cast.fix(between(START, HOME, i / 100), seconds_ago=60 - i) for i in range(1, 11)]
        assert cast.statuses(phone, *queue) == ["accepted"] * 10
        take(ws.receive_json())
        cast.clock.advance(seconds=5)
        cast.send(phone, cast.fix(between(START, HOME, 0.11)))
        take(ws.receive_json())
    assert kinds == [("fixes", 10), ("fix", 1)]
    # Away for a while: she sends two more batches; back, the catch-up is one message.
    for step in (12, 14):
        cast.clock.advance(seconds=5)
        here = between(START, HOME, step / 100)
        cast.send(phone, cast.fix(here, seconds_ago=2), cast.fix(here))
    with cast.client.websocket_connect(
        f"{url}&after_fix={seen[-1]['id']}", headers=noor.auth
    ) as ws:
        assert ws.receive_json()["type"] == "walk"
        assert ws.receive_json()["event"]["kind"] == "started"
        take(ws.receive_json())
    assert kinds[-1] == ("fixes", 4)
    stored = cast.client.get(f"/api/walks/{walk_id}/fixes", headers=noor.auth).json()
    assert seen == stored
