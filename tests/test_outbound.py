"""The one way out (notify/outbound.py): one HTTP client for every send, and the same safety as
a client of its own for each: every hop of a redirect checked, at most three, no cookies from
one receiver to the next. Mocked at the network edge (an httpx2 MockTransport); the addresses
are IP literals, so nothing is resolved."""

from __future__ import annotations

import asyncio

import httpx2
import pytest

from walkwithme.notify.outbound import MAX_REDIRECTS, TIMEOUT_S, Outbound, Refused

PUBLIC = "http://93.184.216.34"  # a public address: allowed without the operator's say-so


class Receiver:
    """Answers each request with the next of `answers` (200 when they run out)."""

    def __init__(self, *answers: httpx2.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx2.Request] = []

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.requests.append(request)
        return self.answers.pop(0) if self.answers else httpx2.Response(200)

    def outbound(self) -> Outbound:
        return Outbound(transport=httpx2.MockTransport(self))


def redirect(to: str) -> httpx2.Response:
    return httpx2.Response(302, headers={"location": to})


def post(http: Outbound, url: str, *, allow_private: bool = False) -> httpx2.Response:
    """One send, on an event loop of its own."""

    async def send() -> httpx2.Response:
        try:
            return await http.post(url, b"{}", {}, allow_private=allow_private)
        finally:
            await http.aclose()

    return asyncio.run(send())


def test_every_send_of_a_loop_goes_through_one_client_closed_at_the_end() -> None:
    receiver = Receiver()
    http = receiver.outbound()

    async def three_sends() -> None:
        for n in range(3):
            answer = await http.post(f"{PUBLIC}/hook/{n}", b"{}", {}, allow_private=False)
            assert answer.status_code == 200
        assert http.is_open
        await http.aclose()

    asyncio.run(three_sends())
    assert len(receiver.requests) == 3
    assert http.clients_made == 1
    assert not http.is_open


def test_the_client_keeps_the_timeout_of_a_send() -> None:
    receiver = Receiver()
    http = receiver.outbound()
    post(http, f"{PUBLIC}/hook")
    timeout = receiver.requests[0].extensions["timeout"]
    assert set(timeout.values()) == {TIMEOUT_S}  # connect, read, write, pool


def test_a_redirect_to_a_private_address_is_refused_before_it_is_followed() -> None:
    receiver = Receiver(redirect("http://10.0.0.7/admin"))
    with pytest.raises(Refused, match="private"):
        post(receiver.outbound(), f"{PUBLIC}/hook")
    assert [str(r.url) for r in receiver.requests] == [f"{PUBLIC}/hook"]


def test_a_redirect_to_loopback_by_a_relative_path_is_checked_too() -> None:
    receiver = Receiver(redirect("/next"), redirect("http://127.0.0.1:8000/api/me"))
    with pytest.raises(Refused):
        post(receiver.outbound(), f"{PUBLIC}/hook")
    assert [str(r.url) for r in receiver.requests] == [f"{PUBLIC}/hook", f"{PUBLIC}/next"]


def test_a_private_address_is_reached_when_the_operator_allows_it() -> None:
    receiver = Receiver(redirect("http://10.0.0.7/hook"))
    assert post(receiver.outbound(), f"{PUBLIC}/hook", allow_private=True).status_code == 200
    assert str(receiver.requests[-1].url) == "http://10.0.0.7/hook"


def test_at_most_three_redirects_are_followed() -> None:
    receiver = Receiver(*(redirect(f"/hop/{n}") for n in range(MAX_REDIRECTS + 1)))
    with pytest.raises(Refused, match="too many redirects"):
        post(receiver.outbound(), f"{PUBLIC}/hook")
    assert len(receiver.requests) == MAX_REDIRECTS + 1

    three = Receiver(*(redirect(f"/hop/{n}") for n in range(MAX_REDIRECTS)))
    assert post(three.outbound(), f"{PUBLIC}/hook").status_code == 200


def test_one_receivers_cookie_never_rides_along_to_the_next_request() -> None:
    receiver = Receiver(httpx2.Response(200, headers={"set-cookie": "session=mira; Path=/"}))
    http = receiver.outbound()

    async def two_sends() -> None:
        await http.post(f"{PUBLIC}/mira", b"{}", {}, allow_private=False)
        await http.post(f"{PUBLIC}/noor", b"{}", {}, allow_private=False)
        await http.aclose()

    asyncio.run(two_sends())
    assert "cookie" not in receiver.requests[1].headers


def test_a_send_from_another_event_loop_gets_a_client_of_its_own() -> None:
    receiver = Receiver()
    http = receiver.outbound()
    post(http, f"{PUBLIC}/a")
    post(http, f"{PUBLIC}/b")
    assert http.clients_made == 2  # a client's connections belong to the loop that made them
    assert not http.is_open
