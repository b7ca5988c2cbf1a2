"""Offers through the API, on both databases: a companion offers to walk Mira home; she
accepts, declines with a note and a promise, mutes or blocks; recurring offers; reminders and
occurrences fired by the watchdog at local times, across both daylight-saving changes.

Mira lives in Helsinki; Noor, her companion, keeps UTC; Sam is a stranger. The clock is fake:
tests set it and ask the watchdog to look (`tick_sync`), as its loop would. Nothing sleeps.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import pytest
import sqlalchemy as sa

from tests.conftest import make_services
from tests.people import HOME, PIN, START, Cast, Member
from tests.service import WWM, cli
from tests.test_pages import page, text_of
from walkwithme.api.metrics import Snapshot
from walkwithme.clock import FakeClock
from walkwithme.config import load_config
from walkwithme.domain.offers import wall_time
from walkwithme.services import build_services
from walkwithme.store.schema import offer_series, offers, people
from walkwithme.usecases import accounts, contacts, offer_times, walk_store
from walkwithme.usecases import offers as offers_usecase

HELSINKI = "Europe/Helsinki"
MINUTE = 60_000
HOUR = 60 * MINUTE


def helsinki(y: int, m: int, d: int, hh: int, mm: int = 0, *, fold: int = 0) -> int:
    return int(datetime(y, m, d, hh, mm, tzinfo=ZoneInfo(HELSINKI), fold=fold).timestamp() * 1000)


def shown(at_ms: int) -> str:
    """How Helsinki's clocks showed an instant."""
    return f"{wall_time(at_ms, HELSINKI):%a %Y-%m-%d %H:%M}"


def days_later(cast: Cast, days: int, *who: Member) -> list[Member]:
    """Move the clock on by `days`; sign `who` in again (a sign-in lasts 30 days)."""
    cast.clock.advance(minutes=days * 24 * 60)

    def sign_in(member: Member) -> Member:
        token = cast.services.writer.run_sync(lambda tx: accounts.open_session(tx, member.id, 30))
        return replace(member, token=token)

    return [sign_in(m) for m in who]


def look(cast: Cast) -> list[str]:
    return cast.services.watchdog.tick_sync()


def look_at(cast: Cast, at_ms: int) -> list[str]:
    cast.clock.set(at_ms)
    return look(cast)


def scene(cast: Cast, at: int | None = None) -> tuple[Member, Member]:
    """Mira (Helsinki) with Noor as her companion; both have a channel. `at`: when (sign-ins
    last 30 days, so a scene in October starts in October)."""
    if at is not None:
        cast.clock.set(at)
    mira, noor = cast.person("Mira"), cast.person("Noor")
    cast.link(mira, noor)
    for who in (mira, noor):
        cast.channel(who)
    profile = {"timezone": HELSINKI, "phone": "+358 40 123 4567"}
    assert cast.client.patch("/api/me", json=profile, headers=mira.auth).status_code == 200
    return mira, noor


def offered(cast: Cast, by: Member, to: Member, **body: Any) -> dict[str, Any]:
    answer = cast.offer(by, to, **body)
    assert answer.status_code == 201, answer.text
    found: dict[str, Any] = answer.json()
    return found


def decline(cast: Cast, mira: Member, offer_id: int, **body: Any) -> httpx2.Response:
    return cast.client.post(f"/api/offers/{offer_id}/decline", json=body, headers=mira.auth)


def accept(cast: Cast, mira: Member, offer_id: int, **body: Any) -> httpx2.Response:
    walk = {
        "destination": {"lat": HOME[0], "lon": HOME[1], "name": "home"},
        "from": {"lat": START[0], "lon": START[1]},
        "pin": PIN,
        **body,
    }
    return cast.client.post(f"/api/offers/{offer_id}/accept", json=walk, headers=mira.auth)


def pending(cast: Cast, mira: Member) -> list[dict[str, Any]]:
    return [o for o in cast.offers(mira)["received"] if o["state"] == "pending"]


# -- time zones --------------------------------------------------------------------------------


def test_a_person_sets_her_time_zone_and_a_wrong_one_is_refused_by_name(cast: Cast) -> None:
    mira = cast.person("Mira")
    assert cast.client.get("/api/me", headers=mira.auth).json()["timezone"] == "UTC"
    wrong = cast.client.patch("/api/me", json={"timezone": "Europe/Atlantis"}, headers=mira.auth)
    assert (wrong.status_code, wrong.json()["field"]) == (422, "timezone")
    assert cast.client.get("/api/me", headers=mira.auth).json()["timezone"] == "UTC"
    right = cast.client.patch("/api/me", json={"timezone": HELSINKI}, headers=mira.auth)
    assert right.json()["timezone"] == HELSINKI


# -- who may offer -----------------------------------------------------------------------------


