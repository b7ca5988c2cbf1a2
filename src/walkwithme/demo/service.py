"""The demo's service: its people made by the operator, and the real `serve` in a subprocess
with a drill clock and the shipped streets of central Helsinki."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import httpx2

from walkwithme.clock import MAX_DRILL_SPEED
from walkwithme.config import load_config
from walkwithme.net import free_port
from walkwithme.security import hash_secret
from walkwithme.services import build_services
from walkwithme.streets import shipped_helsinki
from walkwithme.usecases import accounts, devices

# The drill clock's most: the story takes half a minute. A busy machine may stall the people's
# phones for a second, two minutes of the story at this speed, and the service would ask her
# "Are you OK?" for a phone that was silent: a slower clock leaves more room (`demo --speed`).
SPEED = MAX_DRILL_SPEED
SERVE = [sys.executable, "-m", "walkwithme", "serve", "--drill"]
READY_WITHIN_S = 30.0  # generous bounds for a machine under load, not timings


@dataclass
class People:
    operator: str
    aino: dict[str, Any]
    eero: dict[str, Any]
    phone: str  # Aino's phone's device token


def make_people(data: Path) -> People:
    """Accounts made by the operator, as `walkwithme people add` would (before the service
    starts, so nobody waits for it)."""
    svc = build_services(load_config({"WWM_DATA": str(data)}), drill=True)
    made: dict[str, dict[str, Any]] = {}
    try:
        for name, operator in (("Ola", True), ("Aino", False), ("Eero", False)):
            password = secrets.token_urlsafe(12)
            new = accounts.NewPerson(
                f"{name.lower()}@example.org",
                name,
                hash_secret(password),
                "Europe/Helsinki",
                is_operator=operator,
            )
            person = svc.writer.run_sync(partial(accounts.create_person, new=new))
            made[name] = {"id": person.id, "email": person.email, "password": password}
        aino_id = made["Aino"]["id"]
        _device, phone = svc.writer.run_sync(lambda tx: devices.add_device(tx, aino_id, "phone"))
    finally:
        svc.db.dispose()
    return People(made["Ola"]["password"], made["Aino"], made["Eero"], phone)


@contextmanager
def running_service(data: Path, speed: float = SPEED) -> Iterator[str]:
    port = free_port()
    env = {
        "WWM_DATA": str(data),
        "WWM_STREETS": str(shipped_helsinki()),
        "WWM_ALLOW_PRIVATE_ADDRESSES": "true",  # the people's "phones" are on this machine
        "WWM_LOG_LEVEL": "warning",
        "PATH": "/usr/bin:/bin",
    }
    log = (data / "serve.log").open("w")
    proc = subprocess.Popen(  # noqa: S603 (our own command, our own arguments)
        [*SERVE, "--clock-speed", f"{speed:g}", "--port", str(port), "--data", str(data)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        until(lambda: healthy(url) or proc.poll() is not None, READY_WITHIN_S, "the service")
        if proc.poll() is not None:
            raise RuntimeError(f"the service did not start: {(data / 'serve.log').read_text()}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def healthy(url: str) -> bool:
    try:
        return httpx2.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx2.HTTPError:
        return False


def until(done: Any, within_s: float, what: str) -> None:
    """Poll for something the service does on its own (bounded, never a timing)."""
    give_up = time.monotonic() + within_s
    while not done():
        if time.monotonic() > give_up:
            raise RuntimeError(f"waited {within_s:g} s for {what}")
        time.sleep(0.02)
