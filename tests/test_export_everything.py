"""Everything the service holds about a person, as one archive they take away: all of theirs,
and nothing of anyone else's beyond their contacts' names (Wren, who shares a companion with
Mira and walks too, is the control)."""

from __future__ import annotations

import io
import json
import zipfile

from tests.people import HOME, PIN, START, Cast, Member, between


def export(cast: Cast, who: Member) -> dict[str, str]:
    answer = cast.client.get("/api/me/export", headers=who.auth)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


def test_her_archive_holds_all_of_hers_and_nothing_of_anyone_elses(cast: Cast) -> None:
    mira, noor, phone, walk = cast.walking()
    wren = cast.person("Wren")
    cast.link(wren, noor)  # Noor follows Wren too
    wren_phone = cast.device(wren, "wren's phone")
    wren_walk = cast.start_walk(wren, destination={"lat": 60.2, "lon": 24.9, "name": "Wren's"})
    cast.send(wren_phone, cast.fix((60.1999111, 24.9011222)))
    cast.client.post(
        "/api/places", json={"name": "Grandma's", "lat": 60.17, "lon": 24.93}, headers=mira.auth
    ).raise_for_status()
    cast.channel(mira)
    cast.offer(noor, mira)
    cast.send(phone, cast.fix(between(START, HOME, 0.4321)))
    cast.client.post(
        f"/api/walks/{walk['id']}/messages", json={"text": "Nearly there"}, headers=mira.auth
    ).raise_for_status()
    cast.client.post(
        f"/api/walks/{walk['id']}/messages", json={"text": "I see you"}, headers=noor.auth
    ).raise_for_status()
    cast.send(phone, cast.fix(HOME))
    inside = cast.client.post(
        f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth
    )
    assert inside.status_code == 200, inside.text

    files = export(cast, mira)
    everything = "\n".join(files.values())
    assert json.loads(files["profile.json"])["email"] == mira.email
    assert [c["name"] for c in json.loads(files["contacts.json"])] == ["Noor"]
    assert [p["name"] for p in json.loads(files["places.json"])] == ["Grandma's"]
    assert [d["name"] for d in json.loads(files["devices.json"])] == ["phone"]
    assert [c["kind"] for c in json.loads(files["channels.json"])] == ["webhook"]
    assert [o["from"]["name"] for o in json.loads(files["offers.json"])["received"]] == ["Noor"]
    assert [w["id"] for w in json.loads(files["walks.json"])] == [walk["id"]]
    gpx = files[f"walks/walk-{walk['id']}.gpx"]
    assert f"{between(START, HOME, 0.4321)[0]:.6f}"[:8] in gpx  # her track
    timeline = json.loads(files[f"walks/walk-{walk['id']}-timeline.json"])
    assert [e["text"] for e in timeline if e["kind"] == "message"] == ["Nearly there", "I see you"]
    # Nobody else's: not Wren (no contact of hers), nor her walk or her place; not Noor's
    # address; no secret (the channel's address, the phone's token, her session).
    for other in ("Wren", "60.1999", "24.9011", noor.email, "hooks.example.org", phone, mira.token):
        assert other not in everything, other
    assert "password" not in files["profile.json"]
    # And Wren's archive is hers alone.
    theirs = "\n".join(export(cast, wren).values())
    assert "60.1999" in theirs
    assert str(wren_walk["id"]) in theirs
    for other in ("Mira", "Grandma's", "Nearly there", mira.email):
        assert other not in theirs, other


def test_the_archive_is_hers_only(cast: Cast) -> None:
    nobody = cast.client.get("/api/me/export")
    assert nobody.status_code == 401
