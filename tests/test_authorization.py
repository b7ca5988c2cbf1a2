"""The authorization matrix: who may see and do what with a walk.

Mira walks home. Each row of the matrix is someone in a relation to her walk (or a token, or
nobody at all); each column is an endpoint that touches a walk, over HTTP or the live
WebSocket. A row gets one of five answers:

- EVERYTHING  Mira herself: the walk, its timeline, track and route, the live stream, her share
              links and her PIN moments.
- FOLLOWS     her companion on this walk, while it is live and their contact stands: the walk,
              its timeline, track and route, the live stream, and she may talk. None of the walker's
              controls: those answer 404 and change nothing.
- NOTHING     anyone else: 404, worded exactly as for a walk that doesn't exist, with no trace of
              where Mira is or is going, and a write changes nothing.
- SIGN_IN     no credentials: 401.
- DEVICE      a device token: it may post fixes and nothing else: 403.

One test per row builds the scene once and checks every column in a subtest, so every cell
that fails is reported on a line of its own: `SUBFAIL ...[<db>-<row>] [<column>]`.

After the matrix: share links (no account needed, until they expire, are revoked, or the walk
ends), open streams that must close the moment access ends, the session cookie's origin rule,
the operator, and every person endpoint against device tokens and anonymous callers.
"""

from __future__ import annotations

import json
import queue
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute
from starlette.testclient import TestClient, WebSocketDenialResponse, WebSocketTestSession
from starlette.types import Message
from starlette.websockets import WebSocketDisconnect

from tests.people import HOME, PIN, START, Cast, Member, between
from walkwithme.api.auth import current_person
from walkwithme.domain.geo import distance_m

# Mira walks central Helsinki's streets: the service has the shipped street map, so her walk
# has a route (one of the columns).
pytestmark = pytest.mark.streets

MISSING = 987_654  # a walk id nobody has: what "no such walk" looks like

MIRA_NOW = between(START, HOME, 0.4)  # where Mira's phone last put her
MIRA_LATER = between(START, HOME, 0.6)  # where she is a little later
# None of these may ever reach anyone but Mira, her chosen companions and her link holders.
MIRA_SECRETS = (*START, *HOME, *MIRA_NOW, *MIRA_LATER)

# Wren walks home in Tampere, far from anything of Mira's.
WREN_FROM, WREN_HOME, WREN_NOW = (61.4981, 23.7608), (61.4925, 23.7795), (61.4960, 23.7690)

OUR_PAGES = "http://127.0.0.1:8000"  # the origin of the test client's HTTP requests
OUR_PAGES_WS = OUR_PAGES  # the service's own origin, whatever Host the client says
FOREIGN_ORIGINS = ("https://evil.example", "null", "http://127.0.0.1:8000.evil.example")


# -- the scene -----------------------------------------------------------------------------------


@dataclass
class Scene:
    """Mira on a live walk, and everyone around her (see `_scene`)."""

    cast: Cast
    mira: Member
    noor: Member  # her companion, chosen for this walk
    gus: Member  # her guardian: hears of alarms, never sees the walk
    sam: Member  # a stranger
    wren: Member  # walks home elsewhere...
    otto: Member  # ...followed by Otto
    ola: Member  # the operator
    pia: Member  # Mira asked her to be a companion; she hasn't answered
    nico: Member  # Mira's accepted companion (chosen for the walk unless the row says not)
    phone: str  # the device token of Mira's phone
    noor_contact: int
    pia_contact: int
    walk: int
    companions: list[str]  # the names of those chosen to follow it
    expected_at: int
    wren_walk: int
    link: int  # a share link to Mira's walk, for as long as the walk lasts
    link_token: str

    @property
    def client(self) -> TestClient:
        return self.cast.client

    def credentials(self, who: str) -> dict[str, str]:
        if who == "nobody":
            return {}
        if who == "phone":
            return {"Authorization": f"Bearer {self.phone}"}
        member: Member = getattr(self, who)
        return member.auth

    def url(self, template: str, *, walk: int | None = None) -> str:
        return template.format(
            walk=self.walk if walk is None else walk, link=self.link, contact=self.noor_contact
        )

    def as_mira_sees(self) -> dict[str, Any]:
        """Everything a refused write must leave as it was: her walk, its timeline, its track,
        her share links and her contacts, as Mira herself sees them."""
        seen: dict[str, Any] = {}
        for what in (
            f"/api/walks/{self.walk}",
            f"/api/walks/{self.walk}/events",
            f"/api/walks/{self.walk}/fixes",
            f"/api/walks/{self.walk}/shares",
            "/api/contacts",
        ):
            answer = self.client.get(what, headers=self.mira.auth)
            assert answer.status_code == 200, f"Mira can't see {what}: {answer.text}"
            seen[what] = answer.json()
        return seen

    def mira_says(self, action: str) -> None:
        """Mira, with her PIN: "inside" or "end"."""
        done = self.client.post(
            f"/api/walks/{self.walk}/{action}", json={"pin": PIN}, headers=self.mira.auth
        )
        assert done.status_code == 200, done.text

    def pia_accepts(self) -> None:
        accepted = self.client.post(
            f"/api/contacts/{self.pia_contact}/accept", headers=self.pia.auth
        )
        assert accepted.status_code == 200, accepted.text

    def end_contact(self, by: Member) -> None:
        ended = self.client.delete(f"/api/contacts/{self.noor_contact}", headers=by.auth)
        assert ended.status_code == 204, ended.text

    def ask_noor_again(self, role: str, *, accepted: bool) -> None:
        """Mira ends her contact with Noor, then asks her again, in `role`."""
        self.end_contact(by=self.mira)
        if accepted:
            self.cast.link(self.mira, self.noor, role=role)
            return
        asked = self.client.post(
            "/api/contacts", json={"email": self.noor.email, "role": role}, headers=self.mira.auth
        )
        assert asked.status_code == 202, asked.text

    def share_page(self, token: str) -> httpx2.Response:
        return self.client.get(f"/api/share/{token}")


