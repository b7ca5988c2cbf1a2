"""A walk that is over keeps its track only as long as its walker chose (an alarmed one as long
as the operator keeps them), then is forgotten: no fix, no position in its events or alerts,
no destination, and nothing left in the database's file. On a fake clock, across restarts."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import LOCAL, make_services
from tests.people import HOME, PIN, START, Cast, between
from walkwithme.api.app import create_app
from walkwithme.clock import FakeClock
from walkwithme.store.schema import alerts, events, fixes, walks
from walkwithme.usecases.timeline import LOCATING

DAY_S = 86_400
# Where she walked: a latitude no other test data holds, to look for in the file's bytes.
PASSING = (60.1654321, 24.9432109)


@contextmanager
def service(tmp_path: Path, clock: FakeClock, **settings: str) -> Iterator[Cast]:
    """The service on one SQLite file: each `with` is a start, its end a stop."""
    url = f"sqlite:///{tmp_path / 'wwm.db'}"
    svc = make_services(url, tmp_path, clock, None, **settings)
    try:
        with TestClient(create_app(svc), base_url="http://127.0.0.1:8000", client=LOCAL) as c:
            yield Cast(c, svc, clock)
    finally:
        svc.db.dispose()


def walk_home(cast: Cast, *, sos: bool = False) -> tuple[Any, Any, dict[str, Any]]:
    mira, noor, phone, walk = cast.walking()
    cast.send(phone, cast.fix(START))
    cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).raise_for_status()  # a look
    cast.clock.advance(seconds=30)
    cast.send(phone, cast.fix(PASSING))
    if sos:
        cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth).raise_for_status()
        cast.services.watchdog.tick_sync()
        resolved = cast.client.post(
            f"/api/walks/{walk['id']}/resolve", json={"note": "Called her"}, headers=noor.auth
        )
        assert resolved.status_code == 200, resolved.text
    cast.clock.advance(seconds=30)
    cast.send(phone, cast.fix(between(PASSING, HOME, 0.99)))
    inside = cast.client.post(
        f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth
    )
    assert inside.status_code == 200, inside.text
    cast.services.watchdog.tick_sync()  # its first look after the end gives it its time
    return mira, noor, walk


def her_view(cast: Cast, mira: Any, walk: dict[str, Any]) -> dict[str, Any]:
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=mira.auth)
    assert seen.status_code == 200, seen.text
    view: dict[str, Any] = seen.json()
    return view


def rows(cast: Cast, walk_id: int) -> dict[str, Any]:
    with cast.services.db.read_engine.connect() as conn:
        return {
            "fixes": conn.execute(
                sa.select(sa.func.count()).select_from(fixes).where(fixes.c.walk_id == walk_id)
            ).scalar_one(),
            "events": [
                d
                for (d,) in conn.execute(
                    sa.select(events.c.data).where(events.c.walk_id == walk_id)
                )
            ],
            "alerts": [
                p
                for (p,) in conn.execute(
                    sa.select(alerts.c.payload).where(alerts.c.walk_id == walk_id)
                )
            ],
            "walk": conn.execute(sa.select(walks).where(walks.c.id == walk_id)).one()._asdict(),
        }


def mentions(value: Any, key: str) -> bool:
    if isinstance(value, dict):
        return key in value or any(mentions(v, key) for v in value.values())
    if isinstance(value, list):
        return any(mentions(v, key) for v in value)
    return False


def file_holds(tmp_path: Path, where: tuple[float, float]) -> bool:
    """Her position, in any form SQLite or JSON keeps it, anywhere in the database's files."""
    forms = [struct.pack(">d", where[0]), repr(where[0]).encode(), repr(where[1]).encode()]
    for path in tmp_path.glob("wwm.db*"):
        data = path.read_bytes()
        if any(form in data for form in forms):
            return True
    return False


