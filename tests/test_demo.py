"""The story, end to end: `walkwithme demo` plays four evenings against the real service, and
what each person saw is what the story needs."""

from __future__ import annotations

import io
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from rich.console import Console

from walkwithme.demo import ordered, play, print_story

pytestmark = pytest.mark.slow


# Half the demo's own speed: a stall of this busy machine (two workers, browsers, services) is
# then half as many minutes of the story, and her phone is not taken for silent.
SPEED = 50.0


def test_the_story_is_told_against_the_real_service(tmp_path: Path) -> None:
    story = play(tmp_path, SPEED)
    kinds = {who: [a["kind"] for a in alerts] for who, alerts in story.alerts.items()}
    # Evening one and two: two offers reach her, two refusals reach him, one with her note.
    assert kinds["Aino"].count("offer") == 3
    declines = [a for a in story.alerts["Eero"] if a["kind"] == "offer_declined"]
    assert [bool(a.get("note")) for a in declines] == [False, True]
    # The promised evening: the reminder reaches both of them, once each.
    assert kinds["Aino"].count("offer_reminder") == kinds["Eero"].count("offer_reminder") == 1
    # Evening three: he followed the walk live from start to the door, and saw her go in.
    seen = [m["event"]["kind"] for m in story.companion_saw if m["type"] == "event"]
    assert seen[0] == "started"
    assert seen.count("message") == 2
    assert seen.index("arrived") < seen.index("inside")
    assert story.companion_saw[-1]["type"] == "closed"
    fixes = [m for m in story.companion_saw if m["type"] == "fix"]
    assert len(fixes) > 50
    # She lingered at her door and nobody was alarmed, or even asked.
    assert not {"check", "alarm"} & set(seen)
    inside = next(
        m["event"] for m in story.companion_saw if m.get("event", {}).get("kind") == "inside"
    )
    assert inside["note"] == "Would you like to come in?"
    assert story.walk["state"] == "safe"
    # The walk, written for her: the track she walked, along the route.
    gpx, geojson = story.files
    root = ET.parse(gpx).getroot()
    ns = "{http://www.topografix.com/GPX/1/1}"
    assert len(root.findall(f"{ns}trk/{ns}trkseg/{ns}trkpt")) == len(fixes)
    assert root.find(f"{ns}rte") is not None
    features = json.loads(geojson.read_text())["features"]
    assert {f["properties"]["kind"] for f in features} >= {"track", "route", "event"}
    # Evening four: she stops, misses the check, he is alarmed, is on it, and marks her safe.
    assert kinds["Aino"].count("check") == 1
    assert kinds["Eero"].count("alarm") == 1
    assert "alarm_acknowledged" in kinds["Aino"]
    fourth = [m["event"]["kind"] for m in story.alarmed_saw if m["type"] == "event"]
    assert fourth.index("check") < fourth.index("alarm") < fourth.index("alarm_acknowledged")
    assert fourth.index("alarm_acknowledged") < fourth.index("alarm_resolved")
    resolved = next(
        m["event"] for m in story.alarmed_saw if m.get("event", {}).get("kind") == "alarm_resolved"
    )
    assert resolved["note"] == "Called her: she met a friend, all fine."
    told = [e.what for e in ordered(story.entries)]
    # Causes before their effects, whatever second each fell in.
    assert told.index('says no, kindly: "Not tonight, sorry. Tomorrow at nine?"') < next(
        i for i, w in enumerate(told) if "promises another evening" in w
    )
    assert told.index("offers to walk Aino home") < told.index(
        "[notification] Eero offers to walk you home"
    )
    alarm = next(i for i, w in enumerate(told) if w.startswith("[notification] ALARM"))
    assert next(i for i, w in enumerate(told) if "Are you OK? Answer" in w) < alarm
    assert alarm < next(i for i, w in enumerate(told) if w.startswith("marks her safe"))
    # What `walkwithme demo` prints: who saw what, each in their column, and the files.
    printed = io.StringIO()
    print_story(story, Console(file=printed, width=160))
    timeline = printed.getvalue()
    assert "Aino" in timeline
    assert "Eero" in timeline
    assert "Would you like to come in?" in timeline
    assert "[notification] Eero offers to walk you home" in timeline  # the label, intact
    assert "marks her safe" in timeline
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".geojson", ".gpx"]
    assert all(f"wrote {path}" in timeline for path in story.files)
