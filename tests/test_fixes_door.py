"""POST /api/fixes is answered in front of the framework (api/fixes_door.py): what the
framework's layers did for it must still be done, for every kind of answer a phone gets."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.conftest import LOCAL, make_services
from tests.people import HOME, START, Cast, between
from tests.test_headers_and_origin import assert_secured
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.usecases import fixes


def test_every_answer_of_the_door_is_secured_and_says_what_is_wrong(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    client = cast.client
    fix = b'{"t": %d, "lat": 60.17, "lon": 24.94}' % cast.clock.now_ms()
    auth = {"Authorization": f"Bearer {phone}"}
    answers = {
        "accepted": (client.post("/api/fixes", content=fix, headers=auth), 200, None),
        "no token": (client.post("/api/fixes", content=fix), 401, "device's token"),
        "a person's token": (
            client.post("/api/fixes", content=fix, headers=mira.auth),
            401,
            "device's token",
        ),
        "an unknown device": (
            client.post("/api/fixes", content=fix, headers={"Authorization": "Bearer dev_x"}),
            401,
            "unknown or revoked",
        ),
        "not JSON": (client.post("/api/fixes", content=b"{", headers=auth), 400, "not valid"),
        "a list": (client.post("/api/fixes", content=b"[]", headers=auth), 422, "send a fix"),
        "fixes not a list": (
            client.post("/api/fixes", content=b'{"fixes": 3}', headers=auth),
            422,
            "fixes must be a list",
        ),
        "too many": (
            client.post("/api/fixes", json={"fixes": [{}] * 1001}, headers=auth),
            413,
            "at most 1000",
        ),
        "one bad fix": (
            client.post("/api/fixes", json={"lat": 95, "lon": 1, "t": 1}, headers=auth),
            400,
            None,
        ),
    }
    for what, (answer, status, words) in answers.items():
        assert answer.status_code == status, (what, answer.text)
        assert answer.headers["content-type"] == "application/json", what
        assert_secured(answer, what)
        if words is not None:
            assert words in answer.json()["error"], what
    assert answers["accepted"][0].json() == {"results": [{"index": 0, "status": "accepted"}]}


def test_any_other_method_is_refused_by_the_framework(cast: Cast) -> None:
    _mira, _noor, phone, _walk = cast.walking()
    answer = cast.client.get("/api/fixes", headers={"Authorization": f"Bearer {phone}"})
    assert answer.status_code == 405
    assert_secured(answer, "405")


def test_a_body_over_the_limit_is_refused_as_it_streams_in(cast: Cast) -> None:
    _mira, _noor, phone, walk = cast.walking()

    def chunks() -> Iterator[bytes]:
        for _ in range(30):
            yield b" " * 50_000  # no Content-Length: refused at the chunk past 1 MB

    answer = cast.client.post(
        "/api/fixes", content=chunks(), headers={"Authorization": f"Bearer {phone}"}
    )
    assert answer.status_code == 413
    assert "at most 1,000,000 bytes" in answer.json()["error"]
    declared = cast.client.post(
        "/api/fixes",
        content=b"{}",
        headers={"Authorization": f"Bearer {phone}", "Content-Length": "5000000"},
    )
    assert declared.status_code == 413


def test_an_unexpected_failure_is_a_bare_500_and_logged(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _mira, noor, phone, walk = cast.walking()

    def broken(*_args: object, **_kwargs: object) -> list[fixes.Outcome]:
        raise RuntimeError("a bug with a secret in it")

    monkeypatch.setattr("walkwithme.api.fixes_door.record_fixes", broken)
    with caplog.at_level(logging.ERROR):
        answer = cast.client.post(
            "/api/fixes",
            json=cast.fix(between(START, HOME, 0.1)),
            headers={"Authorization": f"Bearer {phone}"},
        )
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error; try again"}
    assert "secret" not in answer.text
    assert "Traceback" not in answer.text
    assert_secured(answer, "500")
    logged = [r.exc_info[1] for r in caplog.records if r.exc_info]
    assert any("a bug with a secret" in str(error) for error in logged)
    got = cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=noor.auth).json()
    assert got == []


class FastClock(FakeClock):
    @property
    def speed(self) -> float:
        return 10.0


def test_on_a_fast_clock_the_door_says_so_too(sqlite_url: str, tmp_path: Path) -> None:
    services = make_services(sqlite_url, tmp_path, FastClock())
    with TestClient(create_app(services), client=LOCAL) as client:
        answer = client.post("/api/fixes", content=b"{}")
    assert answer.status_code == 401
    assert answer.headers["x-walkwithme-clock"].startswith("10x")
