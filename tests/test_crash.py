"""Through a crash: the real service, SIGKILLed on a fast clock. A walk falls due while the
server is down; after the restart the alarm is raised and delivered; an alert whose sending
the kill cut is delivered after the next restart. The tests wait for deliveries with a
generous bound; they never time them, and nothing waits for a deadline in real time (the
fast clock is moved forward while the server is down)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx2
import pytest

from tests.service import Service
from tests.sinks import WebhookSink, webhook_sink
from tests.test_service_e2e import prepare

pytestmark = pytest.mark.slow

DELIVERED_WITHIN_S = 30.0  # a generous bound, not a timing


def wait_for(sink: WebhookSink, count: int) -> None:
    deadline = time.monotonic() + DELIVERED_WITHIN_S
    while len(sink.received) < count:
        assert time.monotonic() < deadline, f"only {len(sink.received)} of {count} arrived"
        time.sleep(0.05)  # polling a receiver, not waiting for a deadline


def test_an_alarm_due_during_a_crash_is_raised_and_delivered_even_if_a_send_is_cut(
    tmp_path: Path,
) -> None:
    with webhook_sink() as sink:
        service = Service(
            tmp_path / "data", "--clock-speed", "60", env={"WWM_ALLOW_PRIVATE_ADDRESSES": "true"}
        )
        try:
            as_mira, as_noor, phone, walk_id = prepare(service)
            channel = httpx2.post(
                f"{service.url}/api/channels",
                json={"kind": "webhook", "target": sink.url + "/noor"},
                headers=as_noor,
            )
            assert channel.status_code == 201, channel.text
            # Her phone dies at once, and so does the server.
            service.kill()
            service.jump_clock(minutes=10)
            sink.hold_next = True  # the alarm's first send will be cut by the next crash
            service.start()
            wait_for(sink, 1)
            service.kill()  # mid-send
            sink.release.set()
            service.jump_clock(minutes=2)  # past the cut send's lease
            service.start()
            wait_for(sink, 2)
        finally:
            service.stop()
    first, second = (json.loads(r.body) for r in sink.received[:2])
    assert first["kind"] == second["kind"] == "alarm"
    assert second["reason"] == "no_answer"
    assert second["walker"]["name"] == "Mira"
    assert sink.received[1].headers["x-answered"] == "200"
    # The same alert both times: a receiver can drop the duplicate by its key.
    keys = {r.headers["x-walkwithme-alert"] for r in sink.received[:2]}
    assert len(keys) == 1


def test_sigterm_finishes_the_send_in_flight_before_the_service_stops(tmp_path: Path) -> None:
    with webhook_sink() as sink:
        service = Service(
            tmp_path / "data", "--clock-speed", "60", env={"WWM_ALLOW_PRIVATE_ADDRESSES": "true"}
        )
        try:
            as_mira, as_noor, phone, walk_id = prepare(service)
            httpx2.post(
                f"{service.url}/api/channels",
                json={"kind": "webhook", "target": sink.url + "/noor"},
                headers=as_noor,
            ).raise_for_status()
            sink.hold_next, sink.answer_after_hold = True, True
            httpx2.post(f"{service.url}/api/walks/{walk_id}/sos", headers=as_mira)
            wait_for(sink, 1)  # the alarm is being sent...
            assert service.proc is not None
            service.proc.terminate()  # ...when the operator stops the service
            deadline = time.monotonic() + DELIVERED_WITHIN_S
            while "Shutting down" not in service.output():
                assert time.monotonic() < deadline, "the service did not begin to stop"
                time.sleep(0.05)
            sink.release.set()  # the receiver answers only now, during the shutdown
            # uvicorn exits by the signal it was stopped with, after its graceful shutdown.
            assert service.proc.wait(timeout=DELIVERED_WITHIN_S) in (0, -signal.SIGTERM)
            assert "Application shutdown complete" in service.output()
            service.start()
            channels = httpx2.get(f"{service.url}/api/channels", headers=as_noor).json()
            # The send that was in flight was recorded as delivered: nothing is sent again.
            assert channels[0]["status"] == "working"
        finally:
            service.stop()
    # The alarm that was in flight reached the receiver once. (At this clock's speed, a slow
    # restart on a busy machine lets the ladder say the alarm again: another alert, its own key.)
    first = sink.received[0].headers["x-walkwithme-alert"]
    same = [r for r in sink.received if r.headers["x-walkwithme-alert"] == first]
    assert [r.headers["x-answered"] for r in same] == ["200"]
