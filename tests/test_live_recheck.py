"""A live stream decides again whether she may still see the walk after RECHECK_S without
news (api/live_recheck.py): its bell rings then, however many fixes came before; and while
news keeps coming, at least every RECHECK_S. Run on an event loop whose clock the test moves:
nothing waits."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from walkwithme.api.live_recheck import Recheck


class _MovedLoop(asyncio.SelectorEventLoop):
    """An event loop whose time is the test's: timers fire when the test moves it past them."""

    now = 1000.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def loop() -> Iterator[_MovedLoop]:
    made = _MovedLoop()
    yield made
    made.close()


def _settle(loop: _MovedLoop) -> None:
    """Run what is due at the loop's time (a few turns, without waiting)."""
    loop.run_until_complete(asyncio.sleep(0))
    loop.run_until_complete(asyncio.sleep(0))


def test_rings_after_the_quiet_and_not_while_news_comes(loop: _MovedLoop) -> None:
    async def start() -> tuple[asyncio.Event, Recheck]:
        rung = asyncio.Event()
        return rung, Recheck(rung, 10.0)

    rung, quiet = loop.run_until_complete(start())
    # News every 4 s (a fix woke the stream): 20 s go by, never 10 s of quiet, so the quiet
    # never rings; but a wake for news 10 s or more after the last check is a check too:
    # access ended by another process rings no bell here (an operator's command on SQLite).
    checked = []
    for _ in range(6):
        loop.now += 4.0
        _settle(loop)
        assert not rung.is_set()
        checked.append(quiet.rang())  # the stream's wake for that news
    assert checked == [False, False, True, False, False, True]  # at 12 s and at 24 s
    # Then nothing: 9.9 s of quiet is not enough, 10 s is.
    loop.now += 9.9
    _settle(loop)
    assert not rung.is_set()
    loop.now += 0.2
    _settle(loop)
    assert rung.is_set()
    rung.clear()
    assert quiet.rang() is True  # this wake is the quiet's: she is checked again
    # And it starts again from that check.
    loop.now += 9.0
    _settle(loop)
    assert not rung.is_set()
    loop.now += 1.5
    _settle(loop)
    assert rung.is_set()
    assert quiet.rang() is True
    quiet.cancel()
    loop.now += 60.0
    rung.clear()
    _settle(loop)
    assert not rung.is_set()  # a stream that ended has no timer left
