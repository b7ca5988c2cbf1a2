"""The demo's four evenings, played by Eero and Aino against the running service over HTTP and
WebSocket, as their phones would."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
from websockets.sync.client import connect

from walkwithme.clock import SystemClock
from walkwithme.demo.service import People, until
from walkwithme.demo.story import Story
from walkwithme.domain.geo import distance_m
from walkwithme.sim import walk_along

HELSINKI = ZoneInfo("Europe/Helsinki")
PIN = "2468"
# Central Helsinki: from the square by the railway station to a door in Kaartinkaupunki.
LEAVES_FROM = (60.17096, 24.94137)
HOME = (60.16110, 24.94470)
FIX_EVERY_S = 15.0
LINGER_S = 30  # at her door, keys in hand, half a minute (the night's limit is three)
ARRIVES_WITHIN_S = 20.0


class Player:
    """Both people's phones and the operator's console, talking to the service."""

    def __init__(self, url: str, people: People, story: Story, speed: float) -> None:
        self.url = url
        self.speed = speed  # the service's clock runs this many times faster than real time
        self.story = story
        self.http = httpx2.Client(base_url=url, timeout=30)
        self.aino = self._sign_in(people.aino)
        self.eero = self._sign_in(people.eero)
        self.ola = self._sign_in({"email": "ola@example.org", "password": people.operator})
        self.aino_id, self.eero_id = people.aino["id"], people.eero["id"]
        self.phone = people.phone
        self.clock = [self._mirror()]

    def _sign_in(self, who: dict[str, Any]) -> dict[str, str]:
        credentials = {"email": who["email"], "password": who["password"]}
        answer = self._ok(self.http.post("/api/session", json=credentials))
        return {"Authorization": f"Bearer {answer['token']}"}

    @staticmethod
    def _ok(response: httpx2.Response) -> Any:
        if response.status_code >= 300:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
        return response.json() if response.content else None

    def _mirror(self) -> SystemClock:
        """The service's clock, mirrored here: same time now, same speed."""
        return SystemClock(self.speed, int(self.http.get("/healthz").json()["now"]))

    def now(self) -> int:
        return self.clock[0].now_ms()

    def as_(self, who: dict[str, str], method: str, path: str, **kwargs: Any) -> Any:
        return self._ok(self.http.request(method, path, headers=who, **kwargs))

    def jump_to(self, local: datetime) -> None:
        """The operator moves the service's clock to a local time (demo and drill mode only)."""
        minutes = (local.timestamp() * 1000 - self.now()) / 60_000
        if minutes > 0:
            self.as_(self.ola, "POST", "/api/clock/jump", json={"minutes": minutes})
        self.clock[0] = self._mirror()

    def sleepuntil(self, t_ms: int) -> None:
        ahead = t_ms - self.now()
        if ahead > 0:
            time.sleep(ahead / self.speed / 1000)

    def next_evening(self, hour: int, minute: int = 0) -> datetime:
        today = datetime.fromtimestamp(self.now() / 1000, HELSINKI)
        evening = today.replace(hour=hour, minute=minute, second=0, microsecond=0)
        return evening if evening > today else evening + timedelta(days=1)

    # -- before the story: they know each other ----------------------------------------------

    def get_acquainted(self, inbox: str) -> None:
        self.as_(self.aino, "POST", "/api/contacts", json={"email": "eero@example.org"})
        asked = self.as_(self.eero, "GET", "/api/contacts")[-1]  # the request Aino sent him
        self.as_(self.eero, "POST", f"/api/contacts/{asked['id']}/accept")
        for who, name in ((self.aino, "aino"), (self.eero, "eero")):
            channel = self.as_(
                who,
                "POST",
                "/api/channels",
                json={"kind": "webhook", "target": f"{inbox}/{name}", "label": "phone"},
            )
            self.as_(who, "POST", f"/api/channels/{channel['id']}/test")

    # -- the evenings --------------------------------------------------------------------------

    def offer(self) -> int:
        self.story.tell(self.now(), "Eero", "offers to walk Aino home")
        offer = self.as_(self.eero, "POST", "/api/offers", json={"walker": self.aino_id})
        until(lambda: self._waiting_offer() is not None, ARRIVES_WITHIN_S, "the offer")
        offer_id: int = offer["id"]
        return offer_id

    def _waiting_offer(self) -> dict[str, Any] | None:
        received = self.as_(self.aino, "GET", "/api/offers")["received"]
        return next((o for o in received if o["state"] == "pending"), None)

    def evening_one(self) -> None:
        self.jump_to(self.next_evening(21, 30))
        offer_id = self.offer()
        self.story.tell(self.now(), "Aino", "says no")
        self.as_(self.aino, "POST", f"/api/offers/{offer_id}/decline", json={})
        self._heard("Eero", "offer_declined", 1)

    def evening_two(self) -> datetime:
        self.jump_to(self.next_evening(21, 30))
        offer_id = self.offer()
        promise = {"day": "tomorrow", "time": "21:00"}
        note = "Not tonight, sorry. Tomorrow at nine?"
        self.story.tell(self.now(), "Aino", f'says no, kindly: "{note}"')
        self.as_(
            self.aino,
            "POST",
            f"/api/offers/{offer_id}/decline",
            json={"note": note, "promise": promise},
        )
        self._heard("Eero", "offer_declined", 2)
        return self.next_evening(21, 0)

    def the_promised_evening(self, promised: datetime) -> None:
        self.jump_to(promised - timedelta(seconds=30))
        self._heard("Aino", "offer_reminder", 1)
        self._heard("Eero", "offer_reminder", 1)

    def evening_three(self) -> None:
        offer_id = self.offer()
        walk = self.as_(
            self.aino,
            "POST",
            f"/api/offers/{offer_id}/accept",
            json={
                "pin": PIN,
                "destination": {"lat": HOME[0], "lon": HOME[1], "radius": 30, "name": "home"},
                "from": {"lat": LEAVES_FROM[0], "lon": LEAVES_FROM[1]},
            },
        )
        walk_id = walk["id"]
        self.story.tell(walk["started_at"], "Aino", "accepts: they set off together")
        follower = threading.Thread(
            target=self._eero_follows, args=(walk_id, self.story.companion_saw), daemon=True
        )
        follower.start()
        points = self._the_way_home(walk_id)
        self._walk(walk_id, points, walk["started_at"])
        self.story.tell(self.now(), "Aino", 'is inside (her PIN): "Would you like to come in?"')
        done = self.as_(
            self.aino,
            "POST",
            f"/api/walks/{walk_id}/inside",
            json={"pin": PIN, "note": "Would you like to come in?"},
        )
        follower.join(timeout=ARRIVES_WITHIN_S)
        self._heard("Eero", "inside", 1)
        self.story.walk = done

    def _the_way_home(self, walk_id: int) -> list[Any]:
        route = self.as_(self.aino, "GET", f"/api/walks/{walk_id}/route")
        straight = distance_m(*LEAVES_FROM, *HOME)
        self.story.tell(
            self.now(),
            "both",
            f"the way home: {route['length_m']:,.0f} m along the streets "
            f"({straight:,.0f} m as the crow flies)",
        )
        return [tuple(p) for p in route["points"]]

    def evening_four(self) -> None:
        """Something goes wrong: she stops halfway, her phone in her bag, and misses the
        check; the alarm reaches Eero, who is on it, calls her, and marks her safe."""
        self.jump_to(self.next_evening(22, 15) + timedelta(days=2))
        self.story.tell(
            self.now(), "Aino", "a few evenings later, walks home again, Eero following"
        )
        walk = self.as_(
            self.aino,
            "POST",
            "/api/walks",
            json={
                "pin": PIN,
                "destination": {"lat": HOME[0], "lon": HOME[1], "radius": 30, "name": "home"},
                "from": {"lat": LEAVES_FROM[0], "lon": LEAVES_FROM[1]},
            },
        )
        walk_id = walk["id"]
        follower = threading.Thread(
            target=self._eero_follows, args=(walk_id, self.story.alarmed_saw), daemon=True
        )
        follower.start()
        points = self._the_way_home(walk_id)
        last = started = walk["started_at"]
        where = LEAVES_FROM
        for position in walk_along(points, pace_mps=1.3, every_s=FIX_EVERY_S, start_ms=started):
            if position.t_ms - started > 6 * 60_000:
                break  # halfway: she stops
            self.sleepuntil(position.t_ms)
            self._fix(position.t_ms, position.lat, position.lon)
            last, where = position.t_ms, (position.lat, position.lon)
        self.story.tell(last, "Aino", "stops to talk to a friend; her phone is in her bag")
        t = last
        while not self._alerted(
            "Eero", "alarm", walk_id
        ):  # her phone goes on reporting, standing still
            t += int(FIX_EVERY_S * 1000)
            self.sleepuntil(t)
            self._fix(t, *where)
        self.story.tell(self.now(), "Eero", 'presses "I\'m on it" and calls her')
        self.as_(self.eero, "POST", f"/api/walks/{walk_id}/ack")
        note = "Called her: she met a friend, all fine."
        self.story.tell(self.now() + 60_000, "Eero", f'marks her safe: "{note}"')
        self.sleepuntil(self.now() + 60_000)
        self.as_(self.eero, "POST", f"/api/walks/{walk_id}/resolve", json={"note": note})
        self.story.tell(self.now(), "Aino", "walks on home and ends the walk with her PIN")
        self.as_(self.aino, "POST", f"/api/walks/{walk_id}/end", json={"pin": PIN})
        follower.join(timeout=ARRIVES_WITHIN_S)

    def _alerted(self, who: str, kind: str, walk_id: int) -> bool:
        told = self.story.alerts.get(who, [])
        return any(a.get("kind") == kind and a.get("walk_id") == walk_id for a in told)

    def _walk(self, walk_id: int, points: list[Any], started_at: int) -> None:
        pace = float(self.as_(self.aino, "GET", "/api/me")["pace"])
        said = False
        last = started_at
        for position in walk_along(points, pace_mps=pace, every_s=FIX_EVERY_S, start_ms=started_at):
            self.sleepuntil(position.t_ms)
            self._fix(position.t_ms, position.lat, position.lon)
            last = position.t_ms
            if not said and position.t_ms - started_at >= 90_000:
                said = True
                self._talk(walk_id)
        # At her door: half a minute, keys in hand; her phone goes on reporting.
        for step in range(1, LINGER_S // int(FIX_EVERY_S) + 1):
            t = last + int(step * FIX_EVERY_S * 1000)
            self.sleepuntil(t)
            self._fix(t, HOME[0], HOME[1])

    def _fix(self, t: int, lat: float, lon: float) -> None:
        answer = self.http.post(
            "/api/fixes",
            json={"t": t, "lat": lat, "lon": lon, "accuracy": 6, "battery": 64},
            headers={"Authorization": f"Bearer {self.phone}"},
        )
        self._ok(answer)

    def _talk(self, walk_id: int) -> None:
        self.as_(
            self.aino,
            "POST",
            f"/api/walks/{walk_id}/messages",
            json={"text": "Thank you for this. How was your day?"},
        )
        self.as_(
            self.eero,
            "POST",
            f"/api/walks/{walk_id}/messages",
            json={"text": "Long. Better now."},
        )

    def _eero_follows(self, walk_id: int, saw: list[dict[str, Any]]) -> None:
        """Eero's phone: the walk's live stream, as it comes."""
        ws_url = self.url.replace("http", "ws", 1) + f"/api/walks/{walk_id}/live"
        last_told = 0
        with connect(ws_url, additional_headers=self.eero) as ws:
            for raw in ws:
                message = json.loads(raw)
                saw.append(message)
                if message["type"] == "event":
                    text = _event_text(message["event"])
                    if text:
                        self.story.tell(message["event"]["at"], "Eero", text)
                elif message["type"] == "fix":
                    fix = message["fix"]
                    if fix["t"] - last_told >= 180_000:  # every three minutes of the walk
                        last_told = fix["t"]
                        left = distance_m(fix["lat"], fix["lon"], *HOME)
                        self.story.tell(
                            fix["t"],
                            "Eero",
                            f"her position on his screen: {left:,.0f} m from her door "
                            "as the crow flies",
                        )
                elif message["type"] == "closed":
                    return

    def _heard(self, who: str, kind: str, count: int) -> None:
        def arrived() -> bool:
            told = [a for a in self.story.alerts.get(who, []) if a.get("kind") == kind]
            return len(told) >= count

        until(arrived, ARRIVES_WITHIN_S, f"{who}'s {kind}")


def _event_text(event: dict[str, Any]) -> str | None:
    match event["kind"]:
        case "started":
            return "sees the walk start; he follows it live"
        case "message":
            return f'{event["sender"]["name"]}: "{event["text"]}"'
        case "arrived":
            return "sees her reach her door"
        case "inside":
            return f'sees her go in: "{event.get("note")}"'
        case "check":
            return f'sees the service ask her "Are you OK?" ({_why(event.get("reason"))})'
        case "alarm":
            return f"ALARM: {_why(event.get('reason'))}"
        case "alarm_acknowledged":
            return 'his "I\'m on it" is on her timeline'
        case "alarm_resolved":
            return f'the alarm is over: "{event.get("note")}"'
        case "ended":
            return "sees her end the walk"
        case _:
            return None


def _why(reason: object) -> str:
    return {
        "stalled": "she has stopped",
        "silent": "her phone is silent",
        "no_answer": 'she didn\'t answer "Are you OK?"',
        "moving_away": "she is moving away from home",
        "moving_away_fast": "she is moving away fast, as in a vehicle",
        "late": "she is late",
        "lingering": "she is lingering at her door",
    }.get(str(reason), str(reason).replace("_", " "))