def test_a_safe_walks_track_is_forgotten_after_her_week_across_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    with service(tmp_path, clock) as cast:
        mira, _noor, walk = walk_home(cast)
        ended = clock.now_ms()
        kept = her_view(cast, mira, walk)["kept"]
        assert kept == {
            "until": ended + 7 * DAY_S * 1000,
            "forgotten": False,
            "for_its_alarm": False,
        }
        looked = cast.client.get(f"/api/walks/{walk['id']}/looks", headers=mira.auth).json()
        assert [x["who"] for x in looked] == ["Noor"]
        clock.advance(seconds=6 * DAY_S)
        cast.services.watchdog.tick_sync()
        assert rows(cast, walk["id"])["fixes"] == 3
        assert file_holds(tmp_path, PASSING)  # (the search finds it while it is there)
    clock.advance(seconds=DAY_S + 60)  # the service is down when her week runs out
    with service(tmp_path, clock) as cast:
        cast.services.watchdog.tick_sync()  # its first look after the restart
        left = rows(cast, walk["id"])
        assert left["fixes"] == 0
        for key in ("lat", "lon", "destination", "last_position", "from", "position"):
            assert not mentions(left["events"], key), key
            assert not mentions(left["alerts"], key), key
        assert left["walk"]["dest_lat"] is None
        assert left["walk"]["last_lat"] is None
        assert left["walk"]["dest_name"] is None
        view = her_view(cast, mira, walk)
        assert view["kept"]["forgotten"] is True
        looked = cast.client.get(f"/api/walks/{walk['id']}/looks", headers=mira.auth)
        assert looked.json() == []  # who looked goes with what they looked at
        assert view["state"] == "safe"  # that it happened, and how it ended, remain
        track = cast.client.get(f"/api/walks/{walk['id']}/fixes", headers=mira.auth)
        assert track.json() == []
        # Gone from the file and its WAL, not only unlinked, while the service runs.
        assert not file_holds(tmp_path, PASSING)


def test_a_walk_with_an_alarm_is_kept_for_the_operators_longer_time(tmp_path: Path) -> None:
    clock = FakeClock()
    with service(tmp_path, clock, WWM_KEEP_ALARMED_WALKS_DAYS="60") as cast:
        mira, _noor, walk = walk_home(cast, sos=True)
        kept = her_view(cast, mira, walk)["kept"]
        assert kept["for_its_alarm"] is True  # she is told why it is kept longer
        assert kept["until"] == clock.now_ms() + 60 * DAY_S * 1000
        clock.advance(seconds=30 * DAY_S)
        cast.services.watchdog.tick_sync()
        assert rows(cast, walk["id"])["fixes"] == 3
        clock.advance(seconds=30 * DAY_S + 60)
        cast.services.watchdog.tick_sync()
        assert rows(cast, walk["id"])["fixes"] == 0


def test_after_her_duress_pin_a_forgotten_walk_shows_her_devices_what_her_pin_would_have(
    tmp_path: Path,
) -> None:
    """Her duress PIN ended the walk for her devices while it went on for Noor, whose alarm
    came with later fixes. Once the walk is forgotten, her devices still see the time and
    battery of when it ended for them (with her real PIN, the walk's own last ones), never
    the later ones that would give the duress PIN away."""
    clock = FakeClock()
    with service(tmp_path, clock, WWM_KEEP_ALARMED_WALKS_DAYS="30") as cast:
        mira, noor = cast.person("Mira"), cast.person("Noor")
        cast.link(mira, noor)
        phone = cast.device(mira)
        walk = cast.start_walk(mira, duress_pin="1357")
        cast.send(phone, cast.fix(START, battery=88))
        clock.advance(seconds=30)
        cast.send(phone, cast.fix(between(START, HOME, 0.99), battery=80))
        forced = cast.client.post(
            f"/api/walks/{walk['id']}/inside", json={"pin": "1357"}, headers=mira.auth
        )
        assert forced.status_code == 200, forced.text
        shown = her_view(cast, mira, walk)["last_position"]
        clock.advance(seconds=30)
        cast.send(phone, cast.fix(PASSING, battery=50))  # for those looking for her
        cast.services.watchdog.tick_sync()
        resolved = cast.client.post(
            f"/api/walks/{walk['id']}/resolve", json={"note": "Found her"}, headers=noor.auth
        )
        assert resolved.status_code == 200, resolved.text
        clock.advance(seconds=31 * DAY_S)
        cast.services.watchdog.tick_sync()
        assert rows(cast, walk["id"])["fixes"] == 0  # forgotten
        signed_in = cast.client.post(
            "/api/session", json={"email": mira.email, "password": "correct horse battery"}
        )  # a month later: her sign-in has ended meanwhile
        mira = replace(mira, token=signed_in.json()["token"])
        seen = her_view(cast, mira, walk)
        assert seen["last_position"]["t"] == shown["t"]
        assert seen["last_position"]["battery"] == shown["battery"] == 80
        assert seen["last_position"]["lat"] is None
        assert seen["heard_at"] is None