def _scene(cast: Cast, chosen: tuple[str, ...] | None = None) -> Scene:
    """Mira walks home; five minutes in, her phone has placed her once. Her companions Noor and
    Nico follow (all her companions, the default, or only those `chosen`); Noor has said hello.
    Gus is her guardian; Pia hasn't answered Mira's request; Sam is nobody to her. Wren walks
    elsewhere, followed by Otto. Ola runs the server. Mira has made one share link."""
    mira, noor, gus, sam, wren, otto, pia, nico = (
        cast.person(name) for name in ("Mira", "Noor", "Gus", "Sam", "Wren", "Otto", "Pia", "Nico")
    )
    ola = cast.person("Ola", operator=True)
    noor_contact = cast.link(mira, noor)
    cast.link(mira, nico)
    cast.link(mira, gus, role="guardian")
    cast.link(wren, otto)
    pia_contact = cast.ask(mira, pia)  # not answered yet
    everyone = {"noor": noor, "nico": nico}
    companions = [everyone[name] for name in chosen or everyone]
    phone, wren_phone = cast.device(mira), cast.device(wren)

    if chosen is None:
        walk = cast.start_walk(mira)
    else:
        walk = cast.start_walk(mira, companions=[c.id for c in companions])
    wren_walk = cast.start_walk(
        wren,
        destination={"lat": WREN_HOME[0], "lon": WREN_HOME[1], "radius": 40, "name": "home"},
        **{"from": {"lat": WREN_FROM[0], "lon": WREN_FROM[1]}},
    )
    cast.clock.advance(minutes=5)
    assert cast.statuses(phone, cast.fix(MIRA_NOW)) == ["accepted"]
    assert cast.statuses(wren_phone, cast.fix(WREN_NOW)) == ["accepted"]
    hello = cast.client.post(
        f"/api/walks/{walk['id']}/messages", json={"text": "On my way"}, headers=noor.auth
    )
    assert hello.status_code == 201, hello.text
    link = cast.client.post(f"/api/walks/{walk['id']}/shares", json={}, headers=mira.auth)
    assert link.status_code == 201, link.text
    return Scene(
        cast=cast,
        mira=mira,
        noor=noor,
        gus=gus,
        sam=sam,
        wren=wren,
        otto=otto,
        ola=ola,
        pia=pia,
        nico=nico,
        phone=phone,
        noor_contact=noor_contact,
        pia_contact=pia_contact,
        walk=walk["id"],
        companions=[c.name for c in companions],
        expected_at=walk["expected_at"],
        wren_walk=wren_walk["id"],
        link=link.json()["id"],
        link_token=link.json()["token"],
    )


# -- what a user would notice --------------------------------------------------------------------


def _numbers(body: Any) -> Iterator[float]:
    """Every number in a JSON answer, including any written inside a string."""
    if isinstance(body, bool) or body is None:
        return
    if isinstance(body, int | float):
        yield float(body)
    elif isinstance(body, str):
        yield from (float(n) for n in re.findall(r"-?\d+\.\d+", body))
    elif isinstance(body, dict):
        for value in body.values():
            yield from _numbers(value)
    elif isinstance(body, list):
        for value in body:
            yield from _numbers(value)


def _no_trace_of_mira(body: Any, where: str) -> None:
    found = sorted({n for n in _numbers(body) for s in MIRA_SECRETS if abs(n - s) < 1e-6})
    assert not found, f"{where}: the answer gives away where Mira is or is going: {found}"


def _is_at(position: dict[str, Any] | None, where: tuple[float, float]) -> bool:
    return position is not None and (position["lat"], position["lon"]) == pytest.approx(where)


def _next(ws: WebSocketTestSession, within: float = 5.0) -> dict[str, Any] | None:
    """The next message the server sends, or None once it has closed the socket. Never hangs:
    a stream that stays silent fails the test after `within` seconds."""
    box: queue.Queue[Message | BaseException] = queue.Queue()

    def pull() -> None:
        try:
            box.put(ws.receive())
        except BaseException as exc:
            box.put(exc)

    threading.Thread(target=pull, daemon=True).start()
    try:
        got = box.get(timeout=within)
    except queue.Empty:
        pytest.fail(f"the stream sent nothing and stayed open for {within:g} s")
    if isinstance(got, BaseException):
        raise got
    if got["type"] == "websocket.close":
        return None
    message: dict[str, Any] = json.loads(got["text"])
    return message


def _until(ws: WebSocketTestSession, kind: str) -> list[dict[str, Any]]:
    """Messages up to and including the first of `kind`."""
    seen: list[dict[str, Any]] = []
    while True:
        message = _next(ws)
        assert message is not None, f"the stream closed before a {kind!r}: {seen}"
        seen.append(message)
        if message["type"] == kind:
            return seen


def _until_closed(ws: WebSocketTestSession, within: float = 3.0) -> list[dict[str, Any]]:
    """Every message until the server closes the socket. A stream must close as soon as the
    change that ends it is committed (the doorbell rings), not at its periodic re-check (every
    10 s): hence the short wait."""
    seen: list[dict[str, Any]] = []
    while (message := _next(ws, within)) is not None:
        seen.append(message)
    return seen


