"""The next walk she offers when she says she is inside, through the API on both databases:
"see you tomorrow at 20:00" becomes a time both of them are reminded of, that either can call
off, that a wrong time refuses without ending her walk, and that her duress PIN keeps from
the people it alarms. Mira lives in Helsinki, Noor keeps UTC; the clock is fake."""

from __future__ import annotations

from typing import Any

import httpx2

from tests.people import PIN, Cast, Member
from tests.test_offers import HELSINKI, HOUR, helsinki, look, look_at, offered, scene
from tests.test_walker_pages import page, post_form, text_of

DURESS = "1357"
TOMORROW_20 = {"day": "tomorrow", "time": "20:00"}


def inside(cast: Cast, mira: Member, walk: dict[str, Any], **body: Any) -> httpx2.Response:
    body = {"pin": PIN, **body}
    return cast.client.post(f"/api/walks/{walk['id']}/inside", json=body, headers=mira.auth)


def test_she_offers_the_next_walk_when_inside_and_both_are_reminded_then(cast: Cast) -> None:
    mira, noor = scene(cast, helsinki(2026, 5, 28, 22, 30))
    walk = cast.start_walk(mira)
    done = inside(cast, mira, walk, note="See you tomorrow", next=TOMORROW_20)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "safe"
    promised = helsinki(2026, 5, 29, 20, 0)
    # Noor hears it at once, in his own zone, beside her last word.
    [told] = cast.told(noor, "next_walk")
    assert (told["by"]["name"], told["promised_at"], told["when"]) == (
        "Mira",
        promised,
        "Fri 29 May 17:00",
    )
    assert HELSINKI not in str(told)
    [his] = cast.offers(noor)["next_walks"]
    [hers] = cast.offers(mira)["next_walks"]
    assert (his["at"], his["made_by_me"], his["with"]["name"]) == (promised, False, "Mira")
    assert (hers["at"], hers["made_by_me"], hers["with"]["name"]) == (promised, True, "Noor")
    # Not an offer he made, nor one she has to answer.
    assert cast.offers(noor)["sent"] == []
    assert cast.offers(mira)["received"] == []
    assert look_at(cast, promised - 1000) == []
    assert look_at(cast, promised) == ["reminder"]
    assert look(cast) == []
    [to_her], [to_him] = cast.told(mira, "offer_reminder"), cast.told(noor, "offer_reminder")
    assert (to_her["by"]["name"], to_her["when"]) == ("Noor", "Fri 29 May 20:00")
    assert (to_him["by"]["name"], to_him["when"]) == ("Mira", "Fri 29 May 17:00")
    assert cast.offers(noor)["next_walks"] == cast.offers(mira)["next_walks"] == []


def test_a_next_walk_is_no_offer_of_his_and_either_of_them_calls_it_off(cast: Cast) -> None:
    mira, noor = scene(cast, helsinki(2026, 5, 28, 22, 30))
    assert inside(cast, mira, cast.start_walk(mira), next=TOMORROW_20).status_code == 200
    # His offers of the day are his own: three, each withdrawn, none refused for hers.
    for _ in range(3):
        offer = offered(cast, noor, mira)
        withdrawn = cast.client.post(f"/api/offers/{offer['id']}/withdraw", headers=noor.auth)
        assert withdrawn.status_code == 200, withdrawn.text
    [his] = cast.offers(noor)["next_walks"]
    off = cast.client.delete(f"/api/offers/{his['id']}/reminder", headers=noor.auth)
    assert off.status_code == 204, off.text
    assert cast.offers(mira)["next_walks"] == []
    assert look_at(cast, helsinki(2026, 5, 29, 20, 0)) == []
    assert cast.told(mira, "offer_reminder") == cast.told(noor, "offer_reminder") == []