def test_only_her_accepted_companions_can_offer(cast: Cast) -> None:
    mira, noor = scene(cast)
    sam, gus, pia = cast.person("Sam"), cast.person("Gus"), cast.person("Pia")
    cast.link(mira, gus, "guardian")
    asked = cast.client.post("/api/contacts", json={"email": pia.email}, headers=mira.auth)
    assert asked.status_code == 202  # asked, not accepted yet
    nobody = cast.offer(sam, mira).json()
    for who in (sam, gus, pia):
        refused = cast.offer(who, mira)
        assert (refused.status_code, refused.json()) == (404, nobody)
    assert nobody["field"] == "walker"
    ghost = cast.client.post("/api/offers", json={"walker": 999_999}, headers=sam.auth)
    assert (ghost.status_code, ghost.json()) == (404, nobody)
    backwards = cast.offer(mira, noor)  # Noor follows Mira, not the other way round
    assert (backwards.status_code, backwards.json()) == (404, nobody)
    assert pending(cast, mira) == []
    assert offered(cast, noor, mira)["state"] == "pending"


def test_the_walker_sees_the_offer_and_is_told_only_who_and_when(cast: Cast) -> None:
    mira, noor = scene(cast)
    cast.clock.set(helsinki(2026, 5, 28, 21, 0))
    now = offered(cast, noor, mira)
    assert (now["to"], now["state"]) == ({"id": mira.id, "name": "Mira"}, "pending")
    [seen] = pending(cast, mira)
    assert (seen["id"], seen["from"]["name"], seen["at"]) == (now["id"], "Noor", now["at"])
    [alert] = cast.told(mira, "offer")
    assert alert["by"] == {"name": "Noor"}
    assert set(alert) == {"kind", "at", "by", "offer_id", "when", "for_at", "key", "link_path"}
    assert noor.email not in json.dumps(alert)
    assert cast.told(noor) == []
    assert cast.offers(noor)["received"] == []


def test_an_offer_for_a_later_time_is_in_her_local_time(cast: Cast) -> None:
    mira, noor = scene(cast)
    cast.clock.set(helsinki(2026, 5, 28, 12, 0))
    later = offered(cast, noor, mira, at={"day": "tomorrow", "time": "21:30"})
    assert later["at"] == helsinki(2026, 5, 29, 21, 30)
    assert later["expires_at"] == later["at"] + 2 * HOUR
    assert cast.told(mira, "offer")[0]["when"] == " at Fri 29 May 21:30"
    cast.clock.set(later["expires_at"])
    assert pending(cast, mira) == []
    assert cast.offers(noor)["sent"][0]["state"] == "expired"


# -- accepting ---------------------------------------------------------------------------------


def test_accepting_starts_a_walk_in_her_zone_followed_by_the_one_who_offered(cast: Cast) -> None:
    mira, noor = scene(cast)
    otto = cast.person("Otto")
    cast.link(mira, otto)  # another companion: not on this walk unless she chooses him
    offer = offered(cast, noor, mira)
    started = accept(cast, mira, offer["id"])
    assert started.status_code == 201, started.text
    walk = started.json()
    assert (walk["state"], walk["offer_id"]) == ("active", offer["id"])
    assert walk["companions"] == [{"id": noor.id, "name": "Noor"}]
    stored = cast.services.db.read_sync(lambda c: walk_store.get_walk(c, walk["id"]))
    assert stored is not None
    assert stored.timezone == HELSINKI
    followed = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert followed["you_are"] == "companion"
    assert cast.client.get(f"/api/walks/{walk['id']}", headers=otto.auth).status_code == 404
    [sent] = cast.offers(noor)["sent"]
    assert (sent["state"], sent["walk_id"]) == ("accepted", walk["id"])
    assert [a["kind"] for a in cast.told(noor)] == ["started"]
    again = accept(cast, mira, offer["id"])
    assert (again.status_code, again.json()["error"]) == (409, "this offer is accepted")


def test_a_bad_accept_changes_nothing(cast: Cast) -> None:
    mira, noor = scene(cast)
    offer = offered(cast, noor, mira)
    bad: list[tuple[dict[str, Any], str]] = [
        ({"pin": "12"}, "pin"),
        ({"minutes": 0, "from": None, "destination": None}, "minutes"),
        ({"companions": [999]}, "companions"),
    ]
    for body, field in bad:
        refused = accept(cast, mira, offer["id"], **body)
        assert (refused.status_code, refused.json()["field"]) == (422, field), refused.text
    assert [o["id"] for o in pending(cast, mira)] == [offer["id"]]
    assert cast.client.get("/api/walks", headers=mira.auth).json() == []
    someone_else = accept(cast, noor, offer["id"])
    assert someone_else.status_code == 404


# -- declining, promising, reminding -----------------------------------------------------------


