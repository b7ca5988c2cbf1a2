"""The two projections of a walk's timeline: what the walker sees and what companions see."""

from __future__ import annotations

from tests.people import Cast
from walkwithme.store.writer import Tx
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
