"""Bodies are limited as they stream in, before anything reads or authenticates them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from fastapi.testclient import TestClient

from tests.service import Service

MB = 1_000_000


def chunks(total: int, size: int = 64_000) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        yield b"x" * min(size, total - sent)
        sent += size


@pytest.mark.parametrize("path", ["/api/devices", "/api/session", "/answer/ans_nothing"])
def test_a_declared_size_over_the_limit_is_refused_before_it_is_read(
    client: TestClient, path: str
) -> None:
    refused = client.post(path, content=b"x" * 70_000)
    assert refused.status_code == 413
    assert refused.json() == {"error": "body too large: at most 64,000 bytes"}


def test_a_streamed_body_is_cut_off_at_the_limit(client: TestClient) -> None:
    refused = client.post("/api/session", content=chunks(3 * MB))  # chunked: no length given
    assert refused.status_code == 413
    assert "at most 64,000 bytes" in refused.json()["error"]


def test_a_batch_of_fixes_and_an_owntracks_card_may_be_larger(client: TestClient) -> None:
    # Not refused for its size: refused for what it is (no device token).
    assert client.post("/api/fixes", content=b"{" + b" " * 900_000 + b"}").status_code == 401
    # Traccar Client 10's JSON upload: its buffered positions at once (a 413 would block them).
    upload = b'[{"id":"123456","lat":60.1,"lon":24.9,"timestamp":1750000000}' + b" " * 200_000
    unknown = client.post(
        "/api/traccar", content=upload + b"]", headers={"Content-Type": "application/json"}
    )
    assert (unknown.status_code, unknown.json()["field"]) == (400, "id")  # read: its id
    card = b'{"_type":"card","tid":"MI","name":"Mira","face":"' + b"A" * 140_000 + b'"}'
    assert client.post("/api/owntracks", content=card).status_code == 401


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_the_real_service_refuses_300_mb_without_holding_it(tmp_path: Path) -> None:
    service = Service(tmp_path / "data").start()
    try:
        assert service.proc is not None
        before = _rss_kb(service.proc.pid)
        for path in ("/api/traccar", "/api/session"):
            try:
                answer = httpx2.post(f"{service.url}{path}", content=chunks(300 * MB), timeout=30)
                assert answer.status_code == 413
            except httpx2.TransportError:
                pass  # the server may close the connection while the body is still coming
        grown_mb = (_rss_kb(service.proc.pid) - before) / 1000
        assert grown_mb < 30, f"the service grew by {grown_mb:.0f} MB"
        assert httpx2.get(f"{service.url}/healthz").status_code == 200
    finally:
        service.stop()