def _refusal(client: TestClient, url: str, headers: dict[str, str]) -> tuple[int, str]:
    """How the server refuses to open this stream: the HTTP answer it gives instead (status,
    error; 401 to sign in again, 403 otherwise); fails if it opens."""
    try:
        with client.websocket_connect(url, headers=dict(headers)) as ws:
            sent = _next(ws, within=2.0)
    except WebSocketDenialResponse as refused:
        return refused.status_code, refused.json()["error"]
    pytest.fail(f"the stream {url} was opened; its first message: {sent}")


# -- the matrix ----------------------------------------------------------------------------------


class Sees(Enum):
    EVERYTHING = "her own walk: all of it, and the walker's controls"
    FOLLOWS = "the walk while it is live, and may talk; none of the walker's controls"
    NOTHING = "404, exactly as if there were no such walk"
    SIGN_IN = "401: sign in first"
    DEVICE = "403: a device token posts fixes and nothing else"


@dataclass(frozen=True)
class Viewer:
    description: str
    who: str  # whose credentials: a Scene member, "phone" or "nobody"
    sees: Sees
    meanwhile: Callable[[Scene], None] | None = None  # what happened before she looks
    chosen: tuple[str, ...] | None = None  # whom Mira chose to follow the walk (None: all)


def _pia_accepts(s: Scene) -> None:
    s.pia_accepts()


def _mira_is_inside(s: Scene) -> None:
    s.mira_says("inside")


def _mira_ends_walk(s: Scene) -> None:
    s.mira_says("end")


def _mira_ends_contact(s: Scene) -> None:
    s.end_contact(by=s.mira)


def _then_walk(s: Scene) -> None:
    s.end_contact(by=s.mira)
    s.mira_says("end")


def _noor_ends_contact(s: Scene) -> None:
    s.end_contact(by=s.noor)


def _noor_asked_again(s: Scene) -> None:
    s.ask_noor_again("companion", accepted=False)


def _noor_now_guardian(s: Scene) -> None:
    s.ask_noor_again("guardian", accepted=True)


NOOR_ONLY = ("noor",)

# fmt: off
VIEWERS = (
    #      who is looking                                as      sees             what happened
    Viewer("Mira, the walker",                           "mira", Sees.EVERYTHING),
    Viewer("Noor, her chosen companion",                 "noor", Sees.FOLLOWS),
    Viewer("Gus, her guardian",                          "gus",  Sees.NOTHING),
    Viewer("Sam, a stranger",                            "sam",  Sees.NOTHING),
    Viewer("Otto, who follows Wren's walk",              "otto", Sees.NOTHING),
    Viewer("Ola, the operator",                          "ola",  Sees.NOTHING),
    Viewer("Pia, asked but not yet accepted",            "pia",  Sees.NOTHING),
    Viewer("Pia, who accepted after the walk started",   "pia",  Sees.NOTHING, _pia_accepts),
    Viewer("Nico, her companion, not chosen",            "nico", Sees.NOTHING, chosen=NOOR_ONLY),
    Viewer("Noor, once Mira is inside",                  "noor", Sees.NOTHING, _mira_is_inside),
    Viewer("Noor, once Mira ended the walk",             "noor", Sees.NOTHING, _mira_ends_walk),
    # Whoever holds her phone can't take Noor off the walk (and its alarm) by ending their
    # contact: she follows it until it is over, and no walk after it.
    Viewer("Noor, after Mira ended their contact",       "noor", Sees.FOLLOWS, _mira_ends_contact),
    Viewer("Noor, after Mira ended both contact and walk", "noor", Sees.NOTHING, _then_walk),
    Viewer("Noor, after ending the contact herself",     "noor", Sees.NOTHING, _noor_ends_contact),
    Viewer("Noor, ex-companion asked again, pending",    "noor", Sees.FOLLOWS, _noor_asked_again),
    Viewer("Noor, ex-companion, now her guardian",       "noor", Sees.FOLLOWS, _noor_now_guardian),
    Viewer("Mira's phone, by its device token",          "phone", Sees.DEVICE),
    Viewer("nobody signed in",                           "nobody", Sees.SIGN_IN),
)
# fmt: on

Shows = Callable[[Scene, Sees, httpx2.Response], None]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {walk}: Mira's walk; {link}: her share link
    body: dict[str, Any] | None
    walker: int | None  # what Mira gets (None: not in the matrix, see the note at its row)
    companion: int  # what Noor gets
    shows: Shows  # what an allowed answer must show

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}".replace("{walk}", "{id}").replace("{link}", "{link_id}")

    @property
    def writes(self) -> bool:
        return self.method != "GET"

    def expected(self, sees: Sees) -> int | None:
        return {
            Sees.EVERYTHING: self.walker,
            Sees.FOLLOWS: self.companion,
            Sees.NOTHING: 404,
            Sees.SIGN_IN: 401,
            Sees.DEVICE: 403,
        }[sees]


def _the_walk(scene: Scene, sees: Sees, answer: httpx2.Response) -> None:
    view = answer.json()
    assert view["id"] == scene.walk
    assert _is_at(view["last_position"], MIRA_NOW), view["last_position"]
    if sees is Sees.EVERYTHING:
        assert view["you_are"] == "walker"
        assert [c["name"] for c in view["companions"]] == scene.companions
    else:
        assert view["you_are"] == "companion"
        assert view["walker"]["name"] == "Mira"


def _the_timeline(scene: Scene, sees: Sees, answer: httpx2.Response) -> None:
    kinds = [e["kind"] for e in answer.json()]
    assert kinds[:2] == ["started", "message"], kinds


def _the_track(scene: Scene, sees: Sees, answer: httpx2.Response) -> None:
    track = answer.json()
    assert len(track) == 1, track
    assert _is_at(track[0], MIRA_NOW), track


