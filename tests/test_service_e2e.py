"""The real service, as a subprocess, over real HTTP and WebSocket: the walk end to end, and
every acknowledged fix surviving a crash."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from tests.people import HOME, PIN, START, between
from tests.service import Service, cli
from walkwithme.api.live import CLOSE_TOO_MANY, MAX_STREAMS_PER_VIEWER
from walkwithme.serving import MAX_FRAME_BYTES

pytestmark = pytest.mark.slow


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    svc = Service(tmp_path / "data")
    yield svc
    svc.stop()


def sign_in(url: str, who: dict[str, Any]) -> dict[str, str]:
    answer = httpx2.post(
        f"{url}/api/session", json={"email": who["email"], "password": who["password"]}
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def receive(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        message: dict[str, Any] = json.loads(ws.recv(timeout=30))
        if message["type"] == kind:
            return message


def prepare(service: Service) -> tuple[dict[str, str], dict[str, str], str, int]:
    """Two people made by the operator's CLI, linked through the API, and a walk started."""
    mira = cli(service.data, "people", "add", "mira@example.org", "--name", "Mira")
    noor = cli(service.data, "people", "add", "noor@example.org", "--name", "Noor")
    phone = cli(service.data, "devices", "add", "mira@example.org", "phone")["token"]
    service.start()
    url = service.url
    as_mira, as_noor = sign_in(url, mira), sign_in(url, noor)
    httpx2.post(f"{url}/api/contacts", json={"email": "noor@example.org"}, headers=as_mira)
    asked = httpx2.get(f"{url}/api/contacts", headers=as_noor).json()[-1]
    httpx2.post(f"{url}/api/contacts/{asked['id']}/accept", headers=as_noor).raise_for_status()
    walk = httpx2.post(
        f"{url}/api/walks",
        json={
            "destination": {"lat": HOME[0], "lon": HOME[1], "name": "home"},
            "from": {"lat": START[0], "lon": START[1]},
            "pin": PIN,
        },
        headers=as_mira,
    )
    assert walk.status_code == 201, walk.text
    return as_mira, as_noor, phone, walk.json()["id"]


def now_ms(url: str) -> int:
    return int(httpx2.get(f"{url}/healthz").json()["now"])


def post_fix(url: str, phone: str, where: tuple[float, float], t: int) -> str:
    answer = httpx2.post(
        f"{url}/api/fixes",
        json={"t": t, "lat": where[0], "lon": where[1], "accuracy": 6},
        headers={"Authorization": f"Bearer {phone}"},
    )
    assert answer.status_code == 200, answer.text
    status: str = answer.json()["results"][0]["status"]
    return status


def test_a_walk_end_to_end_over_the_real_http_stack(service: Service) -> None:
    as_mira, as_noor, phone, walk_id = prepare(service)
    url = service.url
    ws_url = url.replace("http", "ws") + f"/api/walks/{walk_id}/live"
    # A parameter that is wrong is refused with an answer that names it (not a bare 403).
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{ws_url}?after_fix=-1", additional_headers=as_noor)
    answer = refused.value.response
    assert answer.status_code == 422
    assert json.loads(answer.body)["field"] == "after_fix"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"  # the security headers too
    with connect(ws_url, additional_headers=as_noor) as ws:
        # Asked for (a browser does too), but not taken: the frames are too small to be worth
        # compressing one by one.
        assert ws.protocol.extensions == []
        assert receive(ws, "walk")["walk"]["walker"]["name"] == "Mira"
        assert receive(ws, "event")["event"]["kind"] == "started"
        t = now_ms(url) - 50_000  # fixes no more than a minute ahead of the server's clock
        for step in range(1, 10):
            where = between(START, HOME, step / 10)
            assert post_fix(url, phone, where, t + step * 5_000) == "accepted"
            assert receive(ws, "fix")["fix"]["lat"] == pytest.approx(where[0])
        post_fix(url, phone, HOME, t + 55_000)
        assert receive(ws, "event")["event"]["kind"] == "arrived"
        message = httpx2.post(
            f"{url}/api/walks/{walk_id}/messages", json={"text": "At the door"}, headers=as_mira
        )
        assert message.status_code == 201
        assert receive(ws, "event")["event"]["text"] == "At the door"
        inside = httpx2.post(
            f"{url}/api/walks/{walk_id}/inside", json={"pin": PIN}, headers=as_mira
        )
        assert inside.json()["state"] == "safe"
        assert receive(ws, "event")["event"]["kind"] == "inside"
        assert receive(ws, "closed")["reason"].startswith("the walk is over")
    gone = httpx2.get(f"{url}/api/walks/{walk_id}", headers=as_noor)
    assert gone.status_code == 404