def test_a_wrong_next_walk_time_is_refused_by_name_and_her_walk_goes_on(cast: Cast) -> None:
    mira, noor = scene(cast, helsinki(2026, 5, 28, 22, 30))
    walk = cast.start_walk(mira)
    for wrong, field in (
        ({"day": "tomorrow", "time": "25:00"}, "next.time"),
        ({"day": "someday", "time": "20:00"}, "next.day"),
        ({"day": "2026-07-30", "time": "20:00"}, "next"),  # beyond the next 14 days
    ):
        refused = inside(cast, mira, walk, next=wrong)
        assert (refused.status_code, refused.json()["field"]) == (422, field), refused.text
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["state"] == "active"
    assert cast.told(noor, "inside") == []
    assert cast.offers(noor)["next_walks"] == []


def test_after_her_duress_pin_the_next_walk_is_kept_as_told_but_not_said_to_them(
    cast: Cast,
) -> None:
    """Made to say she is inside with her duress PIN: her devices see the next walk kept, as
    after her PIN; Noor hears the silent alarm, not an invitation that would say all is well."""
    mira, noor = scene(cast, helsinki(2026, 5, 28, 22, 30))
    walk = cast.start_walk(mira, duress_pin=DURESS)
    done = inside(cast, mira, walk, pin=DURESS, next=TOMORROW_20)
    assert done.status_code == 200, done.text
    assert done.json()["state"] == "safe"
    assert [n["with"]["name"] for n in cast.offers(mira)["next_walks"]] == ["Noor"]
    assert cast.told(noor, "next_walk") == []
    assert [a["kind"] for a in cast.told(noor)].count("alarm") == 1
    # Nor on his pages while the alarm is on.
    assert cast.offers(noor)["next_walks"] == []
    assert "walk together again" not in text_of(page(cast.client, "/", noor).text)
    found = cast.client.post(
        f"/api/walks/{walk['id']}/resolve", json={"note": "found her"}, headers=noor.auth
    )
    assert found.status_code == 200, found.text
    assert [n["with"]["name"] for n in cast.offers(noor)["next_walks"]] == ["Mira"]
    assert "reminder" in look_at(cast, helsinki(2026, 5, 29, 20, 0) + HOUR)


def test_his_offers_page_says_her_next_walk_and_he_calls_its_reminder_off_there(
    cast: Cast,
) -> None:
    mira, noor = scene(cast, helsinki(2026, 5, 28, 22, 30))
    walk = cast.start_walk(mira)
    assert inside(cast, mira, walk, next=TOMORROW_20).status_code == 200
    said = "Mira would like to walk together again: tomorrow at 17:00. You will both be reminded"
    assert said in text_of(page(cast.client, "/offers", noor).text)
    assert said in text_of(page(cast.client, "/", noor).text)
    assert said in text_of(page(cast.client, f"/walks/{walk['id']}", noor).text)  # walk over
    [his] = cast.offers(noor)["next_walks"]
    off = post_form(cast, noor, f"/offers/{his['id']}/reminder/cancel")
    assert off.status_code == 303
    assert "walk together again" not in text_of(page(cast.client, "/offers", noor).text)
    assert cast.offers(mira)["next_walks"] == []


def test_at_its_time_both_homes_say_it_then_that_it_was_and_nothing_once_she_walks(
    cast: Cast,
) -> None:
    """ "It's time" is said at the promised time; hours later it read as if it were still
    (a walkthrough): past half an hour it says "It was time", and once she starts a walk
    around its time, the promise is kept and neither home says it any more."""
    mira, noor = scene(cast, helsinki(2026, 5, 28, 22, 30))
    assert inside(cast, mira, cast.start_walk(mira), next=TOMORROW_20).status_code == 200
    promised = helsinki(2026, 5, 29, 20, 0)
    assert look_at(cast, promised) == ["reminder"]
    # In the words it was made with: an invitation, not a promise (a walkthrough).
    homes = (
        (mira, "You asked Noor to walk with you again"),
        (noor, "Mira would like to walk together again"),
    )
    for who, sentence in homes:
        assert f"It's time. {sentence}" in text_of(page(cast.client, "/", who).text)
    cast.clock.set(promised + HOUR)
    for who, sentence in homes:
        shown = text_of(page(cast.client, "/", who).text)
        assert f"It was time. {sentence}" in shown
        assert "It's time" not in shown
    # A walk with Otto alone keeps nothing of theirs: Noor is not to learn of it.
    otto = cast.person("Otto")
    cast.link(mira, otto)
    with_otto = cast.start_walk(mira, companions=[otto.id])
    assert "It was time. Mira would like" in text_of(page(cast.client, "/", noor).text)
    assert inside(cast, mira, with_otto).status_code == 200
    cast.start_walk(mira)  # with Noor
    for who, sentence in homes:
        assert sentence not in text_of(page(cast.client, "/", who).text)