def _the_route(scene: Scene, sees: Sees, answer: httpx2.Response) -> None:
    route = answer.json()
    assert route["points"][0] == list(START), route["points"][:2]
    assert route["points"][-1] == list(HOME), route["points"][-2:]
    assert route["length_m"] > distance_m(*START, *HOME)


def _the_message(scene: Scene, sees: Sees, answer: httpx2.Response) -> None:
    """...is on Mira's timeline."""
    event_id = answer.json()["event_id"]
    timeline = scene.as_mira_sees()[f"/api/walks/{scene.walk}/events"]
    said = [e for e in timeline if e["id"] == event_id]
    assert said, f"the message {event_id} is not on Mira's timeline: {timeline}"
    assert said[0]["text"] == TALK["text"]


def _her_links(scene: Scene, sees: Sees, answer: httpx2.Response) -> None:
    links = answer.json()
    assert [link["id"] for link in links] == [scene.link], links
    assert all("token" not in link for link in links), "a listed link shows its secret token"


def _a_working_link(scene: Scene, sees: Sees, answer: httpx2.Response) -> None:
    page = scene.share_page(answer.json()["token"])
    assert page.status_code == 200, page.text


def _a_dark_link(scene: Scene, sees: Sees, answer: httpx2.Response) -> None:
    page = scene.share_page(scene.link_token)
    assert page.status_code == 404, page.text


def _later_expected(scene: Scene, sees: Sees, answer: httpx2.Response) -> None:
    assert answer.json()["expected_at"] > scene.expected_at


def _never(scene: Scene, sees: Sees, answer: httpx2.Response) -> None:
    pytest.fail(f"nobody but Mira may do this, yet it answered {answer.status_code}")


TALK = {"text": "All good"}
A_LINK = {"hours": 2}
EXTEND = {"pin": PIN, "minutes": 15}
WITH_PIN = {"pin": PIN}

# Mira's own "end" and "inside" (None) would end the walk for the rest of her row: they are
# test_with_her_pin_mira_ends_the_walk_for_everyone_else, further down.
# fmt: off
ENDPOINTS = (
    #        method    path                               body      Mira  Noor  allowed: shows
    Endpoint("GET",    "/api/walks/{walk}",               None,     200,  200,  _the_walk),
    Endpoint("GET",    "/api/walks/{walk}/events",        None,     200,  200,  _the_timeline),
    Endpoint("GET",    "/api/walks/{walk}/fixes",         None,     200,  200,  _the_track),
    Endpoint("GET",    "/api/walks/{walk}/route",         None,     200,  200,  _the_route),
    Endpoint("POST",   "/api/walks/{walk}/messages",      TALK,     201,  201,  _the_message),
    Endpoint("GET",    "/api/walks/{walk}/shares",        None,     200,  404,  _her_links),
    Endpoint("POST",   "/api/walks/{walk}/shares",        A_LINK,   201,  404,  _a_working_link),
    Endpoint("DELETE", "/api/walks/{walk}/shares/{link}", None,     204,  404,  _a_dark_link),
    Endpoint("POST",   "/api/walks/{walk}/extend",        EXTEND,   200,  404,  _later_expected),
    Endpoint("POST",   "/api/walks/{walk}/end",           WITH_PIN, None, 404,  _never),
    Endpoint("POST",   "/api/walks/{walk}/inside",        WITH_PIN, None, 404,  _never),
)
# fmt: on


def _http_cell(scene: Scene, viewer: Viewer, endpoint: Endpoint) -> None:
    expected = endpoint.expected(viewer.sees)
    assert expected is not None
    headers = scene.credentials(viewer.who)
    before = scene.as_mira_sees() if endpoint.writes and expected >= 400 else None
    answer = scene.client.request(
        endpoint.method, scene.url(endpoint.path), headers=headers, json=endpoint.body
    )
    assert answer.status_code == expected, (
        f"{viewer.description}: {endpoint.name} answered {answer.status_code}, "
        f"expected {expected}: {answer.text}"
    )
    if expected < 400:
        endpoint.shows(scene, viewer.sees, answer)
        return
    body = answer.json()
    assert set(body) <= {"error", "field"}, f"a refusal with more than an error: {body}"
    _no_trace_of_mira(body, f"{viewer.description}: {endpoint.name}")
    if expected == 404:
        ghost = scene.client.request(
            endpoint.method,
            scene.url(endpoint.path, walk=MISSING),
            headers=headers,
            json=endpoint.body,
        )
        assert (answer.status_code, body) == (ghost.status_code, ghost.json()), (
            "the refusal differs from the answer for a walk that doesn't exist, "
            "so it tells that this walk exists"
        )
    if before is not None:
        assert scene.as_mira_sees() == before, "a refused write changed Mira's walk"


def _list_cell(scene: Scene, viewer: Viewer) -> None:
    """GET /api/walks: her own walks and the live walks she follows."""
    answer = scene.client.get("/api/walks", headers=scene.credentials(viewer.who))
    refused = {Sees.SIGN_IN: 401, Sees.DEVICE: 403}.get(viewer.sees)
    if refused is not None:
        assert answer.status_code == refused, answer.text
        _no_trace_of_mira(answer.json(), f"{viewer.description}: GET /api/walks")
        return
    assert answer.status_code == 200, answer.text
    listed = {w["id"]: w for w in answer.json()}
    if viewer.sees is Sees.NOTHING:
        assert scene.walk not in listed, f"{viewer.description} has Mira's walk in her list"
        _no_trace_of_mira(answer.json(), f"{viewer.description}: GET /api/walks")
    else:
        assert scene.walk in listed, f"{viewer.description} doesn't find the walk in her list"
        role = "walker" if viewer.sees is Sees.EVERYTHING else "companion"
        assert listed[scene.walk]["you_are"] == role