def test_every_acknowledged_fix_survives_a_crash(service: Service) -> None:
    as_mira, as_noor, phone, walk_id = prepare(service)
    url = service.url
    t = now_ms(url)
    acknowledged = []
    for step in range(60):
        where = between(START, HOME, step / 100)
        if post_fix(url, phone, where, t + step * 500) == "accepted":
            acknowledged.append(t + step * 500)
    assert len(acknowledged) == 60
    service.kill()
    service.start()
    track = httpx2.get(f"{url}/api/walks/{walk_id}/fixes", headers=as_noor)
    assert track.status_code == 200
    assert sorted(f["t"] for f in track.json()) == acknowledged
    # Re-sent after the restart (the phone never heard back): still stored once.
    assert post_fix(url, phone, START, acknowledged[-1]) == "duplicate"


def test_serve_says_where_it_listens_and_how_to_begin(service: Service) -> None:
    service.start()
    out = service.output()
    assert f"listening on http://127.0.0.1:{service.port}" in out
    assert "walkwithme people add" in out


def test_a_fast_clock_is_announced_on_every_response(tmp_path: Path) -> None:
    fast = Service(tmp_path / "fast", "--clock-speed", "10").start()
    try:
        assert httpx2.get(f"{fast.url}/healthz").headers["x-walkwithme-clock"].startswith("10x")
        refused = httpx2.get(f"{fast.url}/api/me")
        assert refused.status_code == 401
        assert "x-walkwithme-clock" in refused.headers
    finally:
        fast.stop()


def test_no_position_or_token_reaches_the_log(service: Service) -> None:
    """Traccar Client puts her position and its token in the query string; OwnTracks its
    user and device names: the access log says which door, and nothing of where she was. And
    the phones' doors are quiet in it while they go well (a line every few seconds would be a
    trail of her phone's address): only what they refuse is logged."""
    as_mira, _as_noor, phone, walk_id = prepare(service)
    url = service.url
    t = now_ms(url) // 1000
    where = between(START, HOME, 0.37)
    lat, lon = f"{where[0]:.6f}", f"{where[1]:.6f}"
    sent = httpx2.post(f"{url}/api/traccar?id={phone}&lat={lat}&lon={lon}&timestamp={t}&batt=40")
    assert sent.status_code == 200
    unknown = f"{url}/api/traccar?id=nobody&lat={lat}&lon={lon}&timestamp={t}"
    assert httpx2.post(unknown).status_code == 400
    httpx2.post(f"{url}/api/owntracks?u=mira&d=phone", json={"_type": "location"})
    assert post_fix(url, phone, where, t * 1000 + 1000) in ("accepted", "duplicate")
    assert httpx2.get(f"{url}/api/walks/{walk_id}", headers=as_mira).status_code == 200
    service.stop()
    out = service.output()
    # The access log is on and says which door, without the query string...
    assert '"POST /api/traccar?… HTTP/1.1" 400' in out
    assert '"POST /api/owntracks?… HTTP/1.1" 401' in out
    assert f'"GET /api/walks/{walk_id} HTTP/1.1" 200' in out
    # ...and the phone doors' answers that went well are not in it.
    assert '"POST /api/traccar?… HTTP/1.1" 200' not in out
    assert '"POST /api/fixes HTTP/1.1"' not in out
    for secret in (lat, lon, lat[:7], lon[:7], phone, phone[4:], "u=mira"):
        assert secret not in out


def test_live_streams_are_bounded_for_whoever_holds_a_link(service: Service) -> None:
    """Clients never talk on a live stream: a big frame closes the socket (uvicorn's 16 MB
    let one share link push 2 GB into the service). And one link, or one person, may have
    only so many streams open at once; a stream closed makes room for another."""
    as_mira, as_noor, _phone, walk_id = prepare(service)
    url = service.url
    made = httpx2.post(f"{url}/api/walks/{walk_id}/shares", json={}, headers=as_mira)
    assert made.status_code == 201, made.text
    link = url.replace("http", "ws") + f"/api/share/{made.json()['token']}/live"
    with connect(link) as ws:
        assert receive(ws, "walk")["walk"]["walker"]["name"] == "Mira"
        ws.send(b"x" * (MAX_FRAME_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            receive(ws, "never")
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009  # too big
    with contextlib.ExitStack() as streams:
        opened = [streams.enter_context(connect(link)) for _ in range(MAX_STREAMS_PER_VIEWER)]
        for ws in opened:
            receive(ws, "walk")
        with connect(link) as refused, pytest.raises(ConnectionClosed) as too_many:
            refused.recv(timeout=30)
        assert too_many.value.rcvd is not None
        assert too_many.value.rcvd.code == CLOSE_TOO_MANY
        assert "too many live pages" in too_many.value.rcvd.reason
        opened[0].close()
        for _ in range(50):  # until the service has seen it go (not a deadline)
            with connect(link) as again:
                try:
                    receive(again, "walk")
                    break
                except ConnectionClosed:
                    continue
        else:
            raise AssertionError("a closed stream never made room for another")
        # The cap is the link's: Noor's own page of the walk opens all the same.
        ws_url = url.replace("http", "ws") + f"/api/walks/{walk_id}/live"
        with connect(ws_url, additional_headers=as_noor) as hers:
            assert receive(hers, "walk")["walk"]["walker"]["name"] == "Mira"