def test_a_decline_with_a_note_and_a_promise_reminds_both_at_her_local_time_once(
    cast: Cast,
) -> None:
    mira, noor = scene(cast)
    cast.clock.set(helsinki(2026, 5, 28, 21, 0))
    offer = offered(cast, noor, mira)
    promise = {"day": "tomorrow", "time": "20:00"}
    declined = decline(cast, mira, offer["id"], note="Not tonight, thank you", promise=promise)
    assert declined.status_code == 200, declined.text
    promised = helsinki(2026, 5, 29, 20, 0)
    assert declined.json()["reminder_at"] == promised
    # Noor hears at once: her note, and the promised time in his own zone (UTC).
    [told] = cast.told(noor, "offer_declined")
    assert (told["note"], told["promised_at"]) == ("Not tonight, thank you", promised)
    assert told["when"] == "Fri 29 May 17:00"
    assert HELSINKI not in json.dumps(told)
    assert "+358" not in json.dumps(told)
    [sent] = cast.offers(noor)["sent"]
    assert (sent["state"], sent["note"], sent["promise_at"]) == ("declined", told["note"], promised)
    assert look_at(cast, promised - 1000) == []
    assert look_at(cast, promised) == ["reminder"]
    assert look(cast) == []
    assert look_at(cast, promised + HOUR) == []
    [hers], [his] = cast.told(mira, "offer_reminder"), cast.told(noor, "offer_reminder")
    assert (hers["by"]["name"], hers["when"]) == ("Noor", "Fri 29 May 20:00")
    assert (his["by"]["name"], his["when"]) == ("Mira", "Fri 29 May 17:00")


@pytest.mark.parametrize(
    ("saturday", "reminders"),
    [
        # Spring: 03:30 doesn't exist that night, so the first valid time after it; 20:00 is
        # 17:00 UTC, no longer 18:00.
        (
            (2026, 3, 28),
            [("03:30", "Sun 2026-03-29 04:00", 1), ("20:00", "Sun 2026-03-29 20:00", 17)],
        ),
        # Autumn: 03:30 happens twice that night, so the first (summer time, 00:30 UTC); 20:00
        # is 18:00 UTC, no longer 17:00.
        (
            (2026, 10, 24),
            [("03:30", "Sun 2026-10-25 03:30", 0), ("20:00", "Sun 2026-10-25 20:00", 18)],
        ),
    ],
    ids=["spring", "autumn"],
)
def test_tomorrow_at_a_time_across_a_daylight_saving_change(
    cast: Cast, saturday: tuple[int, int, int], reminders: list[tuple[str, str, int]]
) -> None:
    cast.clock.set(helsinki(*saturday, 21))
    mira = cast.person("Mira")
    cast.channel(mira)
    cast.client.patch("/api/me", json={"timezone": HELSINKI}, headers=mira.auth)
    promised = []
    for name, (time, _shown, _utc_hour) in zip(("Noor", "Otto"), reminders, strict=True):
        companion = cast.person(name)
        cast.link(mira, companion)
        offer = offered(cast, companion, mira)
        answer = decline(cast, mira, offer["id"], promise={"day": "tomorrow", "time": time})
        promised.append(answer.json()["reminder_at"])
    for at, (_time, expected, utc_hour) in zip(promised, reminders, strict=True):
        assert shown(at) == expected
        assert datetime.fromtimestamp(at / 1000, ZoneInfo("UTC")).hour == utc_hour
        assert look_at(cast, at - 1000) == []
        assert look_at(cast, at) == ["reminder"]
        assert look(cast) == []
    if saturday[1] == 10:  # the repeated hour passes without a second reminder
        assert look_at(cast, helsinki(2026, 10, 25, 3, 30, fold=1)) == []
    assert [r["promised_at"] for r in cast.told(mira, "offer_reminder")] == promised


def test_bad_input_is_refused_by_name_and_changes_nothing(cast: Cast) -> None:
    mira, noor = scene(cast)
    cast.clock.set(helsinki(2026, 5, 28, 21, 0))
    offer = offered(cast, noor, mira)
    bad_declines: list[tuple[dict[str, Any], str]] = [
        ({"promise": {"day": "tomorrow", "time": "25:00"}}, "promise.time"),
        ({"promise": {"day": "someday", "time": "20:00"}}, "promise.day"),
        ({"promise": {"day": "today", "time": "08:00"}}, "promise"),  # gone by
        ({"promise": {"day": "2026-08-01", "time": "20:00"}}, "promise"),  # too far
        ({"promise": {"day": "tomorrow"}}, "promise.time"),
        ({"note": "x" * 501}, "note"),
    ]
    for body, field in bad_declines:
        refused = decline(cast, mira, offer["id"], **body)
        assert (refused.status_code, refused.json().get("field")) == (422, field), body
    bad_offers: list[tuple[dict[str, Any], str]] = [
        ({"walker": "Mira"}, "walker"),
        ({"at": {"day": "tomorrow", "time": "noon"}}, "at.time"),
        ({"repeat": {"days": "fortnightly", "time": "22:00"}}, "repeat.days"),
        ({"repeat": {"days": ["mon", "funday"], "time": "22:00"}}, "repeat.days"),
        ({"repeat": {"days": [], "time": "22:00"}}, "repeat.days"),
        (
            {"at": {"day": "today", "time": "23:00"}, "repeat": {"days": "daily", "time": "22:00"}},
            "repeat",
        ),
    ]
    for body, field in bad_offers:
        refused = cast.client.post(
            "/api/offers", json={"walker": mira.id, **body}, headers=noor.auth
        )
        assert (refused.status_code, refused.json()["field"]) == (422, field), body
    mute = cast.client.put(f"/api/offers/mutes/{noor.id}", json={"hours": 0}, headers=mira.auth)
    assert (mute.status_code, mute.json()["field"]) == (422, "hours")
    assert [o["id"] for o in pending(cast, mira)] == [offer["id"]]
    assert cast.told(noor) == []
    assert [a["kind"] for a in cast.told(mira)] == ["offer"]
    assert cast.client.get("/api/offers/silenced", headers=mira.auth).json() == []