def _live_cell(scene: Scene, viewer: Viewer) -> None:
    """WS /api/walks/{id}/live."""
    url = f"/api/walks/{scene.walk}/live"
    headers = scene.credentials(viewer.who)
    if viewer.sees in (Sees.EVERYTHING, Sees.FOLLOWS):
        with scene.client.websocket_connect(url, headers=headers) as ws:
            first = _next(ws)
        assert first is not None, "the stream closed at once"
        assert first["type"] == "walk", first
        role = "walker" if viewer.sees is Sees.EVERYTHING else "companion"
        assert first["walk"]["you_are"] == role
        assert _is_at(first["walk"]["last_position"], MIRA_NOW)
        return
    code, reason = _refusal(scene.client, url, headers)
    _no_trace_of_mira(reason, f"{viewer.description}: the stream's refusal")
    if viewer.sees is Sees.SIGN_IN:
        assert code == 401, (code, reason)
    if viewer.sees is Sees.NOTHING:
        ghost = _refusal(scene.client, f"/api/walks/{MISSING}/live", headers)
        assert (code, reason) == ghost, "the refusal tells that this walk exists"


@dataclass(frozen=True)
class Stream:
    """A column that isn't a plain HTTP request: the list of walks, the live stream."""

    name: str
    check: Callable[[Scene, Viewer], None]


COLUMNS: tuple[Endpoint | Stream, ...] = (
    *ENDPOINTS[:4],  # the walk, its timeline, its track, its route
    Stream("GET /api/walks", _list_cell),
    Stream("WS /api/walks/{id}/live", _live_cell),
    *ENDPOINTS[4:],  # talking, share links, the PIN moments
)


@pytest.mark.parametrize("viewer", VIEWERS, ids=lambda v: v.description)
def test_who_sees_what_of_miras_walk(cast: Cast, viewer: Viewer, subtests: pytest.Subtests) -> None:
    scene = _scene(cast, viewer.chosen)
    if viewer.meanwhile is not None:
        viewer.meanwhile(scene)
    for column in COLUMNS:
        if isinstance(column, Endpoint) and column.expected(viewer.sees) is None:
            continue
        with subtests.test(msg=column.name):
            if isinstance(column, Endpoint):
                _http_cell(scene, viewer, column)
            else:
                column.check(scene, viewer)


# -- the walker's own PIN moments, and streams that must close -----------------------------------


@pytest.mark.parametrize(
    ("action", "state", "kind"),
    [("inside", "safe", "inside"), ("end", "ended", "ended")],
    ids=["Mira is inside", "Mira ends the walk"],
)
def test_with_her_pin_mira_ends_the_walk_for_everyone_else(
    cast: Cast, action: str, state: str, kind: str
) -> None:
    scene = _scene(cast)
    live = f"/api/walks/{scene.walk}/live"
    with scene.client.websocket_connect(live, headers=scene.noor.auth) as ws:
        _until(ws, "fix")
        done = scene.client.post(
            f"/api/walks/{scene.walk}/{action}", json={"pin": PIN}, headers=scene.mira.auth
        )
        assert done.status_code == 200, done.text
        assert done.json()["state"] == state
        last = _until_closed(ws)
    # Noor's stream tells her how the walk ended, then says so and closes.
    assert [m["event"]["kind"] for m in last if m["type"] == "event"] == [kind], last
    assert last[-1]["type"] == "closed", last
    assert scene.as_mira_sees()[f"/api/walks/{scene.walk}"]["state"] == state
    _refusal(scene.client, live, scene.noor.auth)


def test_a_companion_she_removed_mid_walk_is_told_how_it_ended(cast: Cast) -> None:
    """Removed by her during the walk, Noor stays on it until it is over (whoever holds her
    phone can't take the people looking out for her off it): his stream was then cut off as
    if refused, without the walk's end, which a stream that followed it is told."""
    scene = _scene(cast)
    live = f"/api/walks/{scene.walk}/live"
    scene.end_contact(by=scene.mira)
    with scene.client.websocket_connect(live, headers=scene.noor.auth) as ws:
        _until(ws, "fix")
        done = scene.client.post(
            f"/api/walks/{scene.walk}/end", json={"pin": PIN}, headers=scene.mira.auth
        )
        assert done.status_code == 200, done.text
        last = _until_closed(ws)
    assert [m["event"]["kind"] for m in last if m["type"] == "event"] == ["ended"], last
    assert last[-1] == {"type": "closed", "reason": "the walk is over (ended)"}, last
    _refusal(scene.client, live, scene.noor.auth)


def test_a_companion_who_ends_the_contact_mid_walk_is_cut_off_at_once(cast: Cast) -> None:
    scene = _scene(cast)
    live = f"/api/walks/{scene.walk}/live"
    with scene.client.websocket_connect(live, headers=scene.noor.auth) as ws:
        _until(ws, "fix")
        scene.end_contact(by=scene.noor)
        after = _until_closed(ws)
    assert [m["type"] for m in after] == ["closed"], f"sent after the contact ended: {after}"
    _refusal(scene.client, live, scene.noor.auth)
    gone = scene.client.get(f"/api/walks/{scene.walk}", headers=scene.noor.auth)
    assert gone.status_code == 404, gone.text


# -- share links ---------------------------------------------------------------------------------


Step = Callable[[Scene, int], None]  # what happens to the walk and a link (by its id)


def _nothing(scene: Scene, link_id: int) -> None:
    pass


def _later(minutes: float) -> Step:
    def step(scene: Scene, link_id: int) -> None:
        scene.cast.clock.advance(minutes=minutes)

    return step