def as_her_devices_see_it(cast: Cast, mira: Any, walk_id: int) -> dict[str, Any]:
    """A walk that is over, through every door her devices have: the walk, its track, its
    timeline, its export and her page."""
    got = {
        door: cast.client.get(f"/api/walks/{walk_id}{door}", headers=mira.auth)
        for door in ("", "/fixes", "/events", "/export.geojson", "/looks")
    }
    for door, answer in got.items():
        assert answer.status_code == 200, (door, answer.text)
    view = got[""].json()
    return {
        "kind": view["kind"],
        "destination": view["destination"],
        "where": {k: v for k, v in view["last_position"].items() if k not in ("t", "battery")},
        "kept": {k: v for k, v in view["kept"].items() if k != "until"},
        "fixes": got["/fixes"].json(),
        "timeline places": [k for key in LOCATING if mentions(got["/events"].json(), k := key)],
        "export": got["/export.geojson"].json()["features"][0]["geometry"],
        "looks": got["/looks"].json(),
    }


def test_after_her_duress_pin_her_devices_see_the_walk_forgotten_when_her_pin_would_have(
    tmp_path: Path,
) -> None:
    """A walk her duress PIN ended is kept a month for the people looking for her; her own
    devices must not pick it out from her other walks once those are forgotten (whoever made
    her give it would know she raised an alarm): at her week's end it looks to them as her
    real PIN's walk does, while Noor still follows the silent alarm with its track."""
    clock = FakeClock()
    with service(tmp_path, clock, WWM_KEEP_ALARMED_WALKS_DAYS="30") as cast:
        mira, noor = cast.person("Mira"), cast.person("Noor")
        cast.link(mira, noor)
        phone = cast.device(mira)
        ended = {}
        for pin in (PIN, "1357"):  # her real PIN's walk, then the one she was made to end
            walk = cast.start_walk(mira, duress_pin="1357")
            cast.send(phone, cast.fix(START))
            clock.advance(seconds=30)
            cast.send(phone, cast.fix(PASSING))
            cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth)  # a look
            done = cast.client.post(
                f"/api/walks/{walk['id']}/end", json={"pin": pin}, headers=mira.auth
            )
            assert done.status_code == 200, done.text
            cast.services.watchdog.tick_sync()
            ended[pin] = walk["id"]
            clock.advance(seconds=60)
        clock.advance(seconds=8 * DAY_S)
        cast.services.watchdog.tick_sync()
        signed_in = cast.client.post(
            "/api/session", json={"email": mira.email, "password": "correct horse battery"}
        )
        mira = replace(mira, token=signed_in.json()["token"])
        real = as_her_devices_see_it(cast, mira, ended[PIN])
        assert real["kept"]["forgotten"] is True
        assert real["fixes"] == []
        assert real["timeline places"] == []
        assert as_her_devices_see_it(cast, mira, ended["1357"]) == real
        # Noor still has what he needs while the silent alarm goes on.
        followed = cast.client.get(f"/api/walks/{ended['1357']}/fixes", headers=noor.auth)
        assert followed.status_code == 200, followed.text
        assert len(followed.json()) == 2
        assert rows(cast, ended["1357"])["walk"]["dest_lat"] is not None


