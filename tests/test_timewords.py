"""Times and distances in words, as alerts and pages say them (the live pages' words.js says
the same: tests/test_pages_browser.py checks its times as they tick)."""

from __future__ import annotations

from walkwithme import timewords


def test_a_distance_is_said_to_ten_metres_half_up_as_the_live_page_says_it() -> None:
    said = [timewords.distance(m) for m in (4, 5, 344.9, 345, 355, 994.9, 995, 1150, 1250, 8420)]
    assert said == [
        "0 m",
        "10 m",
        "340 m",
        "350 m",
        "360 m",
        "990 m",
        "1.0 km",
        "1.2 km",
        "1.3 km",
        "8.4 km",
    ]


def test_how_long_ago_is_said_to_the_minute_past_the_hour() -> None:
    now = 10 * 3600 * 1000
    assert timewords.ago(now - 5_000, now) == "just now"
    assert timewords.ago(now - 40_000, now) == "40 s ago"
    assert timewords.ago(now - 185_000, now) == "3 min ago"
    assert timewords.ago(now - (2 * 3600 + 5 * 60) * 1000, now) == "2 h 5 min ago"
    assert timewords.ago(now - 2 * 3600 * 1000, now) == "2 h ago"
