"""Run the real service as a subprocess (`walkwithme serve`) for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx2

from walkwithme.net import free_port

WWM = [sys.executable, "-m", "walkwithme"]
READY_WITHIN_S = 30.0  # a generous bound for start-up, not a timing assertion


def cli(data: Path, *args: str, stdin: str | None = None) -> dict[str, Any]:
    """Run a `walkwithme` command with --json and return what it printed."""
    done = subprocess.run(
        [*WWM, *args, "--data", str(data), "--json"],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    return result


class Service:
    def __init__(self, data: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra = extra
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self._out: IO[str] | None = None
        self.log = data / f"serve-{self.port}.log"

    def start(self) -> Service:
        """Start it and wait until it answers."""
        self.launch()
        return self.ready()

    def launch(self) -> None:
        """Start it, without waiting for it to answer."""
        self.data.mkdir(parents=True, exist_ok=True)
        self._close_log()
        self._out = self.log.open("a")
        self.proc = subprocess.Popen(
            [*WWM, "serve", "--data", str(self.data), "--port", str(self.port), *self.extra],
            stdout=self._out,
            stderr=subprocess.STDOUT,
            text=True,
            env=self.env,
        )

    def ready(self) -> Service:
        """Wait until /healthz answers."""
        assert self.proc is not None
        deadline = time.monotonic() + READY_WITHIN_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited: {self.log.read_text()}")
            try:
                if httpx2.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx2.HTTPError:
                pass
            time.sleep(0.05)  # polling for readiness, not waiting for a deadline
        raise RuntimeError(f"the service did not answer: {self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, nothing graceful."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._close_log()

    def _close_log(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()

    def jump_clock(self, minutes: float) -> None:
        """While the service is down: its fast clock will show `minutes` more when it starts
        again, as if the outage had lasted that long (no test waits in real time)."""
        assert self.proc is None or self.proc.poll() is not None, "stop the service first"
        state = self.data / "fast-clock.json"
        saved = json.loads(state.read_text())
        saved["clock_ms"] += int(minutes * 60_000)
        state.write_text(json.dumps(saved))

    def output(self) -> str:
        return self.log.read_text()