# -- never harassment --------------------------------------------------------------------------


def test_after_a_decline_no_new_offer_for_12_hours(cast: Cast) -> None:
    mira, noor = scene(cast)
    first = offered(cast, noor, mira)
    assert decline(cast, mira, first["id"]).status_code == 200
    declined_at = cast.clock.now_ms()
    cast.clock.set(declined_at + 12 * HOUR - 1000)
    early = cast.offer(noor, mira)
    assert (early.status_code, early.json()["field"]) == (409, "walker")
    assert "declined your last offer" in early.json()["error"]
    cast.clock.set(declined_at + 12 * HOUR)
    offered(cast, noor, mira)
    assert len(cast.told(mira, "offer")) == 2


def test_a_promise_sets_when_he_may_offer_again_instead(cast: Cast) -> None:
    mira, noor = scene(cast)
    cast.clock.set(helsinki(2026, 5, 28, 21, 0))
    first = offered(cast, noor, mira)
    promise = {"day": "today", "time": "23:00"}  # sooner than 12 hours
    assert decline(cast, mira, first["id"], promise=promise).status_code == 200
    cast.clock.set(helsinki(2026, 5, 28, 22, 59))
    assert cast.offer(noor, mira).status_code == 409
    cast.clock.set(helsinki(2026, 5, 28, 23, 0))
    second = offered(cast, noor, mira)
    promise = {"day": "2026-05-31", "time": "20:00"}  # later than 12 hours
    assert decline(cast, mira, second["id"], promise=promise).status_code == 200
    cast.clock.set(helsinki(2026, 5, 30, 20, 0))
    assert cast.offer(noor, mira).status_code == 409
    cast.clock.set(helsinki(2026, 5, 31, 20, 0))
    offered(cast, noor, mira)


def test_one_open_offer_at_a_time_and_three_a_day(cast: Cast) -> None:
    mira, noor = scene(cast)
    first = offered(cast, noor, mira)
    twice = cast.offer(noor, mira)
    assert (twice.status_code, twice.json()["field"]) == (409, "walker")
    assert twice.json()["error"] == "Mira has an offer of yours waiting for an answer already"
    for _ in range(2):
        assert (
            cast.client.post(f"/api/offers/{first['id']}/withdraw", headers=noor.auth).json()[
                "state"
            ]
            == "withdrawn"
        )
        cast.clock.advance(minutes=5)
        first = offered(cast, noor, mira)
    cast.client.post(f"/api/offers/{first['id']}/withdraw", headers=noor.auth)
    fourth = cast.offer(noor, mira)
    assert (fourth.status_code, fourth.json()["error"]) == (
        409,
        "at most 3 offers a day to the same person",
    )
    cast.clock.advance(minutes=24 * 60)
    offered(cast, noor, mira)


def test_a_mute_for_a_while_holds_his_offers_quietly_then_ends(cast: Cast) -> None:
    mira, noor = scene(cast)
    before = offered(cast, noor, mira)  # made before the mute: hidden from her while it lasts
    muted = cast.client.put(f"/api/offers/mutes/{noor.id}", json={"hours": 3}, headers=mira.auth)
    assert muted.status_code == 200, muted.text
    assert (muted.json()["kind"], muted.json()["until"]) == ("mute", cast.clock.now_ms() + 3 * HOUR)
    assert pending(cast, mira) == []
    assert accept(cast, mira, before["id"]).status_code == 404
    cast.clock.advance(minutes=121)  # his earlier offer has lapsed
    # His offer while she muted him is answered as any other: a refusal of its own told him
    # he was muted (and, trying again, when it ended). She is not told and never sees it.
    during = offered(cast, noor, mira)
    assert during["state"] == "pending"
    assert len(cast.told(mira, "offer")) == 1
    assert pending(cast, mira) == []
    assert accept(cast, mira, during["id"]).status_code == 404
    cast.clock.advance(minutes=121)  # it lapses, as an offer she doesn't answer does
    [mine] = [o for o in cast.offers(noor)["sent"] if o["id"] == during["id"]]
    assert mine["state"] == "expired"
    assert cast.client.get("/api/offers/silenced", headers=mira.auth).json() == []
    offered(cast, noor, mira)
    assert len(cast.told(mira, "offer")) == 2


