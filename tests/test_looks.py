"""Who looked at her walk: exactly the openings that happened (her companion's WebSocket and
API reads, a share link she made, her guardian's alarm link, her export), each once in ten
minutes, for her alone; and gone with the walk's track."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.people import PIN, START, Cast
from tests.sinks import WebhookSink
from tests.test_delivery import guardian_alarmed, hook, local, sink  # noqa: F401 (fixtures)
from walkwithme.services import Services


def test_she_sees_exactly_who_looked_and_how(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    walk_id = walk["id"]
    cast.send(phone, cast.fix(START))
    with cast.client.websocket_connect(f"/api/walks/{walk_id}/live", headers=noor.auth) as ws:
        assert ws.receive_json()["type"] == "walk"
    # His walk page next: the same visit as the live connection (one look either way round).
    from tests.test_pages import page

    assert page(cast.client, f"/walks/{walk_id}", noor).status_code == 200
    cast.client.get(f"/api/walks/{walk_id}", headers=noor.auth).raise_for_status()
    cast.client.get(f"/api/walks/{walk_id}/fixes", headers=noor.auth).raise_for_status()
    cast.clock.advance(minutes=11)
    cast.client.get(f"/api/walks/{walk_id}", headers=noor.auth).raise_for_status()
    made = cast.client.post(f"/api/walks/{walk_id}/shares", json={}, headers=mira.auth)
    assert made.status_code == 201, made.text
    token = made.json()["url"].rsplit("/", 1)[-1]
    TestClient(cast.client.app).get(f"/api/share/{token}").raise_for_status()
    cast.client.get(f"/api/walks/{walk_id}", headers=mira.auth)  # her own look: not a look
    cast.client.get(f"/api/walks/{walk_id}/export.gpx", headers=mira.auth).raise_for_status()

    seen = cast.client.get(f"/api/walks/{walk_id}/looks", headers=mira.auth)
    assert seen.status_code == 200, seen.text
    assert [(x["via"], x.get("who"), x.get("link")) for x in seen.json()] == [
        ("live", "Noor", None),
        ("api", "Noor", None),  # the walk and its track, within ten minutes: one look
        ("api", "Noor", None),  # eleven minutes later: another
        ("share_link", None, made.json()["id"]),
        ("export", "Mira", None),
    ]
    # Hers alone: her companion gets no such walk.
    assert cast.client.get(f"/api/walks/{walk_id}/looks", headers=noor.auth).status_code == 404
    cast.client.post(f"/api/walks/{walk_id}/inside", json={"pin": PIN}, headers=mira.auth)


def test_a_guardians_alarm_link_is_a_look(
    local: tuple[Cast, Services],  # noqa: F811
    sink: WebhookSink,  # noqa: F811
) -> None:
    cast, svc = local
    mira, _noor, _gus, walk = guardian_alarmed(cast, svc, sink)
    link = json.loads(sink.received[-1].body)["link"]
    cast.client.get(link.removeprefix("http://127.0.0.1:8000")).raise_for_status()
    seen = cast.client.get(f"/api/walks/{walk['id']}/looks", headers=mira.auth).json()
    assert [x["via"] for x in seen if x["via"] == "alarm_link"] == ["alarm_link"]


def test_pages_are_looks_too(cast: Cast) -> None:
    """His walk page (with its live connection, one visit) and a share link opened in a
    browser are on her list."""
    from tests.test_pages import page

    mira, noor, _phone, walk = cast.walking()
    walk_id = walk["id"]
    assert page(cast.client, f"/walks/{walk_id}", noor).status_code == 200
    # The page's own live connection: the same visit, not a second look.
    with cast.client.websocket_connect(f"/api/walks/{walk_id}/live", headers=noor.auth) as ws:
        assert ws.receive_json()["type"] == "walk"
    made = cast.client.post(f"/api/walks/{walk_id}/shares", json={}, headers=mira.auth)
    token = made.json()["url"].rsplit("/", 1)[-1]
    opened = page(TestClient(cast.client.app), f"/api/share/{token}")
    assert opened.headers["content-type"].startswith("text/html")
    seen = cast.client.get(f"/api/walks/{walk_id}/looks", headers=mira.auth).json()
    assert [(x["via"], x.get("who"), x.get("link")) for x in seen] == [
        ("page", "Noor", None),
        ("share_link", None, made.json()["id"]),
    ]
