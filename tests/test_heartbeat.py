"""The heartbeat to an external dead man's switch: sent while the watchdog is alive, at its
interval, and not when the watchdog is stuck (so the switch raises the alarm)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_services
from tests.sinks import WebhookSink, webhook_sink
from walkwithme.clock import FakeClock
from walkwithme.services import Services


@pytest.fixture
def switch() -> Iterator[WebhookSink]:
    with webhook_sink() as running:
        yield running


@pytest.fixture
def beating(sqlite_url: str, tmp_path: Path, clock: FakeClock, switch: WebhookSink) -> Services:
    svc = make_services(sqlite_url, tmp_path, clock, WWM_HEARTBEAT_URL=switch.url + "/ping/abc")
    svc.writer.start()
    return svc


def test_the_switch_hears_a_beat_a_minute_while_the_watchdog_is_alive(
    beating: Services, clock: FakeClock, switch: WebhookSink
) -> None:
    heartbeat = beating.heartbeat
    assert heartbeat is not None
    assert heartbeat.tick_sync() is False  # the watchdog hasn't looked yet: nothing to vouch for
    beating.watchdog.tick_sync()
    assert heartbeat.tick_sync() is True
    assert [r.path for r in switch.received] == ["/ping/abc"]
    clock.advance(seconds=59)
    beating.watchdog.tick_sync()
    assert heartbeat.tick_sync() is False
    clock.advance(seconds=1)
    assert heartbeat.tick_sync() is True
    assert len(switch.received) == 2
    beating.writer.stop()


def test_a_stuck_watchdog_stops_the_heartbeat(
    beating: Services, clock: FakeClock, switch: WebhookSink
) -> None:
    heartbeat = beating.heartbeat
    assert heartbeat is not None
    beating.watchdog.tick_sync()
    assert heartbeat.tick_sync() is True
    clock.advance(minutes=5)  # the watchdog has not looked for five minutes: it is stuck
    assert beating.watchdog.stuck()
    assert heartbeat.tick_sync() is False
    assert len(switch.received) == 1
    beating.writer.stop()


def test_a_failed_beat_is_tried_again_at_the_next_look(
    beating: Services, clock: FakeClock, switch: WebhookSink
) -> None:
    heartbeat = beating.heartbeat
    assert heartbeat is not None
    switch.script = [503]
    beating.watchdog.tick_sync()
    assert heartbeat.tick_sync() is False
    assert heartbeat.failures == 1
    clock.advance(seconds=5)
    beating.watchdog.tick_sync()
    assert heartbeat.tick_sync() is True
    assert [r.headers["x-answered"] for r in switch.received] == ["503", "200"]
    beating.writer.stop()


def test_a_switch_that_stays_down_is_not_logged_at_every_look(
    beating: Services, clock: FakeClock, switch: WebhookSink, caplog: pytest.LogCaptureFixture
) -> None:
    """Tried again at each look (5 s), it wrote a warning each time: 720 an hour (an operator's
    review). Said at the 1st, 2nd, 4th, 8th, 16th failure in a row, and when it is back."""
    heartbeat = beating.heartbeat
    assert heartbeat is not None
    switch.script = [503] * 20
    for _ in range(20):
        beating.watchdog.tick_sync()
        assert heartbeat.tick_sync() is False
        clock.advance(seconds=5)
    beating.watchdog.tick_sync()
    assert heartbeat.tick_sync() is True
    said = [r.getMessage() for r in caplog.records if "dead man's switch" in r.getMessage()]
    assert [s.rsplit(", ", 1)[-1] for s in said[:-1]] == [
        "1 time in a row",
        "2 times in a row",
        "4 times in a row",
        "8 times in a row",
        "16 times in a row",
    ]
    assert said[-1] == "the heartbeat reaches the dead man's switch again"
    beating.writer.stop()


def test_a_database_that_takes_no_writes_stops_the_heartbeat(
    tmp_path: Path, clock: FakeClock, switch: WebhookSink
) -> None:
    """A full disk refused every phone's fix (503) while a beat still went out every minute:
    the switch, the operator's second line of defence, never heard of it (an outside review
    of an operator's first hour)."""
    path = tmp_path / "wwm.db"
    make_services(f"sqlite:///{path}", tmp_path, clock).db.dispose()  # made and migrated
    url = f"sqlite:///file:{path}?mode=ro&uri=true"  # as on a disk gone read-only
    frozen = make_services(url, tmp_path, clock, WWM_HEARTBEAT_URL=switch.url + "/ping/abc")
    frozen.writer.start()
    heartbeat = frozen.heartbeat
    assert heartbeat is not None
    frozen.watchdog.tick_sync()
    assert not frozen.watchdog.stuck()
    assert heartbeat.tick_sync() is False
    assert switch.received == []
    assert (heartbeat.failing, heartbeat.last_problem) == (1, "the database takes no writes")
    frozen.writer.stop()
    frozen.db.dispose()