def test_a_mute_for_good_and_a_block_look_alike_to_him_and_last_until_lifted(cast: Cast) -> None:
    mira, noor = scene(cast)
    assert (
        cast.client.put(f"/api/offers/mutes/{noor.id}", headers=mira.auth).json()["until"] is None
    )
    mira, noor = days_later(cast, 100, mira, noor)
    muted = offered(cast, noor, mira, at={"day": "tomorrow", "time": "20:00"})
    cast.client.post(f"/api/offers/{muted['id']}/withdraw", headers=noor.auth)
    assert cast.client.put(f"/api/offers/blocks/{noor.id}", headers=mira.auth).status_code == 200
    blocked = offered(cast, noor, mira, at={"day": "tomorrow", "time": "20:00"})
    cast.client.post(f"/api/offers/{blocked['id']}/withdraw", headers=noor.auth)
    same = ("id", "created_at")  # he is answered alike: as a delivered offer, both times
    assert {k: v for k, v in muted.items() if k not in same} == {
        k: v for k, v in blocked.items() if k not in same
    }
    [listed] = cast.client.get("/api/offers/silenced", headers=mira.auth).json()
    assert (listed["person"]["name"], listed["kind"], listed["until"]) == ("Noor", "block", None)
    unmute = cast.client.delete(f"/api/offers/mutes/{noor.id}", headers=mira.auth)
    assert unmute.status_code == 404  # unmuting doesn't lift a block
    mira, noor = days_later(cast, 365, mira, noor)
    still = offered(cast, noor, mira)  # a year on, still held: she is not told
    assert pending(cast, mira) == []
    cast.client.post(f"/api/offers/{still['id']}/withdraw", headers=noor.auth)
    every = offered(cast, noor, mira, repeat={"days": "daily", "time": "22:00"})
    assert every["state"] == "active"  # as any recurring offer; she is not told of it either
    assert cast.offers(mira)["recurring"] == []  # nor shown it
    cast.client.post(f"/api/offers/recurring/{every['id']}/stop", headers=noor.auth)
    assert cast.client.delete(f"/api/offers/blocks/{noor.id}", headers=mira.auth).status_code == 204
    again = cast.client.delete(f"/api/offers/blocks/{noor.id}", headers=mira.auth)
    assert (again.status_code, again.json()["error"]) == (404, "this person is not blocked")
    offered(cast, noor, mira)
    assert len(cast.told(mira, "offer")) == 1
    sam = cast.person("Sam")
    stranger = cast.client.put(f"/api/offers/blocks/{sam.id}", headers=mira.auth)
    assert (stranger.status_code, stranger.json()["field"]) == (404, "person")
    # Asked to be her companion, not yet accepted: the same, else muting him would name him
    # and tell her he has an account here (which asking never tells).
    asked = cast.client.post("/api/contacts", json={"email": sam.email}, headers=mira.auth)
    assert asked.status_code == 202, asked.text
    for kind in ("mutes", "blocks"):
        only_asked = cast.client.put(f"/api/offers/{kind}/{sam.id}", headers=mira.auth)
        assert (only_asked.status_code, only_asked.json()) == (
            stranger.status_code,
            stranger.json(),
        )


def test_a_block_silences_the_reminder_of_her_promise(cast: Cast) -> None:
    mira, noor = scene(cast)
    offer = offered(cast, noor, mira)
    answer = decline(cast, mira, offer["id"], promise={"day": "tomorrow", "time": "20:00"})
    cast.client.put(f"/api/offers/blocks/{noor.id}", headers=mira.auth)
    assert look_at(cast, answer.json()["reminder_at"]) == ["reminder_held"]
    assert cast.told(mira, "offer_reminder") == cast.told(noor, "offer_reminder") == []


def test_ending_the_contact_hides_his_offers_and_silences_reminders(cast: Cast) -> None:
    mira, noor = scene(cast)
    offer = offered(cast, noor, mira)
    answer = decline(cast, mira, offer["id"], promise={"day": "tomorrow", "time": "20:00"})
    cast.clock.advance(minutes=1)
    [promise] = cast.offers(mira)["received"]
    assert (promise["state"], promise["reminder_at"]) == ("declined", answer.json()["reminder_at"])
    contact = cast.client.get("/api/contacts", headers=mira.auth).json()[0]
    ended = cast.client.delete(f"/api/contacts/{contact['id']}", headers=mira.auth)
    assert ended.status_code == 204
    assert cast.offers(mira)["received"] == []
    assert look_at(cast, answer.json()["reminder_at"]) == ["reminder_held"]
    assert cast.told(noor, "offer_reminder") == []


def test_either_side_calls_off_a_reminder(cast: Cast) -> None:
    mira, noor = scene(cast)
    offer = offered(cast, noor, mira)
    answer = decline(cast, mira, offer["id"], promise={"day": "tomorrow", "time": "20:00"})
    sam = cast.person("Sam")
    assert (
        cast.client.delete(f"/api/offers/{offer['id']}/reminder", headers=sam.auth).status_code
        == 404
    )
    assert (
        cast.client.delete(f"/api/offers/{offer['id']}/reminder", headers=noor.auth).status_code
        == 204
    )
    assert look_at(cast, answer.json()["reminder_at"]) == []
    assert cast.told(mira, "offer_reminder") == []