def test_a_promise_is_not_said_to_someone_who_no_longer_follows_her(cast: Cast) -> None:
    mira, noor = scene(cast, helsinki(2026, 5, 28, 22, 30))
    assert inside(cast, mira, cast.start_walk(mira), next=TOMORROW_20).status_code == 200
    assert look_at(cast, helsinki(2026, 5, 29, 20, 0)) == ["reminder"]
    assert "It's time. Mira would like" in text_of(page(cast.client, "/", noor).text)
    [contact] = [
        c
        for c in cast.client.get("/api/contacts", headers=mira.auth).json()
        if c["person"]["id"] == noor.id
    ]
    ended = cast.client.delete(f"/api/contacts/{contact['id']}", headers=mira.auth)
    assert ended.status_code == 204
    assert "It's time" not in text_of(page(cast.client, "/", noor).text)


def test_her_alarm_on_a_walk_he_does_not_follow_hides_nothing_from_him(cast: Cast) -> None:
    """Her next walk with Noor stays on his pages while she is in an alarm on a walk with
    Otto alone: its hiding would tell Noor of an alarm he is not told of (an outside
    attacker's probe, with her duress PIN on Otto's walk)."""
    mira, noor = scene(cast, helsinki(2026, 5, 28, 22, 30))
    otto = cast.person("Otto")
    cast.link(mira, otto)
    assert inside(cast, mira, cast.start_walk(mira), next=TOMORROW_20).status_code == 200
    with_otto = cast.start_walk(mira, companions=[otto.id], duress_pin=DURESS)
    assert inside(cast, mira, with_otto, pin=DURESS).status_code == 200
    assert cast.client.get(f"/api/walks/{with_otto['id']}", headers=otto.auth).json()["state"] == (
        "alarm"
    )
    assert [n["with"]["name"] for n in cast.offers(noor)["next_walks"]] == ["Mira"]
    assert "walk together again" in text_of(page(cast.client, "/", noor).text)


def test_a_next_walk_soon_after_is_not_kept_by_the_walk_it_ends(cast: Cast) -> None:
    """Inside at 20:45 from a walk started at 20:35, "today at 21:00": that walk began within
    half an hour of its time, but it is the one the promise was made at the end of (a review
    of the change)."""
    mira, noor = scene(cast, helsinki(2026, 5, 28, 20, 35))
    walk = cast.start_walk(mira)
    cast.clock.advance(minutes=10)
    assert inside(cast, mira, walk, next={"day": "today", "time": "21:00"}).status_code == 200
    assert look_at(cast, helsinki(2026, 5, 28, 21, 0)) == ["reminder"]
    said = "It's time. Mira would like to walk together again"
    assert said in text_of(page(cast.client, "/", noor).text)


def test_its_time_is_not_said_to_him_beside_her_silent_alarm(cast: Cast) -> None:
    """Made to offer the next walk with her duress PIN, soon: at its time, his home page
    says nothing of it beside the alarm he is told of (a review of the change)."""
    mira, noor = scene(cast, helsinki(2026, 5, 28, 20, 35))
    walk = cast.start_walk(mira, duress_pin=DURESS)
    done = inside(cast, mira, walk, pin=DURESS, next={"day": "today", "time": "21:00"})
    assert done.status_code == 200, done.text
    look_at(cast, helsinki(2026, 5, 28, 21, 0))
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()["state"] == (
        "alarm"
    )
    assert "Mira would like" not in text_of(page(cast.client, "/", noor).text)
    assert "You asked Noor" in text_of(page(cast.client, "/", mira).text)  # hers, as after her PIN
