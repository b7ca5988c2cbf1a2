"""Guessing a password is slowed down, per account and per address, before any password is
checked; and hashing (argon2, costly on purpose) runs a bounded number at a time, so a flood
of sign-ins can never take the machine from the walkers' fixes."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient

from tests.people import Cast
from tests.test_manage_pages import post
from walkwithme.domain.errors import Busy
from walkwithme.hashing import Hashing, Lane
from walkwithme.security import hash_secret
from walkwithme.usecases import throttle

RIGHT = "correct horse battery"


def sign_in(client: TestClient, email: str, password: str, address: str = "203.0.113.7") -> Any:
    """From `address` (as uvicorn gives it to the app, behind a proxy it trusts too)."""
    elsewhere = TestClient(client.app, base_url=str(client.base_url), client=(address, 50000))
    return elsewhere.post("/api/session", json={"email": email, "password": password})


@pytest.mark.parametrize("email", ["mira@example.org", "nobody@example.org"])
def test_an_account_takes_ten_tries_in_a_quarter_of_an_hour(cast: Cast, email: str) -> None:
    """The same for an account that exists and one that doesn't: the answers don't say."""
    cast.person("Mira")
    for attempt in range(throttle.PER_ACCOUNT.hits):
        wrong = sign_in(cast.client, email, f"guess number {attempt}")
        assert wrong.status_code == 401, attempt
    refused = sign_in(cast.client, email, RIGHT)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(15 * 60)
    assert refused.json()["error"] == "too many sign-ins for this account: try again in 15 min"
    # Another account, from the same address, is not held up.
    cast.person("Noor")
    assert sign_in(cast.client, "noor@example.org", RIGHT).status_code == 200
    # One second before the window ends: still refused; at its end, counted afresh.
    cast.clock.advance(minutes=15, seconds=-1)
    assert sign_in(cast.client, email, RIGHT).status_code == 429
    cast.clock.advance(seconds=1)
    expected = 200 if email.startswith("mira") else 401
    assert sign_in(cast.client, email, RIGHT).status_code == expected


def test_an_address_takes_a_hundred_tries_in_a_quarter_of_an_hour(cast: Cast) -> None:
    cast.person("Mira")
    for attempt in range(throttle.PER_ADDRESS.hits):
        email = f"someone{attempt % 50}@example.org"  # spraying, under each account's limit
        assert sign_in(cast.client, email, "password1").status_code == 401, attempt
    refused = sign_in(cast.client, "mira@example.org", RIGHT)
    assert refused.status_code == 429
    assert "from your address" in refused.json()["error"]
    # Mira, from her own address, signs in.
    assert sign_in(cast.client, "mira@example.org", RIGHT, "198.51.100.4").status_code == 200


def test_hashing_waits_its_turn_and_past_a_short_queue_says_busy() -> None:
    hashing = Hashing(per_lane=1, max_waiting=2)
    stored = hash_secret(RIGHT)
    outcomes: list[str] = []

    async def one() -> None:
        try:
            outcomes.append(str(await hashing.verify(Lane.PASSWORDS, stored, RIGHT)))
        except Busy as exc:
            outcomes.append(f"busy {exc.retry_after_s}")

    async def flood() -> None:
        async with anyio.create_task_group() as tasks:
            for _ in range(4):  # one hashing, two waiting, and one too many
                tasks.start_soon(one)
        # The other lane was never held up: a PIN is checked at once.
        assert hashing.admitted(Lane.PINS) == 0

    anyio.run(flood)
    assert sorted(outcomes) == ["True", "True", "True", "busy 2"]


def test_a_flood_that_is_busy_answers_503_with_retry_after(cast: Cast) -> None:
    cast.person("Mira")
    hashing = cast.services.hashing
    hashing._admitted[Lane.PASSWORDS] = hashing.per_lane + hashing.max_waiting  # a full lane
    busy = sign_in(cast.client, "mira@example.org", RIGHT)
    assert busy.status_code == 503
    assert busy.headers["Retry-After"] == "2"


# Her password asked again while she is signed in, and what each door would change with it.
RECHECKS = [
    ("PUT", "/api/me/password", {"new_password": "another horse battery"}),
    ("PUT", "/api/me/duress-pin", {"duress_pin": "9999"}),
    ("POST", "/api/me/delete", {}),
]


def test_her_password_asked_again_takes_ten_tries_as_signing_in_does(cast: Cast) -> None:
    """Whoever holds her unlocked phone (a session) can't guess her password there either, to
    change it, remove her duress PIN or delete her account: every check counts, under a limit
    as tight as her sign-ins', before the password is checked."""
    mira = cast.person("Mira")
    for attempt in range(throttle.PER_ACCOUNT.hits):
        method, path, body = RECHECKS[attempt % len(RECHECKS)]
        wrong = cast.client.request(
            method, path, json={"password": f"guess {attempt}", **body}, headers=mira.auth
        )
        assert wrong.status_code == 403, (attempt, wrong.text)
    for method, path, body in RECHECKS:
        refused = cast.client.request(
            method, path, json={"password": RIGHT, **body}, headers=mira.auth
        )
        assert refused.status_code == 429, refused.text
        assert refused.headers["Retry-After"] == str(15 * 60)
        assert refused.json()["error"] == (
            "too many password attempts for this account: try again in 15 min"
        )
    page = post(cast.client, mira, "/settings/duress", "/settings", password=RIGHT, duress_pin="")
    assert page.status_code == 429
    assert page.headers["Retry-After"] == str(15 * 60)
    assert "Too many password attempts for this account" in page.text
    # Nothing changed meanwhile: after the quarter of an hour her password is the one it was,
    # and her account is there.
    cast.clock.advance(minutes=15)
    assert sign_in(cast.client, mira.email, RIGHT).status_code == 200
    assert cast.client.get("/api/me", headers=mira.auth).status_code == 200