# -- recurring offers --------------------------------------------------------------------------


def recurring(cast: Cast, noor: Member, mira: Member, days: Any, time: str) -> dict[str, Any]:
    return offered(cast, noor, mira, repeat={"days": days, "time": time})


def occurrences(cast: Cast, mira: Member) -> list[str]:
    return [shown(a["for_at"]) for a in cast.told(mira, "offer") if "for_at" in a]


@pytest.mark.parametrize(
    ("friday", "monday_utc_hour"),
    [((2026, 3, 27), 19), ((2026, 10, 23), 20)],
    ids=["spring", "autumn"],
)
def test_every_weekday_at_22_across_a_daylight_saving_change(
    cast: Cast, friday: tuple[int, int, int], monday_utc_hour: int
) -> None:
    mira, noor = scene(cast, helsinki(*friday, 12))
    series = recurring(cast, noor, mira, "weekdays", "22:00")
    assert (series["days"], series["time"]) == (["mon", "tue", "wed", "thu", "fri"], "22:00")
    assert shown(series["next_at"]) == f"Fri {friday[0]}-{friday[1]:02d}-{friday[2]:02d} 22:00"
    assert look_at(cast, series["next_at"] - 1000) == []
    assert look_at(cast, series["next_at"]) == ["offer"]
    [first] = pending(cast, mira)
    assert (first["series_id"], first["at"]) == (series["id"], series["next_at"])
    # The weekend passes with no offer; Monday's is at 22:00 on her clock.
    for hour in range(23, 23 + 2 * 24, 3):
        assert look_at(cast, series["next_at"] + hour * HOUR) == [], hour
    [running] = cast.offers(noor)["recurring"]
    monday = running["next_at"]
    assert datetime.fromtimestamp(monday / 1000, ZoneInfo("UTC")).hour == monday_utc_hour
    assert look_at(cast, monday) == ["offer"]
    assert look_at(cast, monday + 24 * HOUR) == ["offer"]
    assert occurrences(cast, mira)[-3:] == [
        shown(series["next_at"]),
        shown(monday),
        shown(monday + 24 * HOUR),
    ]
    assert all(o.endswith(" 22:00") for o in occurrences(cast, mira))
    assert [o[:3] for o in occurrences(cast, mira)] == ["Fri", "Mon", "Tue"]


def test_a_daily_offer_at_a_time_the_spring_change_skips(cast: Cast) -> None:
    mira, noor = scene(cast, helsinki(2026, 3, 28, 12))
    series = recurring(cast, noor, mira, "daily", "03:30")
    assert shown(series["next_at"]) == "Sun 2026-03-29 04:00"  # 03:30 doesn't exist that day
    assert look_at(cast, series["next_at"] - 1000) == []
    assert look_at(cast, series["next_at"]) == ["offer"]
    assert shown(cast.offers(noor)["recurring"][0]["next_at"]) == "Mon 2026-03-30 03:30"


def test_a_daily_offer_at_a_time_the_autumn_change_repeats(cast: Cast) -> None:
    mira, noor = scene(cast, helsinki(2026, 10, 24, 12))
    series = recurring(cast, noor, mira, "daily", "03:30")
    first = helsinki(2026, 10, 25, 3, 30, fold=0)
    assert series["next_at"] == first  # twice that night: the first
    assert look_at(cast, first) == ["offer"]
    assert look_at(cast, helsinki(2026, 10, 25, 3, 30, fold=1)) == []
    assert shown(cast.offers(noor)["recurring"][0]["next_at"]) == "Mon 2026-10-26 03:30"
    assert occurrences(cast, mira) == ["Sun 2026-10-25 03:30"]


def test_after_an_outage_a_missed_occurrence_fires_once(cast: Cast) -> None:
    mira, noor = scene(cast)
    cast.clock.set(helsinki(2026, 5, 25, 12))  # a Monday
    series = recurring(cast, noor, mira, "daily", "22:00")
    # Nobody looked for three days: one offer, for the latest evening missed.
    assert look_at(cast, helsinki(2026, 5, 28, 23, 0)) == ["offer"]
    assert look(cast) == []
    assert occurrences(cast, mira) == ["Thu 2026-05-28 22:00"]
    [late] = pending(cast, mira)
    assert late["expires_at"] == helsinki(2026, 5, 29, 1, 0)  # two hours to answer it
    assert cast.offers(noor)["recurring"][0]["next_at"] == helsinki(2026, 5, 29, 22, 0)
    assert series["id"] == late["series_id"]