def _revoke(scene: Scene, link_id: int) -> None:
    revoked = scene.client.delete(
        f"/api/walks/{scene.walk}/shares/{link_id}", headers=scene.mira.auth
    )
    assert revoked.status_code == 204, revoked.text


def _inside_then(minutes: float) -> Step:
    def step(scene: Scene, link_id: int) -> None:
        scene.mira_says("inside")
        scene.cast.clock.advance(minutes=minutes)

    return step


def _ended(scene: Scene, link_id: int) -> None:
    scene.mira_says("end")


@dataclass(frozen=True)
class LinkStory:
    description: str
    hours: float | None  # as the link was made (None: for as long as the walk lasts)
    then: Step
    works: bool


# fmt: off
LINK_STORIES = (
    #         a link...                                   hours  and then             works
    LinkStory("for the walk, while she walks",            None,  _nothing,            True),
    LinkStory("for the walk, revoked",                    None,  _revoke,             False),
    LinkStory("for the walk, once she is inside",         None,  _inside_then(0),     False),
    LinkStory("for the walk, once she ended it",          None,  _ended,              False),
    LinkStory("for one hour, 59 minutes on",              1,     _later(59),          True),
    LinkStory("for one hour, 60 minutes on",              1,     _later(60),          False),
    LinkStory("for two hours, revoked",                   2,     _revoke,             False),
    LinkStory("for two hours, 30 minutes after the walk", 2,     _inside_then(30),    False),
    LinkStory("for two hours, once she is inside",        2,     _inside_then(0),     False),
    LinkStory("for two hours, 90 minutes on, walking",    2,     _later(90),          True),
    LinkStory("for two hours, 2 hours after the walk",    2,     _inside_then(120),   False),
)
# fmt: on


@pytest.mark.parametrize("story", LINK_STORIES, ids=lambda s: f"a link {s.description}")
def test_a_share_link_shows_the_walk_without_an_account_until_it_goes_dark(
    cast: Cast, story: LinkStory
) -> None:
    scene = _scene(cast)
    made = scene.client.post(
        f"/api/walks/{scene.walk}/shares", json={"hours": story.hours}, headers=scene.mira.auth
    )
    assert made.status_code == 201, made.text
    token = made.json()["token"]
    story.then(scene, made.json()["id"])

    page = scene.share_page(token)
    live = f"/api/share/{token}/live"
    if story.works:
        assert page.status_code == 200, page.text
        view = page.json()
        assert view["id"] == scene.walk
        assert view["walker"] == {"name": "Mira"}, "a link shows no account ids"
        assert _is_at(view["last_position"], MIRA_NOW)
        assert [(f["lat"], f["lon"]) for f in view["fixes"]] == [pytest.approx(MIRA_NOW)]
        with scene.client.websocket_connect(live) as ws:
            first = _next(ws)
        assert first is not None, "the link's stream closed at once"
        assert first["type"] == "walk"
        assert _is_at(first["walk"]["last_position"], MIRA_NOW)
        return
    assert page.status_code == 404, page.text
    _no_trace_of_mira(page.json(), f"GET /api/share/<{story.description}>")
    unknown = scene.share_page("shr_" + "x" * 40)
    assert page.json() == unknown.json(), "a dark link answers unlike an unknown one"
    refused = _refusal(scene.client, live, {})
    _no_trace_of_mira(refused[1], "the dark link's stream")
    assert refused == _refusal(scene.client, f"/api/share/shr_{'x' * 40}/live", {})


def _past_the_hour_and_she_moves(scene: Scene, link_id: int) -> None:
    scene.cast.clock.advance(minutes=61)
    # Her next fix rings the doorbell: the stream wakes, and must find the link dark.
    assert scene.cast.statuses(scene.phone, scene.cast.fix(MIRA_LATER)) == ["accepted"]


@pytest.mark.parametrize(
    ("hours", "goes_dark"),
    [(None, _revoke), (1, _past_the_hour_and_she_moves)],
    ids=["Mira revokes it", "its hour is up"],
)
def test_an_open_share_stream_closes_the_moment_its_link_goes_dark(
    cast: Cast, hours: float | None, goes_dark: Step
) -> None:
    scene = _scene(cast)
    made = scene.client.post(
        f"/api/walks/{scene.walk}/shares", json={"hours": hours}, headers=scene.mira.auth
    )
    assert made.status_code == 201, made.text
    with scene.client.websocket_connect(f"/api/share/{made.json()['token']}/live") as ws:
        _until(ws, "fix")
        goes_dark(scene, made.json()["id"])
        after = _until_closed(ws)
    assert [m["type"] for m in after] == ["closed"], f"sent after the link went dark: {after}"
    _no_trace_of_mira(after, "the link's stream after it went dark")


def test_share_links_are_the_walkers_alone_even_between_two_walkers(cast: Cast) -> None:
    scene = _scene(cast)
    wrens = scene.client.post(
        f"/api/walks/{scene.wren_walk}/shares", json={}, headers=scene.wren.auth
    )
    assert wrens.status_code == 201, wrens.text
    wren_link, wren_token = wrens.json()["id"], wrens.json()["token"]
    # A link's id is its number among its walk's links (each walk counts from 1): only
    # through that walk, and only by its walker, can it be revoked.
    attempts = [
        ("Mira revokes Wren's link through Wren's walk", scene.mira, scene.wren_walk, wren_link),
        ("Wren revokes Mira's link through Mira's walk", scene.wren, scene.walk, scene.link),
    ]
    for what, who, walk, link in attempts:
        answer = scene.client.delete(f"/api/walks/{walk}/shares/{link}", headers=who.auth)
        assert answer.status_code == 404, f"{what}: {answer.status_code} {answer.text}"
    assert scene.share_page(scene.link_token).status_code == 200, "Mira's link went dark"
    assert scene.share_page(wren_token).status_code == 200, "Wren's link went dark"
    listed = scene.client.get(f"/api/walks/{scene.wren_walk}/shares", headers=scene.mira.auth)
    assert listed.status_code == 404, "Mira lists Wren's links"


