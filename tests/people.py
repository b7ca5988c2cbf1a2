"""The people in our tests, and what they do through the API.

Mira walks home; Noor is her companion; Gus her guardian; Sam a stranger; Wren walks elsewhere
with Otto following her; Ola runs the server.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2
import sqlalchemy as sa
from fastapi.testclient import TestClient

from walkwithme.clock import FakeClock
from walkwithme.security import hash_secret
from walkwithme.services import Services
from walkwithme.store.schema import alerts, channels, deliveries
from walkwithme.usecases import accounts

# Central Helsinki: the walk starts at the railway station and ends about 1.1 km south.
START = (60.17096, 24.94137)
HOME = (60.16110, 24.94470)
PIN = "2468"

# For walks on the shipped street map of central Helsinki (tests marked `streets`): by Kamppi
# (Simonkatu), and by Kaisaniemi, on the other side of the railway station.
KAMPPI = (60.1690, 24.9370)
KAISANIEMI = (60.1730, 24.9455)


def between(a: tuple[float, float], b: tuple[float, float], fraction: float) -> tuple[float, float]:
    return (a[0] + (b[0] - a[0]) * fraction, a[1] + (b[1] - a[1]) * fraction)


def as_tested(services: Services, channel_id: int | None = None) -> None:
    """As if a test had reached the channel once (every channel, if none is named): the
    ladder and a walk's start count only on channels that have worked."""
    chosen = channels.update()
    if channel_id is not None:
        chosen = chosen.where(channels.c.id == channel_id)
    services.writer.run_sync(lambda tx: tx.conn.execute(chosen.values(worked_at=tx.now_ms)))


@dataclass
class Member:
    id: int
    name: str
    email: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Cast:
    def __init__(self, client: TestClient, services: Services, clock: FakeClock) -> None:
        self.client = client
        self.services = services
        self.clock = clock

    def person(self, name: str, *, operator: bool = False) -> Member:
        new = accounts.NewPerson(
            f"{name.lower()}@example.org",
            name,
            hash_secret("correct horse battery"),
            "UTC",
            is_operator=operator,
        )

        def job(tx: Any) -> tuple[accounts.Person, str]:
            person = accounts.create_person(tx, new)
            return person, accounts.open_session(tx, person.id, 30)

        person, token = self.services.writer.run_sync(job)
        return Member(person.id, name, person.email, token)

    def link(self, owner: Member, member: Member, role: str = "companion") -> int:
        """`owner` asks `member` to follow her, and `member` accepts."""
        contact_id = self.ask(owner, member, role)
        accepted = self.client.post(f"/api/contacts/{contact_id}/accept", headers=member.auth)
        assert accepted.status_code == 200, accepted.text
        return contact_id

    def ask(self, owner: Member, member: Member, role: str = "companion") -> int:
        """`owner` asks `member`; the request's id, as `member` sees it (the answer to the
        asker is the same whoever the address belongs to: it names no request)."""
        asked = self.client.post(
            "/api/contacts", json={"email": member.email, "role": role}, headers=owner.auth
        )
        assert asked.status_code == 202, asked.text
        theirs = self.client.get("/api/contacts", headers=member.auth).json()
        return int(
            next(
                c["id"]
                for c in reversed(theirs)
                if c["direction"] == "asked_me" and c["person"]["id"] == owner.id
            )
        )

    def device(self, owner: Member, name: str = "phone") -> str:
        made = self.client.post("/api/devices", json={"name": name}, headers=owner.auth)
        assert made.status_code == 201, made.text
        token: str = made.json()["token"]
        return token

    def start_walk(self, walker: Member, **overrides: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "destination": {"lat": HOME[0], "lon": HOME[1], "radius": 40, "name": "home"},
            "from": {"lat": START[0], "lon": START[1]},
            "pin": PIN,
            **overrides,
        }
        started = self.client.post("/api/walks", json=body, headers=walker.auth)
        assert started.status_code == 201, started.text
        walk: dict[str, Any] = started.json()
        return walk

    def walking(self) -> tuple[Member, Member, str, dict[str, Any]]:
        """Mira on a walk home, her phone reporting, Noor following."""
        mira, noor = self.person("Mira"), self.person("Noor")
        self.link(mira, noor)
        phone = self.device(mira)
        return mira, noor, phone, self.start_walk(mira)

    def events(self, who: Member, walk: dict[str, Any]) -> list[dict[str, Any]]:
        """The walk's timeline as `who` sees it."""
        answer = self.client.get(f"/api/walks/{walk['id']}/events", headers=who.auth)
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()
        return found

    def fix(
        self, where: tuple[float, float], *, seconds_ago: float = 0, **extra: Any
    ) -> dict[str, Any]:
        return {
            "t": self.clock.now_ms() - int(seconds_ago * 1000),
            "lat": where[0],
            "lon": where[1],
            "accuracy": 8,
            **extra,
        }

    def send(self, device_token: str, *fixes: dict[str, Any]) -> list[dict[str, Any]]:
        answer = self.client.post(
            "/api/fixes",
            json={"fixes": list(fixes)},
            headers={"Authorization": f"Bearer {device_token}"},
        )
        assert answer.status_code == 200, answer.text
        results: list[dict[str, Any]] = answer.json()["results"]
        return results

    def statuses(self, device_token: str, *fixes: dict[str, Any]) -> list[str]:
        return [r["status"] for r in self.send(device_token, *fixes)]

    # -- offers and what people are told ---------------------------------------------------

    def channel(self, who: Member, *, worked: bool = True) -> None:
        """A webhook for `who`: her alerts then wait in the outbox (nothing is sent: the
        tests here don't run the notifier), where `told` reads them. `worked`: as if a test
        or an alert had reached it (the ladder and her walk's start count only on those)."""
        made = self.client.post(
            "/api/channels",
            json={"kind": "webhook", "target": f"https://hooks.example.org/{who.name}"},
            headers=who.auth,
        )
        assert made.status_code == 201, made.text
        if worked:
            as_tested(self.services, made.json()["id"])

    def told(self, who: Member, kind: str | None = None) -> list[dict[str, Any]]:
        """The alerts made for `who`, oldest first (of one kind, if given)."""
        query = (
            sa.select(alerts.c.payload)
            .where(
                alerts.c.id.in_(
                    sa.select(deliveries.c.alert_id).where(deliveries.c.person_id == who.id)
                )
            )
            .order_by(alerts.c.id)
        )
        rows = self.services.db.read_sync(lambda c: list(c.execute(query)))
        found = [dict(r.payload) for r in rows]
        return [p for p in found if kind is None or p["kind"] == kind]

    def offer(self, by: Member, to: Member, **body: Any) -> httpx2.Response:
        return self.client.post("/api/offers", json={"walker": to.id, **body}, headers=by.auth)

    def offers(self, who: Member) -> dict[str, Any]:
        answer = self.client.get("/api/offers", headers=who.auth)
        assert answer.status_code == 200, answer.text
        found: dict[str, Any] = answer.json()
        return found