def test_occurrences_respect_her_decline_her_mute_and_the_contact(cast: Cast) -> None:
    mira, noor = scene(cast)
    cast.clock.set(helsinki(2026, 5, 25, 12))
    series = recurring(cast, noor, mira, "daily", "22:00")
    assert look_at(cast, helsinki(2026, 5, 25, 22)) == ["offer"]
    [first] = pending(cast, mira)
    promise = {"day": "2026-05-27", "time": "21:00"}
    assert decline(cast, mira, first["id"], promise=promise).status_code == 200
    assert look_at(cast, helsinki(2026, 5, 26, 22)) == ["offer_held"]  # before her promise
    assert look_at(cast, helsinki(2026, 5, 27, 21)) == ["reminder"]
    cast.client.put(f"/api/offers/mutes/{noor.id}", json={"hours": 12}, headers=mira.auth)
    # Muted: made quietly, as one made by hand is (skipped, it told him he was muted): his,
    # pending, and never hers, not even once the mute is over.
    assert look_at(cast, helsinki(2026, 5, 27, 22)) == ["offer"]
    muted = max(cast.offers(noor)["sent"], key=lambda o: o["id"])
    assert (muted["state"], muted["at"]) == ("pending", helsinki(2026, 5, 27, 22))
    assert pending(cast, mira) == []
    cast.clock.set(helsinki(2026, 5, 27, 23, 30))
    cast.client.delete(f"/api/offers/mutes/{noor.id}", headers=mira.auth)
    assert pending(cast, mira) == []
    assert accept(cast, mira, muted["id"]).status_code == 404
    assert look_at(cast, helsinki(2026, 5, 28, 22)) == ["offer"]
    contact = cast.client.get("/api/contacts", headers=mira.auth).json()[0]
    cast.client.delete(f"/api/contacts/{contact['id']}", headers=mira.auth)
    assert look_at(cast, helsinki(2026, 5, 29, 22)) == ["offer_stopped"]
    assert cast.offers(noor)["recurring"] == []
    assert len(occurrences(cast, mira)) == 2
    assert series["id"] == first["series_id"]


def test_either_side_stops_a_recurring_offer_and_the_other_is_told(cast: Cast) -> None:
    mira, noor = scene(cast)
    series = recurring(cast, noor, mira, "weekdays", "22:00")
    again = cast.offer(noor, mira, repeat={"days": "daily", "time": "21:00"})
    assert (again.status_code, again.json()["field"]) == (409, "repeat")
    [theirs] = cast.offers(mira)["recurring"]
    assert (theirs["direction"], theirs["person"]["name"]) == ("to_me", "Noor")
    stopped = cast.client.post(f"/api/offers/recurring/{series['id']}/stop", headers=mira.auth)
    assert stopped.status_code == 200
    [told] = cast.told(noor, "offer_series_stopped")
    assert told["by"] == {"name": "Mira"}
    assert look_at(cast, series["next_at"]) == []
    twice = cast.client.post(f"/api/offers/recurring/{series['id']}/stop", headers=noor.auth)
    assert twice.status_code == 409
    other = recurring(cast, noor, mira, "weekend", "21:00")
    cast.client.post(f"/api/offers/recurring/{other['id']}/stop", headers=noor.auth)
    assert [a["by"]["name"] for a in cast.told(mira, "offer_series_stopped")] == ["Noor"]
    assert cast.offers(mira)["recurring"] == []


def test_stopping_a_muted_persons_recurring_offer_tells_him_as_usual(cast: Cast) -> None:
    """Not telling him would give her mute away."""
    mira, noor = scene(cast)
    series = recurring(cast, noor, mira, "weekdays", "22:00")
    cast.client.put(f"/api/offers/mutes/{noor.id}", headers=mira.auth)
    stopped = cast.client.post(f"/api/offers/recurring/{series['id']}/stop", headers=mira.auth)
    assert stopped.status_code == 200
    [told] = cast.told(noor, "offer_series_stopped")
    assert told["by"] == {"name": "Mira"}


# -- exactly once, across restarts and watchdogs -----------------------------------------------


def test_a_restart_between_a_promise_and_its_reminder_fires_it_once(
    cast: Cast, db_url: str, tmp_path: Path, clock: FakeClock
) -> None:
    """The restart is a second `build_services` on the same database with the same fake
    clock: a new writer and a new watchdog that remember nothing, which is what a restarted
    process is to the due times (they are in the database). It runs on both databases and
    takes no real time; the subprocess crash test (test_crash.py) covers the process itself."""
    mira, noor = scene(cast)
    cast.clock.set(helsinki(2026, 5, 28, 21, 0))
    offer = offered(cast, noor, mira)
    promise = {"day": "tomorrow", "time": "20:00"}
    promised = decline(cast, mira, offer["id"], promise=promise).json()["reminder_at"]
    cast.services.writer.stop()  # the first process is gone before the promised time
    clock.set(promised + 3 * HOUR)  # and the service was down when it fell due
    for _restart in range(2):
        again = make_services(db_url, tmp_path, clock)
        again.writer.start()
        try:
            decided = again.watchdog.tick_sync()
            counted = {
                sample.labels["decision"]: sample.value
                for family in Snapshot(again, {}, 0, 0).collect()
                if family.name == "walkwithme_watchdog_decisions"
                for sample in family.samples
            }
        finally:
            again.writer.stop()
            again.db.dispose()
        assert decided == (["reminder"] if _restart == 0 else [])
        # The operator's /metrics counts it, as /healthz does.
        assert counted.get("reminder", 0) == (1 if _restart == 0 else 0)
    cast.services.writer.start()
    assert len(cast.told(mira, "offer_reminder")) == len(cast.told(noor, "offer_reminder")) == 1


