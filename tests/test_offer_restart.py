"""A promise made before the service went down is reminded after it comes back, once, to both
people: the real service as a subprocess, killed between the promise and its time."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx2
import pytest

from tests.service import Service, cli
from tests.sinks import webhook_sink
from tests.test_service_e2e import sign_in

pytestmark = pytest.mark.slow

DELIVERED_WITHIN_S = 60.0  # a generous bound for the restarted service, not a timing


def test_a_promise_is_reminded_once_after_a_crash(tmp_path: Path) -> None:
    data = tmp_path / "data"
    aino = cli(data, "people", "add", "aino@example.org", "--name", "Aino")
    eero = cli(data, "people", "add", "eero@example.org", "--name", "Eero")
    service = Service(
        data, "--clock-speed", "60", env={"WWM_ALLOW_PRIVATE_ADDRESSES": "true"}
    ).start()
    with webhook_sink() as sink:
        try:
            url = service.url
            as_aino, as_eero = sign_in(url, aino), sign_in(url, eero)
            httpx2.post(f"{url}/api/contacts", json={"email": "eero@example.org"}, headers=as_aino)
            asked = httpx2.get(f"{url}/api/contacts", headers=as_eero).json()[-1]
            httpx2.post(f"{url}/api/contacts/{asked['id']}/accept", headers=as_eero)
            for who, path in ((as_aino, "/aino"), (as_eero, "/eero")):
                made = httpx2.post(
                    f"{url}/api/channels",
                    json={"kind": "webhook", "target": sink.url + path},
                    headers=who,
                )
                assert made.status_code == 201, made.text
            offer = httpx2.post(
                f"{url}/api/offers", json={"walker": aino["id"]}, headers=as_eero
            ).json()
            declined = httpx2.post(
                f"{url}/api/offers/{offer['id']}/decline",
                json={"note": "Tomorrow?", "promise": {"day": "tomorrow", "time": "20:00"}},
                headers=as_aino,
            )
            assert declined.status_code == 200, declined.text
            service.kill()
            service.jump_clock(minutes=2 * 24 * 60)  # down until well past the promised time
            service.start()

            def reminders() -> list[str]:
                return [
                    r.path for r in sink.ok() if json.loads(r.body).get("kind") == "offer_reminder"
                ]

            give_up = time.monotonic() + DELIVERED_WITHIN_S
            while sorted(reminders()) != ["/aino", "/eero"] and time.monotonic() < give_up:
                time.sleep(0.1)  # polling for the restarted service's delivery
            assert sorted(reminders()) == ["/aino", "/eero"]
            # Once: the watchdog's next looks don't remind them again.
            service.stop()
            service.jump_clock(minutes=60)
            service.start()

            def settled() -> bool:
                health = httpx2.get(f"{service.url}/healthz").json()
                looked = health["watchdog"]["last_look"] is not None
                return bool(looked and health["outbox"]["backlog"] == 0)

            give_up = time.monotonic() + DELIVERED_WITHIN_S
            while not settled() and time.monotonic() < give_up:
                time.sleep(0.1)  # until the restarted watchdog has looked and sent what it made
            assert settled()
            assert sorted(reminders()) == ["/aino", "/eero"]
        finally:
            service.stop()
