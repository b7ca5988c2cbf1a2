"""A walk exported as GPX and GeoJSON round-trips: what she walked, where, when, and what
happened on the way; and only she can export it."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import httpx2
import pytest

from tests.people import HOME, PIN, START, Cast, between
from tests.service import WWM, Service
from tests.test_service_e2e import post_fix, prepare

GPX = "{http://www.topografix.com/GPX/1/1}"


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def walked(cast: Cast) -> tuple[Any, Any, dict[str, Any], list[dict[str, Any]]]:
    mira, noor, phone, walk = cast.walking()
    sent = []
    for step in range(1, 11):
        cast.clock.advance(seconds=30)
        fix = cast.fix(between(START, HOME, step / 10), battery=80 - step)
        assert cast.statuses(phone, fix) == ["accepted"]
        sent.append(fix)
        if step == 4:
            cast.client.post(
                f"/api/walks/{walk['id']}/messages", json={"text": "Nice night"}, headers=noor.auth
            )
    cast.client.post(f"/api/walks/{walk['id']}/inside", json={"pin": PIN}, headers=mira.auth)
    return mira, noor, walk, sent


def test_gpx_holds_her_track_destination_and_events(cast: Cast) -> None:
    mira, _noor, walk, sent = walked(cast)
    answer = cast.client.get(f"/api/walks/{walk['id']}/export.gpx", headers=mira.auth)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/gpx+xml")
    root = ET.fromstring(answer.content)
    points = root.findall(f"{GPX}trk/{GPX}trkseg/{GPX}trkpt")
    assert [(float(p.get("lat", "")), float(p.get("lon", ""))) for p in points] == [
        (f["lat"], f["lon"]) for f in sent
    ]
    assert [ms(p.findtext(f"{GPX}time", "")) for p in points] == [f["t"] for f in sent]
    waypoints = {w.findtext(f"{GPX}name"): w for w in root.findall(f"{GPX}wpt")}
    assert float(waypoints["home"].get("lat", "")) == pytest.approx(HOME[0])
    message = waypoints["message"]
    assert message.findtext(f"{GPX}desc") == "Nice night"
    # Where she was when the message came: her fourth fix.
    assert float(message.get("lat", "")) == pytest.approx(sent[3]["lat"])
    assert {"started", "arrived", "inside"} <= set(waypoints)


def test_geojson_round_trips_the_same_track(cast: Cast) -> None:
    mira, _noor, walk, sent = walked(cast)
    answer = cast.client.get(f"/api/walks/{walk['id']}/export.geojson", headers=mira.auth)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/geo+json")
    collection = answer.json()
    track = next(f for f in collection["features"] if f["properties"]["kind"] == "track")
    assert track["geometry"]["coordinates"] == [[f["lon"], f["lat"]] for f in sent]
    assert [ms(t) for t in track["properties"]["times"]] == [f["t"] for f in sent]
    events = [
        f["properties"]["event"] for f in collection["features"] if "event" in f["properties"]
    ]
    assert events[0] == "started"
    assert "message" in events


def test_nobody_but_the_walker_exports_her_walk(cast: Cast) -> None:
    mira, noor, walk, _sent = walked(cast)
    stranger = cast.person("Sam")
    for suffix in ("gpx", "geojson"):
        for who in (noor, stranger):
            refused = cast.client.get(f"/api/walks/{walk['id']}/export.{suffix}", headers=who.auth)
            assert refused.status_code == 404
            assert str(HOME[0])[:7] not in refused.text
        assert cast.client.get(f"/api/walks/{walk['id']}/export.{suffix}").status_code == 401


@pytest.mark.slow
def test_the_export_command_writes_both_files(tmp_path: Path) -> None:
    service = Service(tmp_path / "data")
    try:
        as_mira, as_noor, phone, walk_id = prepare(service)
        t = int(httpx2.get(f"{service.url}/healthz").json()["now"])
        for step in range(1, 6):
            post_fix(service.url, phone, between(START, HOME, step / 200), t + step * 1000)
        token = as_mira["Authorization"].removeprefix("Bearer ")
        out = tmp_path / "out"
        out.mkdir()
        done = subprocess.run(
            [*WWM, "export", str(walk_id), "--server", service.url, "--out", str(out), "--json"],
            env={"WWM_TOKEN": token, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert json.loads(done.stdout)["files"] == [
            str(out / f"walk-{walk_id}.gpx"),
            str(out / f"walk-{walk_id}.geojson"),
        ]
        root = ET.parse(out / f"walk-{walk_id}.gpx").getroot()
        assert len(root.findall(f"{GPX}trk/{GPX}trkseg/{GPX}trkpt")) == 5
        geo = json.loads((out / f"walk-{walk_id}.geojson").read_text())
        assert len(geo["features"][0]["geometry"]["coordinates"]) == 5
        # Her companion's token exports nothing.
        refused = subprocess.run(
            [*WWM, "export", str(walk_id), "--server", service.url, "--out", str(out)],
            env={"WWM_TOKEN": as_noor["Authorization"].removeprefix("Bearer "), "PATH": "/usr/bin"},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 1
        assert "404" in refused.stderr
    finally:
        service.stop()
