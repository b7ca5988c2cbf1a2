"""A walker as a companion's phone app shows her among its friends (usecases/friends.py
decides who gets whom; ingest/owntracks.py says it in OwnTracks' words)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Position:
    """Her last position: when (epoch ms), where (degrees), ± m, m/s, degrees, %."""

    t_ms: int
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing_deg: float | None = None
    battery_pct: float | None = None


@dataclass(frozen=True)
class Friend:
    """A walker as a companion's OwnTracks shows her."""

    walk_id: int
    walker_id: int
    tid: str  # two characters, unique in one answer: the apps key the contact by it
    name: str
    over: bool  # the walk is over: her card says so, and no position is given
    position: Position | None = None