def test_a_stranger_who_uses_up_her_sign_ins_doesnt_lock_her_settings_or_count_sign_ups(
    cast: Cast,
) -> None:
    """Knowing only her email, anyone can use up her sign-ins' limit for a quarter of an hour
    (that is what stops guessing): it doesn't lock her out of her own settings, signed in
    already, and a sign-up tried with her address is not a sign-in of hers."""
    mira = cast.person("Mira")
    for attempt in range(throttle.PER_ACCOUNT.hits):
        assert sign_in(cast.client, mira.email, f"guess {attempt}").status_code == 401
    assert sign_in(cast.client, mira.email, RIGHT).status_code == 429
    changed = cast.client.put(
        "/api/me/password",
        json={"password": RIGHT, "new_password": "another horse battery"},
        headers=mira.auth,
    )
    assert changed.status_code in (200, 204), changed.text
    cast.clock.advance(minutes=15)
    for attempt in range(throttle.PER_ACCOUNT.hits):
        tried = cast.client.post(
            "/api/signup",
            json={"email": mira.email, "name": "Eve", "password": f"a long guess {attempt}"},
        )
        assert tried.status_code in (403, 409, 422), tried.text
    assert sign_in(cast.client, mira.email, "another horse battery").status_code == 200


def test_a_stranger_who_uses_up_her_sign_ins_doesnt_lock_her_out_of_her_own_browser(
    cast: Cast,
) -> None:
    """Her phone's browser, where she signed in before, keeps a token of its own: a stranger
    who knows her email and uses up the account's sign-ins (over and over, every quarter of
    an hour) doesn't keep her out there. That browser is held to ten tries of its own, and a
    browser with a made-up token, or hers for another account, is counted with the account."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    hers = browser(cast, "198.51.100.4")
    assert tries(hers, mira.email, RIGHT) == 200
    known = hers.cookies.get("wwm_known")
    assert known
    hers.cookies.delete("wwm_session")  # her session ended (signed out, or it ran out)
    use_up(cast.client, mira.email)
    assert sign_in(cast.client, mira.email, RIGHT).status_code == 429  # the stranger: held
    assert tries(hers, mira.email, RIGHT) == 200  # she, in her browser: in
    assert hers.cookies.get("wwm_known") == known  # the same browser, kept
    # Her browser's own limit: a thief holding it guesses no more than anyone.
    cast.clock.advance(minutes=15)  # a new quarter of an hour: the stranger's count is gone
    for attempt in range(throttle.PER_ACCOUNT.hits):
        assert tries(hers, mira.email, f"guess {attempt}") == 401
    assert tries(hers, mira.email, RIGHT) == 429
    # Nor does it get ten more by trying without its cookie: its tries counted there too.
    hers.cookies.delete("wwm_known")
    assert tries(hers, mira.email, RIGHT) == 429
    # A made-up token, or hers for Noor's account, is no known browser: the account's count.
    forged = browser(cast, "192.0.2.9")
    forged.cookies.set("wwm_known", "wwk_made-up")
    assert tries(forged, mira.email, RIGHT) == 429
    forged.cookies.set("wwm_known", known)
    use_up(cast.client, noor.email)
    assert tries(forged, noor.email, RIGHT) == 429


def browser(cast: Cast, address: str) -> TestClient:
    """A browser of its own (its own cookies), at `address`."""
    return TestClient(cast.client.app, base_url=str(cast.client.base_url), client=(address, 1))


def tries(client: TestClient, email: str, password: str) -> int:
    return client.post("/api/session", json={"email": email, "password": password}).status_code


def use_up(client: TestClient, email: str) -> None:
    """A stranger's wrong guesses until the account's sign-ins are used up (some were used by
    her own sign-ins already)."""
    for attempt in range(throttle.PER_ACCOUNT.hits + 1):
        if sign_in(client, email, f"guess {attempt}").status_code == 429:
            return
    raise AssertionError("the account's sign-ins were never used up")


def test_a_stranger_behind_her_address_doesnt_lock_her_out_of_her_own_browser(
    cast: Cast,
) -> None:
    """Someone behind the same address (a campus, a household, a carrier's NAT) sprays a
    hundred sign-ins: a newcomer there is held, but Noor, in the browser she signed in on
    before, signs in to answer Mira's alarm (she was refused "from your address" for a
    quarter of an hour, again and again)."""
    noor = cast.person("Noor")
    shared = "10.9.9.9"
    hers = browser(cast, shared)
    assert tries(hers, noor.email, RIGHT) == 200
    hers.cookies.delete("wwm_session")
    for attempt in range(throttle.PER_ADDRESS.hits):
        sign_in(cast.client, f"nobody{attempt % 50}@example.org", "wrong", shared)
    cast.person("Pia")
    assert sign_in(cast.client, "pia@example.org", RIGHT, shared).status_code == 429
    assert tries(hers, noor.email, RIGHT) == 200


def channel(cast: Cast, who: Any, n: int) -> int:
    made = cast.client.post(
        "/api/channels",
        json={"kind": "webhook", "target": f"https://hooks.example.org/{who.name}/{n}"},
        headers=who.auth,
    )
    assert made.status_code == 201, made.text
    found: int = made.json()["id"]
    return found


def test_a_channel_is_tested_five_times_an_hour_and_her_channels_twenty_a_day(cast: Cast) -> None:
    """Tests send to any address she typed: without a limit, the service would flood a
    stranger's inbox (or webhook) for whoever asks, and get its mail blocked, alarms too."""
    mira = cast.person("Mira")
    first = channel(cast, mira, 0)
    for _ in range(throttle.TESTS_PER_CHANNEL.hits):
        sent = cast.client.post(f"/api/channels/{first}/test", headers=mira.auth)
        assert sent.status_code == 202, sent.text
    refused = cast.client.post(f"/api/channels/{first}/test", headers=mira.auth)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == str(60 * 60)
    assert refused.json()["error"] == "too many tests of this channel: try again in 60 min"
    tests = [a for a in cast.told(mira) if a["kind"] == "test"]
    assert len(tests) == throttle.TESTS_PER_CHANNEL.hits  # the refused one sent nothing

    # Other channels go on, up to twenty tests a day in all.
    others = [channel(cast, mira, n) for n in range(1, 5)]
    sent_today = throttle.TESTS_PER_CHANNEL.hits
    for each in others:
        for _ in range(throttle.TESTS_PER_CHANNEL.hits):
            answer = cast.client.post(f"/api/channels/{each}/test", headers=mira.auth)
            sent_today += 1
            expected = 202 if sent_today <= throttle.TESTS_PER_PERSON.hits else 429
            assert answer.status_code == expected, (sent_today, answer.text)
    cast.clock.advance(minutes=60)
    refused = cast.client.post(f"/api/channels/{first}/test", headers=mira.auth)
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("too many tests of your channels today")
    cast.clock.advance(minutes=23 * 60)
    assert cast.client.post(f"/api/channels/{first}/test", headers=mira.auth).status_code == 202


def test_a_person_has_at_most_twenty_channels(cast: Cast) -> None:
    """Twenty, and one removed makes room (its address may be added again). 422, not 409: a
    browser's page reads 409 as "this browser is a channel already"."""
    mira = cast.person("Mira")
    made = [channel(cast, mira, n) for n in range(20)]
    one_more = {"kind": "webhook", "target": "https://hooks.example.org/one-more"}
    refused = cast.client.post("/api/channels", json=one_more, headers=mira.auth)
    assert refused.status_code == 422
    assert refused.json()["error"] == (
        "you have 20 channels, the most there may be: remove one first"
    )
    assert len(cast.client.get("/api/channels", headers=mira.auth).json()) == 20
    removed = cast.client.delete(f"/api/channels/{made[0]}", headers=mira.auth)
    assert removed.status_code == 204, removed.text
    assert channel(cast, mira, 0) != made[0]  # the address she removed, added again
    refused = cast.client.post("/api/channels", json=one_more, headers=mira.auth)
    assert refused.status_code == 422
