"""A walk from start to "I'm inside", as the walker and her companion live it."""

from __future__ import annotations

from typing import Any

from tests.people import HOME, PIN, START, Cast, between


def test_a_companion_follows_a_walk_live_until_the_walker_is_inside(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    phone = cast.device(mira)
    walk = cast.start_walk(mira)
    assert walk["state"] == "active"
    assert [c["name"] for c in walk["companions"]] == ["Noor"]

    with cast.client.websocket_connect(f"/api/walks/{walk['id']}/live", headers=noor.auth) as ws:
        first = ws.receive_json()
        assert first["type"] == "walk"
        assert first["walk"]["walker"]["name"] == "Mira"
        assert ws.receive_json()["event"]["kind"] == "started"

        cast.clock.advance(seconds=30)
        assert cast.statuses(phone, cast.fix(between(START, HOME, 0.5))) == ["accepted"]
        seen = _until(ws, "fix")
        assert abs(seen["fix"]["lat"] - between(START, HOME, 0.5)[0]) < 1e-9

        cast.clock.advance(seconds=90)  # the other half of the way (at a brisk walk)
        cast.send(phone, cast.fix(HOME))
        arrived = _until(ws, "event")
        assert arrived["event"]["kind"] == "arrived"

        said = cast.client.post(
            f"/api/walks/{walk['id']}/inside",
            json={"pin": PIN, "note": "Come in?"},
            headers=mira.auth,
        )
        assert said.status_code == 200, said.text
        assert said.json()["state"] == "safe"
        inside = _until(ws, "event")
        assert inside["event"]["kind"] == "inside"
        assert inside["event"]["note"] == "Come in?"
        assert _until(ws, "closed")["reason"].startswith("the walk is over")

    # Once the walk is over, the companion sees nothing of it any more.
    after = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth)
    assert after.status_code == 404


def _until(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = ws.receive_json()
        if message["type"] == kind:
            return message
