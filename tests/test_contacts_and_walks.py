"""Contacts by consent, places, and the walker's moments: start, talk, extend, end, inside."""

from __future__ import annotations

import sqlalchemy as sa

from tests.people import HOME, PIN, START, Cast
from walkwithme.store.schema import throttles


def test_nothing_is_shared_until_the_contact_accepts(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    asked_id = cast.ask(mira, noor)
    refused = cast.client.post(
        "/api/walks",
        json={"destination": {"lat": HOME[0], "lon": HOME[1]}, "minutes": 15, "pin": PIN},
        headers=mira.auth,
    )
    assert refused.status_code == 422
    assert refused.json()["error"] == (
        "nobody would follow this walk: ask someone to be your companion first"
    )
    # Noor sees the request, and only she can answer it.
    theirs = cast.client.get("/api/contacts", headers=noor.auth).json()
    assert theirs[0]["direction"] == "asked_me"
    assert theirs[0]["person"]["name"] == "Mira"
    assert theirs[0]["state"] == "pending"
    mine = cast.client.post(f"/api/contacts/{asked_id}/accept", headers=mira.auth)
    assert mine.status_code == 404
    accepted = cast.client.post(f"/api/contacts/{asked_id}/accept", headers=noor.auth)
    assert accepted.json()["state"] == "accepted"
    # With a companion, none chosen: said so (it said "ask someone first": a review).
    none = cast.client.post(
        "/api/walks",
        json={
            "destination": {"lat": HOME[0], "lon": HOME[1]},
            "minutes": 15,
            "pin": PIN,
            "companions": [],
        },
        headers=mira.auth,
    )
    assert none.status_code == 422
    assert none.json()["error"] == (
        "nobody would follow this walk: choose at least one of your companions"
    )
    # Mira learns who she asked only now that Noor accepted.
    assert [
        c["person"]["name"] for c in cast.client.get("/api/contacts", headers=mira.auth).json()
    ] == ["Noor"]


def test_a_declined_request_can_be_asked_again_only_a_week_later(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    first = cast.ask(mira, noor)
    twice = cast.client.post("/api/contacts", json={"email": noor.email}, headers=mira.auth)
    assert twice.status_code == 202  # answered as any other: no second request is made
    assert len(cast.client.get("/api/contacts", headers=noor.auth).json()) == 1
    declined = cast.client.post(f"/api/contacts/{first}/decline", headers=noor.auth)
    assert declined.json()["state"] == "declined"
    assert cast.client.get("/api/contacts", headers=noor.auth).json() == []
    at_once = cast.client.post("/api/contacts", json={"email": noor.email}, headers=mira.auth)
    assert at_once.status_code == 202
    assert cast.client.get("/api/contacts", headers=noor.auth).json() == []  # not asked again
    cast.clock.advance(minutes=7 * 24 * 60 + 1)
    cast.ask(mira, noor)
    assert len(cast.client.get("/api/contacts", headers=noor.auth).json()) == 1


def test_asking_an_address_answers_alike_whether_it_has_an_account_or_not(cast: Cast) -> None:
    """Which addresses have accounts here is nobody's business: an unknown address, a member's,
    one asked already and one that declined this week are answered the same, byte for byte,
    and the asker's contacts show nobody until someone accepts."""
    mira, noor, pia = cast.person("Mira"), cast.person("Noor"), cast.person("Pia")
    cast.client.post(f"/api/contacts/{cast.ask(mira, pia)}/decline", headers=pia.auth)

    def ask(email: str) -> tuple[int, bytes]:
        answer = cast.client.post("/api/contacts", json={"email": email}, headers=mira.auth)
        return answer.status_code, answer.content

    answers = {
        "unknown": ask("ghost@example.org"),
        "member": ask(noor.email),
        "asked already": ask(noor.email),
        "declined this week": ask(pia.email),
    }
    assert answers["unknown"][0] == 202
    assert len(set(answers.values())) == 1, answers
    assert cast.client.get("/api/contacts", headers=mira.auth).json() == []
    stored = cast.services.db.read_sync(
        lambda c: c.exec_driver_sql("SELECT count(*) FROM contacts").scalar_one()
    )
    assert stored == 2  # Noor's request and Pia's declined one; nothing for the ghost


def test_every_request_to_be_a_contact_is_counted_and_a_flood_is_refused(cast: Cast) -> None:
    """An unknown address made no write and was answered 1.5 ms sooner than a member's: the
    timing said which addresses have accounts (an outside review). Every request is counted
    now, a write whoever the address is; and 30 a day are enough to ask one's friends."""
    mira, noor = cast.person("Mira"), cast.person("Noor")

    def counted() -> int:
        key = f"asks:{mira.id}"
        hits = cast.services.db.read_sync(
            lambda c: c.execute(sa.select(throttles.c.hits).where(throttles.c.key == key)).scalar()
        )
        return int(hits or 0)

    def ask(email: str) -> int:
        answer = cast.client.post("/api/contacts", json={"email": email}, headers=mira.auth)
        return answer.status_code

    assert ask("ghost@example.org") == 202
    assert counted() == 1  # (an unknown address: a write all the same)
    assert ask(noor.email) == 202
    assert counted() == 2
    for n in range(28):
        assert ask(f"ghost{n}@example.org") == 202
    flood = cast.client.post(
        "/api/contacts", json={"email": "one-more@example.org"}, headers=mira.auth
    )
    assert flood.status_code == 429
    assert "too many requests to be someone's contact today" in flood.json()["error"]


def test_asking_with_something_that_is_not_an_email_is_refused_by_name(cast: Cast) -> None:
    mira = cast.person("Mira")
    for email in ("", "noor", "a b@example.org"):
        bad = cast.client.post("/api/contacts", json={"email": email}, headers=mira.auth)
        assert bad.status_code == 422, email
        assert bad.json()["field"] == "email"


def test_a_bad_role_is_refused_by_name(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    bad = cast.client.post(
        "/api/contacts", json={"email": noor.email, "role": "boss"}, headers=mira.auth
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "role"


def test_a_walk_to_a_saved_place(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    place = cast.client.post(
        "/api/places",
        json={"name": "Home", "lat": HOME[0], "lon": HOME[1], "radius": 30},
        headers=mira.auth,
    ).json()
    walk = cast.start_walk(mira, destination={"place_id": place["id"]})
    assert walk["destination"]["name"] == "Home"
    assert walk["destination"]["radius"] == 30
    # About 1.1 km straight, 1.3 detour, 1.3 m/s: about 18 minutes.
    minutes = (walk["expected_at"] - walk["started_at"]) / 60_000
    assert 16 < minutes < 21


def test_someone_elses_place_is_not_a_destination(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    theirs = cast.client.post(
        "/api/places", json={"name": "Noor's", "lat": HOME[0], "lon": HOME[1]}, headers=noor.auth
    ).json()
    refused = cast.client.post(
        "/api/walks",
        json={"destination": {"place_id": theirs["id"]}, "minutes": 10, "pin": PIN},
        headers=mira.auth,
    )
    assert refused.status_code == 404


def test_one_live_walk_at_a_time(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    cast.start_walk(mira)
    second = cast.client.post(
        "/api/walks",
        json={"destination": {"lat": HOME[0], "lon": HOME[1]}, "minutes": 10, "pin": PIN},
        headers=mira.auth,
    )
    assert second.status_code == 409


def test_a_bad_walk_request_is_refused_by_name(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    for body, field in [
        ({"destination": {"lat": 95, "lon": 0}, "minutes": 10, "pin": PIN}, "lat"),
        ({"destination": {"lat": HOME[0], "lon": HOME[1]}, "minutes": 10, "pin": "12"}, "pin"),
        ({"destination": {"lat": HOME[0], "lon": HOME[1]}, "minutes": 0, "pin": PIN}, "minutes"),
        (
            {
                "destination": {"lat": HOME[0], "lon": HOME[1]},
                "minutes": 10,
                "pin": PIN,
                "companions": [9999],
            },
            "companions",
        ),
    ]:
        refused = cast.client.post("/api/walks", json=body, headers=mira.auth)
        assert refused.status_code == 422, body
        assert refused.json()["field"] == field
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []


def test_a_wrong_pin_changes_nothing_but_is_on_the_timeline(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk = cast.start_walk(mira)
    for action in ("inside", "end"):
        refused = cast.client.post(
            f"/api/walks/{walk['id']}/{action}", json={"pin": "0000"}, headers=mira.auth
        )
        assert refused.status_code == 403
        assert refused.json() == {"error": "wrong PIN", "field": "pin"}
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["state"] == (
        "active"
    )
    kinds = [e["kind"] for e in cast.events(noor, walk)]
    assert kinds == ["started", "pin_refused", "pin_refused"]


def test_extending_takes_the_pin_and_moves_the_expected_arrival(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk = cast.start_walk(mira)
    wrong = cast.client.post(
        f"/api/walks/{walk['id']}/extend", json={"pin": "1111", "minutes": 10}, headers=mira.auth
    )
    assert wrong.status_code == 403
    extended = cast.client.post(
        f"/api/walks/{walk['id']}/extend", json={"pin": PIN, "minutes": 10}, headers=mira.auth
    ).json()
    assert extended["expected_at"] == walk["expected_at"] + 10 * 60_000
    too_long = cast.client.post(
        f"/api/walks/{walk['id']}/extend", json={"pin": PIN, "minutes": 900}, headers=mira.auth
    )
    assert too_long.status_code == 422


def test_ending_early_with_a_note(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk = cast.start_walk(mira)
    ended = cast.client.post(
        f"/api/walks/{walk['id']}/end",
        json={"pin": PIN, "note": "Got a lift"},
        headers=mira.auth,
    )
    assert ended.json()["state"] == "ended"
    last = cast.events(mira, walk)[-1]
    assert (last["kind"], last["note"]) == ("ended", "Got a lift")
    again = cast.client.post(f"/api/walks/{walk['id']}/end", json={"pin": PIN}, headers=mira.auth)
    assert again.status_code == 409
    # After it, a new walk can start.
    assert cast.start_walk(mira)["state"] == "active"


def test_messages_and_quick_replies_both_ways_and_silence_is_fine(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk = cast.start_walk(mira)
    replies = cast.client.get("/api/walks/quick-replies", headers=mira.auth).json()
    assert "On my way" in replies
    said = cast.client.post(
        f"/api/walks/{walk['id']}/messages", json={"text": "Nice evening"}, headers=noor.auth
    )
    assert said.status_code == 201
    quick = cast.client.post(
        f"/api/walks/{walk['id']}/messages",
        json={"text": "All good", "quick": True},
        headers=mira.auth,
    )
    assert quick.status_code == 201
    not_quick = cast.client.post(
        f"/api/walks/{walk['id']}/messages",
        json={"text": "whatever", "quick": True},
        headers=mira.auth,
    )
    assert not_quick.status_code == 422
    empty = cast.client.post(
        f"/api/walks/{walk['id']}/messages", json={"text": "   "}, headers=mira.auth
    )
    assert empty.status_code == 422
    cast.clock.advance(minutes=15)  # a quiet stretch: nothing is raised
    talk = [
        (e["sender"]["name"], e["text"]) for e in cast.events(mira, walk) if e["kind"] == "message"
    ]
    assert talk == [("Noor", "Nice evening"), ("Mira", "All good")]
    assert [e["kind"] for e in cast.events(noor, walk)] == ["started", "message", "message"]


def test_a_flood_of_messages_is_refused_and_blank_lines_are_folded(cast: Cast) -> None:
    """One person's messages on walks: 20 a minute (a conversation), then 429 with when to
    try again, and nothing said (an outside review posted 4,000 in 21 s, burying her
    timeline). Blank lines in a row are one."""
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk = cast.start_walk(mira)
    path = f"/api/walks/{walk['id']}/messages"
    for n in range(20):
        said = cast.client.post(path, json={"text": f"{n}\n\n\n\n\nx"}, headers=noor.auth)
        assert said.status_code == 201, said.text
    refused = cast.client.post(path, json={"text": "one more"}, headers=noor.auth)
    assert refused.status_code == 429
    assert "too many messages in a minute" in refused.json()["error"]
    assert 0 < int(refused.headers["retry-after"]) <= 60
    # Hers are never held back (she may be the one in danger), nor taken from her by his.
    for _ in range(25):
        assert cast.client.post(path, json={"text": "Stop"}, headers=mira.auth).status_code == 201
    cast.clock.advance(minutes=1)
    assert cast.client.post(path, json={"text": "sorry"}, headers=noor.auth).status_code == 201
    texts = [e["text"] for e in cast.events(mira, walk) if e["kind"] == "message"]
    assert len(texts) == 46
    assert "one more" not in texts
    assert texts[0] == "0\n\nx"


def test_the_walk_list_shows_my_walks_and_the_ones_i_follow(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk = cast.start_walk(mira)
    mine = cast.client.get("/api/walks", headers=mira.auth).json()
    followed = cast.client.get("/api/walks", headers=noor.auth).json()
    assert [(w["id"], w["you_are"]) for w in mine] == [(walk["id"], "walker")]
    assert [(w["id"], w["you_are"]) for w in followed] == [(walk["id"], "companion")]
    assert followed[0]["walker"]["name"] == "Mira"
    assert "companions" not in followed[0]


def test_timer_walk_from_minutes(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    walk = cast.start_walk(mira, **{"from": None, "minutes": 25})
    assert walk["expected_at"] - walk["started_at"] == 25 * 60_000
    assert START  # the walk needs no starting point when its duration is given


def test_absurd_ids_and_cursors_are_refused_clearly(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    huge = 10**20
    for path in (
        f"/api/walks/{huge}",
        f"/api/walks/{walk['id']}/events?after={huge}",
        f"/api/walks/{walk['id']}/fixes?after=-1",
        "/api/walks/0",
    ):
        answer = cast.client.get(path, headers=mira.auth)
        assert answer.status_code == 422, path
        assert "error" in answer.json()
    bad_place = cast.client.post(
        "/api/walks",
        json={"destination": {"place_id": huge}, "minutes": 10, "pin": PIN},
        headers=noor.auth,
    )
    assert bad_place.status_code == 422
    zero_radius = cast.client.post(
        "/api/places", json={"name": "x", "lat": 60, "lon": 24, "radius": 0}, headers=mira.auth
    )
    assert zero_radius.status_code == 422
    assert zero_radius.json()["field"] == "radius"


def test_a_walks_start_is_a_real_place_however_its_arrival_is_set(cast: Cast) -> None:
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    body = {"pin": "2468", "minutes": 20, "from": {"lat": 1000, "lon": -999}}
    refused = cast.client.post("/api/walks", json=body, headers=mira.auth)
    assert (refused.status_code, refused.json()["field"]) == (422, "from")
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []


def test_contact_numbers_tell_a_stranger_nothing_of_who_has_an_account(cast: Cast) -> None:
    """Eve asks two addresses, one with an account: both answered alike. Acting on contact
    numbers told her which one made a request ("no such request for you" on her own, and she
    could withdraw it, or "can't become ended" on one she had withdrawn): every number she may
    not act on is answered alike now."""
    eve, guard = cast.person("Eve"), cast.person("Guard")
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)  # someone else's contact, among the numbers
    for email in ("ghost42@example.org", guard.email):
        asked = cast.client.post(
            "/api/contacts", json={"email": email, "role": "companion"}, headers=eve.auth
        )
        assert asked.status_code == 202, asked.text
    answers = set()
    for number in range(1, 8):
        for method, path in (
            ("POST", f"/api/contacts/{number}/accept"),
            ("POST", f"/api/contacts/{number}/decline"),
            ("DELETE", f"/api/contacts/{number}"),
        ):
            answer = cast.client.request(method, path, headers=eve.auth)
            answers.add((answer.status_code, answer.json()["error"]))
    assert answers == {(404, "no such contact")}
    # Her request still waits for Guard's answer: she could not take it back to learn of it.
    waiting = cast.client.get("/api/contacts", headers=guard.auth).json()
    assert [(c["person"]["name"], c["state"]) for c in waiting] == [("Eve", "pending")]
