"""The one path every fix takes, whatever protocol brought it.

An adapter parses its payload into `Fix`es (refusing malformed ones by name) and submits
`record_fixes` to the writer. Here, in the writer's transaction: fixes that belong to no live
walk of the device's owner are dropped (location is kept only during walks); the rest are
stored once each (a re-sent fix is a no-op); implausible ones are stored but flagged; the
newest trusted fix moves the walk (never an older one that arrived late).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Invalid
from walkwithme.domain.fixes import Fix, check_fix, implausibility, parse_fix
from walkwithme.domain.rules import Progress, battery_notice, progress_after
from walkwithme.domain.walks import WalkState, door_after_fix
from walkwithme.store.schema import devices, fixes
from walkwithme.store.writer import Tx
from walkwithme.usecases import alerts, timeline, walks
from walkwithme.usecases.devices import Device
from walkwithme.usecases.walks import Walk, live_walk_of

Status = Literal["accepted", "flagged", "duplicate", "refused", "not_kept"]

# A phone's clock may be a little behind the server's: a fix this much older than the walk's
# start still belongs to it.
START_SLACK_MS = 60_000


@dataclass(frozen=True)
class Outcome:
    status: Status
    reason: str | None = None
    field: str | None = None

    def as_json(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = {"index": index, "status": self.status}
        if self.reason:
            item["reason"] = self.reason
        if self.field:
            item["field"] = self.field
        return item


Parsed = Fix | Outcome


def parse_batch(items: list[object], now_ms: int) -> list[Parsed]:
    """Parse and check each item; a bad one becomes a refusal and spares the rest."""
    parsed: list[Parsed] = []
    for item in items:
        try:
            fix = parse_fix(item)
            check_fix(fix, now_ms)
        except Invalid as exc:
            parsed.append(Outcome("refused", exc.message, exc.field))
        else:
            parsed.append(fix)
    return parsed


def record_fixes(tx: Tx, device: Device, batch: list[Parsed]) -> list[Outcome]:
    outcomes: list[Outcome | None] = [p if isinstance(p, Outcome) else None for p in batch]
    todo = sorted(
        ((i, p) for i, p in enumerate(batch) if isinstance(p, Fix)), key=lambda item: item[1].t_ms
    )
    if not todo:
        return [o for o in outcomes if o is not None]
    walk = live_walk_of(tx.conn, device.person_id)
    tx.conn.execute(
        devices.update().where(devices.c.id == device.id).values(last_seen_at=tx.now_ms)
    )
    for index, fix in todo:
        if walk is None:
            outcomes[index] = Outcome(
                "not_kept", "no walk is live: location is kept only during walks"
            )
        elif fix.t_ms < walk.started_at - START_SLACK_MS:
            outcomes[index] = Outcome("not_kept", "taken before the walk started")
        else:
            outcome, walk = _record_one(tx, walk, device.id, fix)
            outcomes[index] = outcome
    return [o for o in outcomes if o is not None]


def _record_one(tx: Tx, walk: Walk, device_id: int, fix: Fix) -> tuple[Outcome, Walk]:
    newest = walk.last_fix_at is None or fix.t_ms > walk.last_fix_at
    previous = _last_trusted(walk) if newest else _trusted_before(tx.conn, walk.id, fix.t_ms)
    flag = implausibility(fix, previous)
    if not _insert(tx, walk.id, device_id, fix, flag):
        return Outcome("duplicate"), walk
    tx.touch(walk.id)
    if flag:
        return Outcome("flagged", f"kept out of the map: {flag}"), walk
    if newest:
        walk = _move_walk(tx, walk, fix)
    return Outcome("accepted"), walk


def _insert(tx: Tx, walk_id: int, device_id: int, fix: Fix, flag: str | None) -> bool:
    """Insert unless this device already sent a fix for this instant. True if inserted."""
    dialect = tx.conn.dialect.name
    insert = postgresql.insert(fixes) if dialect == "postgresql" else sqlite.insert(fixes)
    result = tx.conn.execute(
        insert.values(
            walk_id=walk_id,
            device_id=device_id,
            taken_at=fix.t_ms,
            lat=fix.lat,
            lon=fix.lon,
            accuracy_m=fix.accuracy_m,
            speed_mps=fix.speed_mps,
            bearing_deg=fix.bearing_deg,
            altitude_m=fix.altitude_m,
            battery_pct=fix.battery_pct,
            flag=flag,
            received_at=tx.now_ms,
        )
        .on_conflict_do_nothing(index_elements=["device_id", "taken_at"])
        .returning(fixes.c.id)
    )
    return result.first() is not None


def _move_walk(tx: Tx, walk: Walk, fix: Fix) -> Walk:
    """The newest trusted fix: where she is, how far she has left, whether she is at the
    door, and her battery. The watchdog's next look is recomputed in the same transaction."""
    state = walk.state
    if state in (WalkState.ACTIVE, WalkState.AT_DOOR):
        state = door_after_fix(state, walk.destination, fix)
    before = (
        Progress(walk.progress_m, walk.progress_at or walk.started_at, walk.away_since)
        if walk.progress_m is not None
        else None
    )
    progress = progress_after(before, walk.destination.distance_from(fix.lat, fix.lon), fix.t_ms)
    door_at = walk.door_at
    if state is WalkState.AT_DOOR and walk.state is not WalkState.AT_DOOR:
        door_at = fix.t_ms
    elif state is WalkState.ACTIVE:
        door_at = None
    battery = fix.battery_pct if fix.battery_pct is not None else walk.last_battery_pct
    notice = battery_notice(walk.battery_notice, fix.battery_pct)
    saved = walks.save(
        tx,
        walk,
        state if state is not walk.state else None,
        last_fix_at=fix.t_ms,
        last_lat=fix.lat,
        last_lon=fix.lon,
        last_accuracy_m=fix.accuracy_m,
        last_speed_mps=fix.speed_mps,
        last_bearing_deg=fix.bearing_deg,
        last_battery_pct=battery,
        progress_m=progress.progress_m,
        progress_at=progress.progress_at,
        away_since=progress.away_since,
        door_at=door_at,
        battery_notice=notice if notice is not None else walk.battery_notice,
    )
    if state is not walk.state:
        kind = "arrived" if state is WalkState.AT_DOOR else "left_door"
        timeline.record(tx, walk.id, kind, fix_t=fix.t_ms)
    if notice is not None:
        # Not an alarm: a word to the companions while the phone can still send one.
        facts: dict[str, Any] = {
            "battery": fix.battery_pct,
            "position": {
                "t": fix.t_ms,
                "lat": fix.lat,
                "lon": fix.lon,
                "accuracy": fix.accuracy_m,
                "bearing": fix.bearing_deg,
            },
        }
        event_id = timeline.record(tx, walk.id, "low_battery", **facts)
        alerts.tell(
            tx,
            walk,
            "low_battery",
            facts,
            alerts.companion_ids(tx.conn, walk.id),
            event_id=event_id,
        )
    return saved


def _last_trusted(walk: Walk) -> Fix | None:
    if walk.last_fix_at is None or walk.last_lat is None or walk.last_lon is None:
        return None
    return Fix(walk.last_fix_at, walk.last_lat, walk.last_lon, walk.last_accuracy_m)


def _trusted_before(conn: Connection, walk_id: int, t_ms: int) -> Fix | None:
    row = conn.execute(
        sa.select(fixes.c.taken_at, fixes.c.lat, fixes.c.lon, fixes.c.accuracy_m)
        .where(fixes.c.walk_id == walk_id, fixes.c.taken_at < t_ms, fixes.c.flag.is_(None))
        .order_by(fixes.c.taken_at.desc())
        .limit(1)
    ).first()
    return Fix(row.taken_at, row.lat, row.lon, row.accuracy_m) if row else None