# -- the session cookie --------------------------------------------------------------------------


@dataclass(frozen=True)
class CookieWrite:
    description: str
    who: str
    method: str
    path: str
    body: dict[str, Any] | None


COOKIE_WRITES = (
    CookieWrite(
        "Noor posts a message", "noor", "POST", "/api/walks/{walk}/messages", {"text": "Hi"}
    ),
    CookieWrite(
        "Mira says she is inside", "mira", "POST", "/api/walks/{walk}/inside", {"pin": PIN}
    ),
    CookieWrite("Mira ends her walk", "mira", "POST", "/api/walks/{walk}/end", {"pin": PIN}),
    CookieWrite(
        "Mira extends her walk",
        "mira",
        "POST",
        "/api/walks/{walk}/extend",
        {"pin": PIN, "minutes": 15},
    ),
    CookieWrite("Mira makes a share link", "mira", "POST", "/api/walks/{walk}/shares", {}),
    CookieWrite(
        "Mira revokes her share link", "mira", "DELETE", "/api/walks/{walk}/shares/{link}", None
    ),
    CookieWrite(
        "Noor ends her contact with Mira", "noor", "DELETE", "/api/contacts/{contact}", None
    ),
)


def _cookie(member: Member) -> str:
    return f"wwm_session={member.token}"


@pytest.mark.parametrize("write", COOKIE_WRITES, ids=lambda w: w.description)
def test_a_cookie_write_from_a_foreign_or_no_origin_is_refused_and_changes_nothing(
    cast: Cast, write: CookieWrite
) -> None:
    scene = _scene(cast)
    member: Member = getattr(scene, write.who)
    url = scene.url(write.path)
    before = scene.as_mira_sees()
    for origin in (None, *FOREIGN_ORIGINS):
        headers = {"Cookie": _cookie(member)}
        if origin is not None:
            headers["Origin"] = origin
        answer = scene.client.request(write.method, url, headers=headers, json=write.body)
        assert answer.status_code == 403, f"Origin {origin}: {answer.status_code} {answer.text}"
        assert scene.as_mira_sees() == before, f"Origin {origin}: the refused write changed things"
    # The same request from our own pages goes through: it was the origin that was refused.
    own = {"Cookie": _cookie(member), "Origin": OUR_PAGES}
    answer = scene.client.request(write.method, url, headers=own, json=write.body)
    assert answer.status_code < 300, answer.text


@pytest.mark.parametrize(
    ("origin", "opens"),
    [(None, False), *((o, False) for o in FOREIGN_ORIGINS), (OUR_PAGES_WS, True)],
    ids=["no Origin", *(f"Origin {o}" for o in FOREIGN_ORIGINS), "our own pages"],
)
def test_a_cookie_websocket_opens_only_from_our_own_pages(
    cast: Cast, origin: str | None, opens: bool
) -> None:
    scene = _scene(cast)
    headers = {"Cookie": _cookie(scene.noor)}
    if origin is not None:
        headers["Origin"] = origin
    live = f"/api/walks/{scene.walk}/live"
    if not opens:
        _refusal(scene.client, live, headers)
        return
    with scene.client.websocket_connect(live, headers=headers) as ws:
        first = _next(ws)
    assert first is not None
    assert first["type"] == "walk"


# -- the operator, device tokens, anonymous callers ----------------------------------------------


def test_the_operator_runs_the_server_without_seeing_anyone_walk(cast: Cast) -> None:
    scene = _scene(cast)
    number = "+358 40 123 4567"
    set_phone = scene.client.patch("/api/me", json={"phone": number}, headers=scene.mira.auth)
    assert set_phone.status_code == 200, set_phone.text
    people = scene.client.get("/api/people", headers=scene.ola.auth)
    assert people.status_code == 200, people.text
    assert {"Mira", "Wren"} <= {p["name"] for p in people.json()}
    _no_trace_of_mira(people.json(), "the operator's list of people")
    # Her number is for her walk's companions and an alarm's link: not in his list.
    assert number not in people.text
    invite = scene.client.post("/api/invites", headers=scene.ola.auth)
    assert invite.status_code == 201, invite.text
    assert invite.json()["invite"]
    for who in (scene.mira, scene.sam):
        assert scene.client.get("/api/people", headers=who.auth).status_code == 403
        assert scene.client.post("/api/invites", headers=who.auth).status_code == 403
    # Her walk-denials are the "Ola, the operator" row of the matrix.


def _asks_for_a_person(dependant: Dependant) -> bool:
    return any(
        dep.call is current_person or _asks_for_a_person(dep) for dep in dependant.dependencies
    )


