"""`walkwithme demo`: the story Walk With Me comes from, played against the real service.

A real service starts (a subprocess, on a free port, in a temporary data folder, with the
shipped streets of central Helsinki and a drill clock), and two people use it over HTTP and
WebSocket as they would from their phones: Eero, who offers to walk Aino home, and Aino.

- Evening one: he offers; she says no.
- Evening two: she says no kindly, with a note, and promises the next evening at nine; the
  reminder reaches them both then.
- Evening three: she accepts. The walk streams along the streets at walking pace (the clock
  runs 100 times faster for it: the fastest a drill clock may go); they trade a message, then
  walk without a word; at her door she waits a while (no alarm: lingering is short) and goes in
  with her PIN, asking him in.
- Evening four, what the service is for: she walks home again, and stops on the way, her phone
  in her bag. The watchdog asks her "Are you OK?"; she doesn't see it; the alarm reaches Eero,
  who says "I'm on it", calls her, and marks her safe with a note.

Between evenings the operator jumps the service's clock, so "the next evening" takes no real
time. It prints what each of them sees, and when (Rich), and writes the walk as GPX and
GeoJSON. Each line is placed at the moment its cause happened, so what someone does comes
before what it makes happen. The same story is an end-to-end test (tests/test_demo.py).
"""

from __future__ import annotations

import tempfile
import time
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from walkwithme.demo.inboxes import inboxes
from walkwithme.demo.player import HELSINKI, Player
from walkwithme.demo.service import SPEED, make_people, running_service
from walkwithme.demo.story import Entry, Story
from walkwithme.exports_client import export_walk


def play(out: Path, speed: float = SPEED) -> Story:
    """Tell the whole story against a real service whose clock runs `speed` times faster than
    real time; write the walk's GPX and GeoJSON in `out`."""
    story = Story()
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="walkwithme-demo-") as folder:
        data = Path(folder)
        people = make_people(data)
        with inboxes(story) as inbox, running_service(data, speed) as url:
            player = Player(url, people, story, speed)
            try:
                player.get_acquainted(inbox)
                player.evening_one()
                promised = player.evening_two()
                player.the_promised_evening(promised)
                player.evening_three()
                token = player.aino["Authorization"].removeprefix("Bearer ")
                story.files = export_walk(url, token, story.walk["id"], out)
                player.evening_four()
            finally:
                player.http.close()
    story.real_seconds = time.monotonic() - began
    return story


def ordered(entries: list[Entry]) -> list[Entry]:
    """By the time each happened; of two at the same second, the one told first (the cause)."""
    return sorted(entries, key=lambda e: (e.at_ms // 1000, e.seq))


def print_story(story: Story, console: Console) -> None:
    table = Table(title="Walk With Me: four evenings in Helsinki", show_lines=False)
    # Which is which: what a person did or saw in the service, and what their phone was told.
    table.add_column("when (Helsinki)", style="cyan", no_wrap=True)
    table.add_column("Aino sees / does")
    table.add_column("Eero sees / does")
    for entry in ordered(story.entries):
        when = datetime.fromtimestamp(entry.at_ms / 1000, HELSINKI).strftime("%a %H:%M:%S")
        # Text, not markup: "[notification]" is a label to show, not a Rich style to apply.
        aino = Text(entry.what if entry.who in ("Aino", "both") else "")
        eero = Text(entry.what if entry.who in ("Eero", "both") else "")
        table.add_row(when, aino, eero)
    console.print(table)
    for path in story.files:
        console.print(f"wrote {path}")
    console.print(f"told in {story.real_seconds:.1f} s of real time")
