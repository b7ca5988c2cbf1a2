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
from tests.sinks import Received, WebhookSink, webhook_sink
from tests.test_service_e2e import prepare

pytestmark = pytest.mark.slow

DELIVERED_WITHIN_S = 30.0  # a generous bound, not a timing


def fast_service(tmp_path: Path) -> Service:
    """The real service on a clock 60 times faster, its channels allowed to reach this machine
    (the receivers run on 127.0.0.1). Its port may stay closed for the catch-up for as long as
    a test holds an alarm on its way (5 s, the default, passed under a loaded CI machine
    before the test could stop the service in the middle of it)."""
    env = {"WWM_ALLOW_PRIVATE_ADDRESSES": "true", "WWM_CATCH_UP_SECONDS": str(DELIVERED_WITHIN_S)}
    return Service(tmp_path / "data", "--clock-speed", "60", env=env)


def wait_for(sink: WebhookSink, count: int) -> None:
    deadline = time.monotonic() + DELIVERED_WITHIN_S
    while len(sink.received) < count:
        assert time.monotonic() < deadline, f"only {len(sink.received)} of {count} arrived"
        time.sleep(0.05)  # polling a receiver, not waiting for a deadline


def first_to(sink: WebhookSink, path: str, since: int) -> Received:
    """The first request to `path` after the first `since` requests, once it arrives."""
    deadline = time.monotonic() + DELIVERED_WITHIN_S
    while not (to_path := [r for r in sink.received[since:] if r.path == path]):
        assert time.monotonic() < deadline, f"nothing arrived at {path}"
        time.sleep(0.05)  # polling a receiver, not waiting for a deadline
    return to_path[0]


def test_an_alarm_due_during_a_crash_is_raised_and_delivered_even_if_a_send_is_cut(
    tmp_path: Path,
) -> None:
    with webhook_sink() as sink:
        service = fast_service(tmp_path)
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
        service = fast_service(tmp_path)
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
    # The alert in flight reached the receiver once. (On the fast clock a slow restart can
    # let the ladder say the alarm again at its top: that is another alert, with its own key.)
    in_flight = sink.received[0].headers["x-walkwithme-alert"]
    again = [r for r in sink.received if r.headers["x-walkwithme-alert"] == in_flight]
    assert [r.headers["x-answered"] for r in again] == ["200"]


def restart_with_an_alarm_held_on_its_way(service: Service, sink: WebhookSink) -> None:
    """Mira is asked after a crash and a long outage; the server dies again before her
    answer's time is up, while her check is on its way; it is started again (not waited for),
    sends her check again, and the alarm that fell due meanwhile is on its way to Noor, whose
    server takes its time answering."""
    as_mira, as_noor, phone, walk_id = prepare(service)
    for who, auth in (("mira", as_mira), ("noor", as_noor)):
        httpx2.post(
            f"{service.url}/api/channels",
            json={"kind": "webhook", "target": f"{sink.url}/{who}"},
            headers=auth,
        ).raise_for_status()
    service.kill()
    service.jump_clock(minutes=10)
    # Killed again while the check is out, in its catch-up: waited for until its port opened,
    # a slow machine let her answer's time (two seconds on this clock) run out, and the alarm
    # went before the test could hold it. The check is held, so that the kill always cuts it:
    # killed as soon as it arrived, the service might or might not have heard the answer.
    sink.hold_next = True
    service.launch()
    wait_for(sink, 1)
    assert json.loads(sink.received[0].body)["kind"] == "check"
    service.kill()
    assert [r.path for r in sink.received] == ["/mira"]  # nothing went to Noor yet
    service.jump_clock(minutes=3)
    sink.hold_path, sink.answer_after_hold = "/noor", True


def test_a_restarted_service_delivers_the_alarms_that_fell_due_before_it_opens_its_port(
    tmp_path: Path,
) -> None:
    """The watchdog catches up first: while the alarm that fell due during the outage is on
    its way to her companion, the service doesn't answer anybody yet (serving.py)."""
    with webhook_sink() as sink:
        service = fast_service(tmp_path)
        try:
            restart_with_an_alarm_held_on_its_way(service, sink)
            service.launch()
            alarm = first_to(sink, "/noor", since=1)
            assert json.loads(alarm.body)["kind"] == "alarm"
            with pytest.raises(httpx2.ConnectError):
                httpx2.get(f"{service.url}/healthz")  # the alarm first
            sink.release.set()
            service.ready()
            assert httpx2.get(f"{service.url}/healthz").json()["ok"] is True
        finally:
            sink.release.set()
            service.stop()


def test_sigterm_while_it_catches_up_finishes_the_send_in_flight(tmp_path: Path) -> None:
    with webhook_sink() as sink:
        service = fast_service(tmp_path)
        try:
            restart_with_an_alarm_held_on_its_way(service, sink)
            service.launch()
            alarm = first_to(
                sink, "/noor", since=1
            )  # being sent when the operator stops the service
            assert service.proc is not None
            service.proc.terminate()
            deadline = time.monotonic() + DELIVERED_WITHIN_S
            while "asked to stop" not in service.output():
                assert time.monotonic() < deadline, "the service did not begin to stop"
                time.sleep(0.05)  # polling its log, not waiting for a deadline
            sink.release.set()  # Noor's server answers only now
            assert service.proc.wait(timeout=DELIVERED_WITHIN_S) == 0
            assert "stopped before serving" in service.output()
            service.jump_clock(minutes=2)  # past the send's lease, were it not recorded
            service.start()  # (and the catch-up would send it again before answering)
        finally:
            sink.release.set()
            service.stop()
    # It was recorded as delivered before the service stopped: it isn't sent again.
    alarm_key = alarm.headers["x-walkwithme-alert"]
    again = [r for r in sink.received if r.headers["x-walkwithme-alert"] == alarm_key]
    assert [r.headers["x-answered"] for r in again] == ["200"]