def test_two_watchdogs_claiming_the_same_due_time_fire_it_once(cast: Cast) -> None:
    mira, noor = scene(cast)
    offer = offered(cast, noor, mira)
    promised = decline(
        cast, mira, offer["id"], promise={"day": "tomorrow", "time": "20:00"}
    ).json()["reminder_at"]
    cast.clock.set(promised)
    seen = cast.services.db.read_sync(lambda c: offer_times.due(c, promised))
    assert [(d.kind, d.seen) for d in seen] == [("reminder", promised)]
    writer = cast.services.writer
    results = [writer.run_sync(lambda tx: offer_times.fire(tx, seen[0])) for _ in range(2)]
    assert results == ["reminder", None]
    remaining = cast.services.db.read_sync(
        lambda c: c.execute(sa.select(offers.c.remind_at, offers.c.reminded_at)).one()
    )
    assert (remaining.remind_at, remaining.reminded_at) == (None, promised)
    assert cast.services.db.read_sync(lambda c: offer_times.earliest_due(c)) is None
    zone = cast.services.db.read_sync(
        lambda c: c.execute(sa.select(people.c.timezone).where(people.c.id == noor.id)).scalar()
    )
    assert zone == "UTC"  # the default


def test_an_offer_time_that_fails_is_tried_later_and_the_rest_still_fire(cast: Cast) -> None:
    mira, noor = scene(cast)
    series = recurring(cast, noor, mira, "daily", "22:00")
    offer = offered(cast, noor, mira, at={"day": "tomorrow", "time": "08:00"})
    promised = decline(
        cast, mira, offer["id"], promise={"day": "tomorrow", "time": "09:00"}
    ).json()["reminder_at"]
    broken = offer_series.update().values(local_time="late")  # a row no code could read
    cast.services.writer.run_sync(lambda tx: tx.conn.execute(broken))
    failures = cast.services.watchdog.failures
    assert look_at(cast, max(series["next_at"], promised)) == ["reminder"]
    assert cast.services.watchdog.failures == failures + 1
    [running] = cast.offers(noor)["recurring"]
    assert running["next_at"] == cast.clock.now_ms() + MINUTE


def test_the_operator_lists_a_persons_offers_from_the_command_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    mira = cli(data, "people", "add", "mira@example.org", "--name", "Mira")
    noor = cli(data, "people", "add", "noor@example.org", "--name", "Noor")
    svc = build_services(load_config({"WWM_DATA": str(data)}))
    try:
        asked = svc.writer.run_sync(
            lambda tx: contacts.ask(tx, mira["id"], noor["email"], "companion")
        )
        svc.writer.run_sync(lambda tx: contacts.answer(tx, noor["id"], asked["id"], accept=True))
        made = svc.writer.run_sync(lambda tx: offers_usecase.make_offer(tx, noor["id"], mira["id"]))
    finally:
        svc.db.dispose()
    listed = cli(data, "offers", "list", "mira@example.org")
    assert [(o["id"], o["from"]["name"]) for o in listed["received"]] == [(made["id"], "Noor")]
    assert cli(data, "offers", "list", "noor@example.org")["sent"][0]["state"] == "pending"
    table = subprocess.run(
        [*WWM, "offers", "list", "noor@example.org", "--data", str(data)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "Mira" in table.stdout
    assert "pending" in table.stdout


def test_an_offer_waiting_when_the_contact_ends_is_said_closed_to_him(cast: Cast) -> None:
    """She can no longer see nor accept it: his pages said "waiting for an answer" for up to
    two hours more (a review of a first walk). That the contact ended is on his contacts page
    anyway; a mute or a block still says nothing."""
    mira, noor = scene(cast)
    offer = offered(cast, noor, mira)
    assert cast.offers(noor)["sent"][0]["state"] == "pending"
    contact = cast.client.get("/api/contacts", headers=mira.auth).json()[0]
    assert (
        cast.client.delete(f"/api/contacts/{contact['id']}", headers=mira.auth).status_code == 204
    )
    assert cast.offers(noor)["sent"][0]["state"] == "closed"
    said = "no longer open: you no longer follow Mira's walks"
    assert said in text_of(page(cast.client, "/offers", noor).text)
    assert said in text_of(page(cast.client, "/", noor).text)
    accepted = cast.client.post(
        f"/api/offers/{offer['id']}/accept",
        json={"pin": PIN, "destination": {"lat": HOME[0], "lon": HOME[1]}},
        headers=mira.auth,
    )
    assert accepted.status_code in (403, 404, 409), accepted.text