def _person_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every HTTP route that asks who the person is, however deep its router was included."""
    for route in routes:
        if isinstance(route, APIRoute) and _asks_for_a_person(route.dependant):
            yield route
        included = getattr(route, "original_router", None)  # FastAPI's lazily included routers
        if included is not None:
            yield from _person_routes(included.routes)


def test_every_person_endpoint_refuses_device_tokens_and_anonymous_callers(
    cast: Cast, subtests: pytest.Subtests
) -> None:
    scene = _scene(cast)
    app = scene.client.app
    assert isinstance(app, FastAPI)
    routes = list(_person_routes(app.routes))
    assert len(routes) >= 20, [r.path for r in routes]  # the introspection found them
    ids = {"walk_id": scene.walk, "link_id": scene.link, "contact_id": scene.noor_contact}
    device = {"Authorization": f"Bearer {scene.phone}"}
    for route in routes:
        path = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m[1], 1)), route.path)
        for method in sorted(route.methods or ()):
            body: dict[str, Any] | None = None if method in ("GET", "HEAD", "OPTIONS") else {}
            with subtests.test(msg=f"{method} {route.path}"):
                before = scene.as_mira_sees()
                by_device = scene.client.request(method, path, headers=device, json=body)
                assert by_device.status_code == 403, f"device token: {by_device.text}"
                _no_trace_of_mira(by_device.json(), f"device token on {method} {route.path}")
                anonymous = scene.client.request(method, path, json=body)
                assert anonymous.status_code == 401, f"no credentials: {anonymous.text}"
                _no_trace_of_mira(anonymous.json(), f"no credentials on {method} {route.path}")
                assert scene.as_mira_sees() == before, "a refused request changed things"
    # The one door a device token opens, and a person's token doesn't.
    cast.clock.advance(minutes=1)
    assert cast.statuses(scene.phone, cast.fix(MIRA_LATER)) == ["accepted"]
    by_person = scene.client.post(
        "/api/fixes", json={"fixes": [cast.fix(MIRA_LATER)]}, headers=scene.mira.auth
    )
    assert by_person.status_code == 401, by_person.text
    anonymous = scene.client.post("/api/fixes", json={"fixes": [cast.fix(MIRA_LATER)]})
    assert anonymous.status_code == 401, anonymous.text


def test_an_open_stream_closes_when_its_session_is_signed_out(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    with cast.client.websocket_connect(f"/api/walks/{walk['id']}/live", headers=noor.auth) as ws:
        assert ws.receive_json()["type"] == "walk"
        assert ws.receive_json()["event"]["kind"] == "started"
        assert cast.client.delete("/api/session", headers=noor.auth).status_code == 204
        assert ws.receive_json()["type"] == "closed"
        # Signed out, not refused: her page offers to sign in again.
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401


def test_an_open_stream_closes_when_its_session_runs_out_though_fixes_keep_coming(
    cast: Cast,
) -> None:
    """Nothing rings when a session runs out by the clock, and a walk whose phone sends more
    often than the stream's quiet recheck (10 s) would put that off for ever: the stream
    looks at the clock on every wake."""
    mira, noor, phone, walk = cast.walking()
    with cast.client.websocket_connect(f"/api/walks/{walk['id']}/live", headers=noor.auth) as ws:
        assert ws.receive_json()["type"] == "walk"
        assert ws.receive_json()["event"]["kind"] == "started"
        cast.send(phone, cast.fix(START))
        assert ws.receive_json()["type"] == "fix"  # her session is good: the fix comes
        cast.clock.advance(minutes=31 * 24 * 60)  # now her 30-day session is over
        cast.send(phone, cast.fix(START))
        assert ws.receive_json()["type"] == "closed"  # and not her position
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401


def test_who_hears_of_alarms_through_needs_you(cast: Cast) -> None:
    """Only the alarms of the walks one follows as a companion, and none of where she is."""
    mira, noor, _phone, walk = cast.walking()
    gus, eve = cast.person("Gus"), cast.person("Eve")
    cast.link(mira, gus, role="guardian")
    assert cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth).status_code == 200

    def needs_you(who: Member | None) -> httpx2.Response:
        cookie = {"Cookie": f"wwm_session={who.token}"} if who else {}
        return cast.client.get("/needs-you", headers={"accept": "application/json", **cookie})

    assert needs_you(None).status_code == 401
    for nobody in (gus, eve, mira):  # her guardian (not yet reached), a stranger, herself
        assert needs_you(nobody).json() == []
    said = needs_you(noor).json()
    assert [(w["id"], w["name"]) for w in said] == [(walk["id"], "Mira")]
    assert set(said[0]) == {"id", "name", "sentence", "why", "alarm_since"}  # no position


def test_his_home_page_hears_of_the_walks_he_follows_and_of_no_other(cast: Cast) -> None:
    """`/needs-you?all=1`, his home page's look: the live walks he follows as a companion,
    calm or in alarm, and none of where she is; a walk that is over is gone from it."""
    mira, noor, _phone, walk = cast.walking()
    gus, eve = cast.person("Gus"), cast.person("Eve")
    cast.link(mira, gus, role="guardian")

    def home_look(who: Member | None) -> httpx2.Response:
        cookie = {"Cookie": f"wwm_session={who.token}"} if who else {}
        return cast.client.get("/needs-you?all=1", headers={"accept": "application/json", **cookie})

    assert home_look(None).status_code == 401
    for nobody in (gus, eve, mira):  # her guardian, a stranger, herself
        assert home_look(nobody).json()["walks"] == []
    seen = home_look(noor).json()
    assert seen["now"] == cast.clock.now_ms()
    assert [(w["id"], w["name"], w["alarm"]) for w in seen["walks"]] == [
        (walk["id"], "Mira", False)
    ]
    assert set(seen["walks"][0]) == {
        "id",
        "name",
        "sentence",
        "alarm",
        "why",
        "started_at",
        "alarm_at",
        "asked",  # her "Are you OK?" waiting: why and by when, never where
    }  # no position
    assert cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth).status_code == 200
    assert [w["alarm"] for w in home_look(noor).json()["walks"]] == [True]
    assert home_look(gus).json()["walks"] == []  # not his to see, alarm or not
    ended = cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "with her"}, headers=noor.auth
    )
    assert ended.status_code == 200
    inside = cast.client.post(
        f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth
    )
    assert inside.status_code == 200, inside.text
    assert home_look(noor).json()["walks"] == []
