"""How `walkwithme serve` starts: the watchdog first, the web doors after.

After a restart, the alarms that fell due while the service was down are late already, and
they are what the people looking out for her are waiting for. Most of start-up is importing
the web application (FastAPI and the API's models), and the same one process then shares its
interpreter between serving and judging. So `serve` runs its own event loop: it starts the
writer, the watchdog and the notifier, and only when the watchdog has judged everything that
was due and the notifier has sent what that made (or after `CATCH_UP_S` at most, whatever is
still unfinished) does it build the web application and open its port. A phone that posts
meanwhile finds the port closed and sends again (OwnTracks and Traccar Client keep their
fixes until the server takes them); the rules judge her silence by when her fixes were taken,
not by when they arrive.

SIGTERM or Ctrl-C during that catch-up stops the service the usual way: the sends in flight
are finished, every write is committed. After it, uvicorn handles them, and the web app's
shutdown stops the services.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from walkwithme.services import Services

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 4096  # the largest WebSocket frame a client may send (it sends none)
CATCH_UP_S = 5.0  # the longest the port stays closed for the catch-up (WWM_CATCH_UP_SECONDS)
_CATCH_UP_POLL_S = 0.02
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run(services: Services, *, host: str, port: int) -> None:
    """Serve until SIGTERM or Ctrl-C (on uvloop where it is installed, as uvicorn would)."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(_serve(services, host=host, port=port))


async def _serve(services: Services, *, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def asked_to_stop() -> None:
        log.info("asked to stop: finishing the sends in flight")
        stop.set()

    for sig in _STOP_SIGNALS:
        loop.add_signal_handler(sig, asked_to_stop)
    services.start(loop)
    try:
        await catch_up(services, stop, services.config.catch_up_seconds)
        for sig in _STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        if stop.is_set():
            log.info("stopped before serving")
            return
        await _web(services, host=host, port=port)
    finally:
        await services.stop()  # (already done by the web app's shutdown, if it ran)


async def catch_up(services: Services, stop: asyncio.Event, limit_s: float = CATCH_UP_S) -> bool:
    """Wait until the watchdog has judged all that was due and the notifier has nothing left
    to send (True), or `limit_s` has passed, or the service is told to stop (False)."""
    watchdog, notifier = services.watchdog, services.notifier
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(limit_s):
            while not stop.is_set():
                if watchdog.caught_up and notifier.idle():
                    return True
                await asyncio.sleep(_CATCH_UP_POLL_S)
            return False
    log.warning(
        "the watchdog had not caught up within %g s; serving now, it goes on meanwhile", limit_s
    )
    return False


async def _web(services: Services, *, host: str, port: int) -> None:
    # Imported here, after the catch-up: importing them is most of start-up.
    import uvicorn

    from walkwithme.api.app import create_app

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(services),
            host=host,
            port=port,
            log_config=None,
            access_log=False,  # the service writes its own (logs.log_access)
            ws_ping_interval=20,
            # The live streams' frames are small (a fix is about 200 bytes) and many: deflating
            # each one cost the event loop as much as answering the phone that sent the fix.
            ws_per_message_deflate=False,
            # Clients never talk on the live streams (the service only listens for them
            # leaving): a frame bigger than this closes the socket (1009), where uvicorn's
            # 16 MB let one share link push 2 GB into the process (an outside review).
            ws_max_size=MAX_FRAME_BYTES,
            timeout_graceful_shutdown=10,
        )
    )
    await server.serve()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