def test_the_outbox_forgets_where_she_was_a_day_after_its_alerts_are_settled(
    tmp_path: Path,
) -> None:
    """Her SOS's alerts said where she was; a day after nothing more can be sent, they don't,
    while her alarmed walk's own timeline and track are still kept."""
    clock = FakeClock()
    with service(tmp_path, clock) as cast:
        _mira, _noor, walk = walk_home(cast, sos=True)
        assert mentions(rows(cast, walk["id"])["alerts"], "lat")
        clock.advance(seconds=DAY_S - 120)
        cast.services.watchdog.tick_sync()
        assert mentions(rows(cast, walk["id"])["alerts"], "lat")  # not a day yet
        clock.advance(seconds=180)
        cast.services.watchdog.tick_sync()
        kept = rows(cast, walk["id"])
        assert kept["alerts"]
        assert not any(mentions(p, key) for p in kept["alerts"] for key in LOCATING)
        assert mentions(kept["events"], "lat")  # the walk's own record: kept with the walk
        assert kept["fixes"] == 3


def test_as_soon_as_she_is_home_is_a_choice_within_the_operators_bounds(tmp_path: Path) -> None:
    clock = FakeClock()
    with service(tmp_path, clock) as cast:
        mira = cast.person("Mira")
        too_long = cast.client.put("/api/me/keeping", json={"days": 31}, headers=mira.auth)
        assert too_long.status_code == 422
        assert too_long.json()["field"] == "days"
        chosen = cast.client.put("/api/me/keeping", json={"days": 0}, headers=mira.auth)
        assert chosen.json() == {
            "days": 0,
            "default_days": 7,
            "most_days": 30,
            "alarmed_days": 90,
        }
        noor, phone = cast.person("Noor"), cast.device(mira)
        cast.link(mira, noor)
        walk = cast.start_walk(mira)
        cast.send(phone, cast.fix(PASSING))
        cast.client.post(f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth)
        cast.services.watchdog.tick_sync()
        assert rows(cast, walk["id"])["fixes"] == 0  # her next look forgets it
        assert her_view(cast, mira, walk)["kept"]["forgotten"] is True


def test_a_deleted_account_leaves_nothing_of_her_in_the_database_files(tmp_path: Path) -> None:
    """Her walk home, then her account deleted: no row names her, but the write-ahead log
    still held where she walked and her address minutes later, across restarts (a privacy
    review). Deleting checkpoints it, as forgetting a walk does."""
    clock = FakeClock()
    with service(tmp_path, clock) as cast:
        mira, _noor, _walk = walk_home(cast)
        assert file_holds(tmp_path, PASSING)  # (the search finds it while it is there)
        deleted = cast.client.post(
            "/api/me/delete", json={"password": "correct horse battery"}, headers=mira.auth
        )
        assert deleted.status_code == 200, deleted.text
        assert not file_holds(tmp_path, PASSING)
        address = mira.email.encode()
        assert not any(address in path.read_bytes() for path in tmp_path.glob("wwm.db*"))


def test_her_number_leaves_the_alarms_alerts_once_they_are_settled(tmp_path: Path) -> None:
    """Her phone number goes with an alarm, for the alarm alone (privacy.md): its alerts kept
    it after the walk was over, and forgotten (a privacy review)."""
    clock = FakeClock()
    with service(tmp_path, clock) as cast:
        mira, noor, _phone, walk = cast.walking()
        cast.client.patch("/api/me", json={"phone": "+358 40 123 4567"}, headers=mira.auth)
        cast.client.post(f"/api/walks/{walk['id']}/sos", headers=mira.auth).raise_for_status()
        cast.client.post(
            f"/api/walks/{walk['id']}/resolve",
            json={"note": "Home", "home": True},
            headers=noor.auth,
        ).raise_for_status()
        sent = [p for p in rows(cast, walk["id"])["alerts"] if p["kind"] == "alarm"]
        assert sent[0]["walker"]["phone"] == "+358 40 123 4567"
        clock.advance(seconds=DAY_S + 60)
        cast.services.watchdog.tick_sync()
        kept = [p for p in rows(cast, walk["id"])["alerts"] if p["kind"] == "alarm"]
        assert kept
        assert not any(mentions(p, "phone") for p in kept)
        assert kept[0]["walker"]["name"] == "Mira"
