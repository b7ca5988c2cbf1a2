"""The one path every fix takes, whatever protocol brought it.

An adapter parses its payload into `Fix`es (refusing malformed ones by name) and submits
`record_fixes` to the writer. Here, in the writer's transaction: fixes that belong to no live
walk of the device's owner are dropped (location is kept only during walks); the rest are
stored once each (a re-sent fix is a no-op); implausible ones are stored but flagged; the
newest trusted fix moves the walk (never an older one that arrived late). A fix is kept once
per walk it belongs to (see `record_fixes` for the one case where that is two walks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Invalid
from walkwithme.domain.fixes import Fix, check_fix, implausibility, parse_fix
from walkwithme.domain.rules import Progress, adapted_arrival, battery_notice, progress_after
from walkwithme.domain.walks import WalkState, door_after_fix
from walkwithme.store.schema import devices, fixes
from walkwithme.store.schema import walks as walks_table
from walkwithme.store.writer import NewFixes, Tx
from walkwithme.streets import DistanceField, StreetMap
from walkwithme.usecases import alerts, timeline, walks
from walkwithme.usecases.devices import Device
from walkwithme.usecases.walks import Walk, walks_taking_fixes

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
            _not_in_seconds(fix)
            check_fix(fix, now_ms)
        except Invalid as exc:
            parsed.append(Outcome("refused", exc.message, exc.field))
        else:
            parsed.append(fix)
    return parsed


# Epoch milliseconds of today are about 1.7e12; epoch seconds about 1.7e9. A `t` between these
# bounds is a time in seconds (any millisecond time in it is before 1973).
_SECONDS_FROM, _SECONDS_UNTIL = 1_000_000_000, 100_000_000_000


def _not_in_seconds(fix: Fix) -> None:
    if _SECONDS_FROM <= fix.t_ms < _SECONDS_UNTIL:
        raise Invalid(
            f"t is in seconds ({fix.t_ms}): give epoch milliseconds ({fix.t_ms * 1000})",
            field="t",
        )


FIELDS = ("t", "lat", "lon", "accuracy", "speed", "bearing", "altitude", "battery")
# Other apps' names for them (OwnTracks', Traccar's, GPX's...), said back to whoever uses them.
_MEANT = {
    "acc": "accuracy",
    "hacc": "accuracy",
    "batt": "battery",
    "bat": "battery",
    "vel": "speed (in m/s: OwnTracks' vel is km/h)",
    "cog": "bearing",
    "heading": "bearing",
    "course": "bearing",
    "alt": "altitude",
    "ele": "altitude",
    "tst": "t (in epoch milliseconds: OwnTracks' tst is seconds)",
    "timestamp": "t (in epoch milliseconds)",
    "time": "t (in epoch milliseconds)",
    "latitude": "lat",
    "longitude": "lon",
    "lng": "lon",
}


def unknown_fields(item: object) -> str | None:
    """A word for the client about fields of a fix that nothing reads (they are ignored, so
    a battery sent as `batt` would never warn anyone of a dying phone), or None."""
    if not isinstance(item, dict):
        return None
    unknown = sorted(str(key) for key in item if key not in FIELDS)
    if not unknown:
        return None
    said = [
        f"{key!r} (did you mean {_MEANT[key]}?)" if key in _MEANT else repr(key) for key in unknown
    ]
    return "ignored, not a field of a fix: " + ", ".join(said)


def record_fixes(
    tx: Tx, device: Device, batch: list[Parsed], streets: StreetMap | None = None
) -> list[Outcome]:
    """The batch is judged in memory, in time order, and written at once: one insert for its
    fixes and one update of the walk, however many fixes it holds. With `streets`, the
    distance she has left is walked along them.

    While the silent alarm of her duress PIN holds an older walk open (over, for her
    devices), the batch is recorded for it too, the same way: the people looking for her go
    on seeing where she is, whatever walk she was made to start since. Her phone is told
    what her newest walk made of its fixes."""
    outcomes: list[Outcome | None] = [p if isinstance(p, Outcome) else None for p in batch]
    todo = sorted(
        ((i, p) for i, p in enumerate(batch) if isinstance(p, Fix)), key=lambda item: item[1].t_ms
    )
    if not todo:
        return [o for o in outcomes if o is not None]
    taking = walks_taking_fixes(tx.conn, device.person_id)
    tx.conn.execute(_SEEN, {"device_id": device.id, "now": tx.now_ms})
    if not taking:
        for index, _fix in todo:
            outcomes[index] = Outcome("not_kept", NO_WALK)
        return [o for o in outcomes if o is not None]
    newest, *held_open = taking
    told = _record_on(tx, newest, device, todo, streets)
    for walk in held_open:
        _record_on(tx, walk, device, todo, streets)
    if not newest.walker_live:
        # Her duress PIN ended the walk for her devices while it stays open in a silent alarm:
        # the fixes are kept, for those looking for her, and her phone is told what it would
        # have been told of a walk that is over.
        told = {index: Outcome("not_kept", NO_WALK) for index, _fix in todo}
    for index, outcome in told.items():
        outcomes[index] = outcome
    return [o for o in outcomes if o is not None]


def _record_on(
    tx: Tx, walk: Walk, device: Device, todo: list[tuple[int, Fix]], streets: StreetMap | None
) -> dict[int, Outcome]:
    """The batch's fixes (in time order), kept for one walk: each at most once for it."""
    outcomes: dict[int, Outcome] = {}
    stored = _already_stored(tx.conn, walk.id, device.id, [fix.t_ms for _i, fix in todo])
    track = Track(walk, tx.now_ms, _field(streets, walk))
    rows = []
    for index, fix in todo:
        if fix.t_ms < walk.started_at - START_SLACK_MS:
            outcomes[index] = Outcome("not_kept", "taken before the walk started")
            continue
        if fix.t_ms in stored:
            outcomes[index] = Outcome("duplicate")
            continue
        stored.add(fix.t_ms)
        flag = implausibility(fix, track.previous_trusted(tx.conn, fix.t_ms))
        rows.append(_row(walk.id, device.id, fix, flag, tx.now_ms))
        if flag:
            outcomes[index] = Outcome("flagged", f"kept out of the map: {flag}")
        else:
            track.add(fix)
            outcomes[index] = Outcome("accepted")
    if rows:
        # Numbered in the walk's own track; the walk's row is locked until the commit, so the
        # numbers are in the order the fixes are committed.
        last = int(tx.conn.execute(_NUMBER, {"walk_id": walk.id, "n": len(rows)}).scalar_one())
        for seq, row in enumerate(rows, start=last - len(rows) + 1):
            row["seq"] = seq
        # Another process may have stored the same instant meanwhile (PostgreSQL with several
        # workers): the constraint keeps it once.
        tx.conn.execute(_insert_statement(tx.conn.dialect.name), rows)
        tx.touch(walk.id)
    track.save(tx)
    if rows:
        # Its live streams are handed what they would read back (said last: a job that raises
        # before this point says nothing of fixes it won't keep).
        shown = [timeline.shown_fix(row["seq"], row) for row in rows if row["flag"] is None]
        tx.added_fixes(walk.id, NewFixes(rows[0]["seq"], rows[-1]["seq"], shown))
    return outcomes


NO_WALK = "no walk is live: location is kept only during walks"

_SEEN = (
    devices.update()
    .where(devices.c.id == sa.bindparam("device_id"))
    .values(last_seen_at=sa.bindparam("now"))
)


_NUMBER = (
    walks_table.update()
    .where(walks_table.c.id == sa.bindparam("walk_id"))
    .values(fix_seq=walks_table.c.fix_seq + sa.bindparam("n"))
    .returning(walks_table.c.fix_seq)
)

_STORED = sa.select(fixes.c.taken_at).where(
    fixes.c.walk_id == sa.bindparam("walk_id"),
    fixes.c.device_id == sa.bindparam("device_id"),
    fixes.c.taken_at.in_(sa.bindparam("instants", expanding=True)),
)


def is_stored(conn: Connection, walk_id: int, device_id: int, t_ms: int) -> bool:
    """This device's fix of this instant is kept for the walk already."""
    return bool(_already_stored(conn, walk_id, device_id, [t_ms]))


def _already_stored(
    conn: Connection, walk_id: int, device_id: int, instants: list[int]
) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(instants), 500):
        chunk = instants[start : start + 500]
        params = {"walk_id": walk_id, "device_id": device_id, "instants": chunk}
        found.update(conn.execute(_STORED, params).scalars())
    return found


def _row(walk_id: int, device_id: int, fix: Fix, flag: str | None, now: int) -> dict[str, Any]:
    return {
        "walk_id": walk_id,
        "device_id": device_id,
        "taken_at": fix.t_ms,
        "lat": fix.lat,
        "lon": fix.lon,
        "accuracy_m": fix.accuracy_m,
        "speed_mps": fix.speed_mps,
        "bearing_deg": fix.bearing_deg,
        "altitude_m": fix.altitude_m,
        "battery_pct": fix.battery_pct,
        "flag": flag,
        "received_at": now,
    }


_INSERTS = {
    "postgresql": postgresql.insert(fixes).on_conflict_do_nothing(
        index_elements=["walk_id", "device_id", "taken_at"]
    ),
    "sqlite": sqlite.insert(fixes).on_conflict_do_nothing(
        index_elements=["walk_id", "device_id", "taken_at"]
    ),
}


def _insert_statement(dialect: str) -> sa.Insert:
    return _INSERTS["postgresql" if dialect == "postgresql" else "sqlite"]


def _field(streets: StreetMap | None, walk: Walk) -> DistanceField | None:
    """The walk's distance field, made when the walk started (so this is a lookup), or after a
    restart at its first fix. None without streets, or for a destination beyond the map."""
    dest = walk.destination
    if streets is None or dest is None:
        return None
    return streets.field_to(dest.lat, dest.lon)


class Track:
    """The walk as a batch of trusted fixes moves it, folded in memory in time order: where
    she is, how far she has left, the door, her battery. Saved once, with its events."""

    def __init__(self, walk: Walk, now_ms: int, field: DistanceField | None = None) -> None:
        self.before = walk
        self.now_ms = now_ms
        self.field = field
        self.state = walk.walker_state  # under a duress PIN's cover, the door moves the cover
        self.values: dict[str, Any] = {}
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.last: Fix | None = _last_trusted(walk)
        self.latest_at = walk.last_fix_at
        self.progress = (
            Progress(walk.progress_m, walk.progress_at or walk.started_at, walk.away_since)
            if walk.progress_m is not None
            else None
        )
        self.door_at = walk.door_at
        self.expected_at = walk.expected_at
        self.measured_from = (
            (walk.measured_m, walk.measured_at)
            if walk.measured_m is not None and walk.measured_at is not None
            else None
        )
        self.battery = walk.last_battery_pct
        self.notice = walk.battery_notice
        self.batch_trusted: Fix | None = None  # the latest trusted fix of this batch so far

    def previous_trusted(self, conn: Connection, t_ms: int) -> Fix | None:
        """The trusted fix just before `t_ms`: from this batch, the walk, or (for a fix that
        arrived late) the stored track."""
        if self.latest_at is None or min(t_ms, self.now_ms) > self.latest_at:
            return self.last
        stored = _trusted_before(conn, self.before.id, t_ms)
        here = self.batch_trusted
        if here is not None and (stored is None or here.t_ms > stored.t_ms):
            return here
        return stored

    def add(self, fix: Fix) -> None:
        self.batch_trusted = fix
        # The rules count time by the server's clock: a phone whose clock runs ahead must not
        # hold the walk still (every later fix would look late) or push its deadlines out.
        t = min(fix.t_ms, self.now_ms)
        if self.latest_at is not None and t <= self.latest_at:
            return  # late: stored, drawn in its place, but it never moves the walk back
        walk = self.before
        previous = self.last
        self.latest_at = t
        self.last = fix
        state = self.state
        if walk.destination is not None and state in (WalkState.ACTIVE, WalkState.AT_DOOR):
            state = door_after_fix(state, walk.destination, fix)
        if state is not self.state:
            self.door_at = t if state is WalkState.AT_DOOR else None
            kind = "arrived" if state is WalkState.AT_DOOR else "left_door"
            self.events.append((kind, {"fix_t": fix.t_ms}))
            self.state = state
        if walk.destination is not None:
            # Measured from wherever she is, never from the route the server would take: she
            # may choose another street, and that is no reason to worry.
            remaining = (
                self.field.walking_distance_left(
                    fix.lat, fix.lon, (previous.lat, previous.lon) if previous else None
                )
                if self.field is not None
                else walk.destination.distance_from(fix.lat, fix.lon)
            )
            self.progress = progress_after(self.progress, remaining, t)
            self._adapt_arrival(max(0.0, remaining - walk.destination.radius_m), t)
        if fix.battery_pct is not None:
            self.battery = fix.battery_pct
        notice = battery_notice(self.notice, fix.battery_pct)
        if notice is not None:
            self.notice = notice
            # Not an alarm: a word to the companions while the phone can still send one.
            self.events.append(
                (
                    "low_battery",
                    {
                        "battery": fix.battery_pct,
                        "position": {
                            "t": fix.t_ms,
                            "lat": fix.lat,
                            "lon": fix.lon,
                            "accuracy": fix.accuracy_m,
                            "bearing": fix.bearing_deg,
                        },
                    },
                )
            )
        progress = self.progress
        self.values = {
            "last_fix_at": t,
            "last_lat": fix.lat,
            "last_lon": fix.lon,
            "last_accuracy_m": fix.accuracy_m,
            "last_speed_mps": fix.speed_mps,
            "last_bearing_deg": fix.bearing_deg,
            "last_battery_pct": self.battery,
            "progress_m": progress.progress_m if progress else None,
            "progress_at": progress.progress_at if progress else walk.progress_at,
            "away_since": progress.away_since if progress else None,
            "door_at": self.door_at,
            "battery_notice": self.notice,
            "expected_at": self.expected_at,
            "measured_m": self.measured_from[0] if self.measured_from else None,
            "measured_at": self.measured_from[1] if self.measured_from else None,
        }

    def _adapt_arrival(self, left_m: float, t: int) -> None:
        """Her pace is measured from her first fix; while she keeps making progress, a slower
        pace than planned moves her expected arrival (and the timeline says so)."""
        if self.measured_from is None:
            self.measured_from = (left_m, t)
            return
        if self.progress is None or self.progress.progress_at != t:
            return  # no progress with this fix: no more time
        if not self.before.walker_live:
            return  # over, for her devices (her duress PIN): what they show doesn't move
        later = adapted_arrival(
            self.expected_at, self.before.started_at, self.measured_from, left_m, t
        )
        if later is not None:
            self.expected_at = later
            self.events.append(("expected_later", {"expected_at": later}))

    def save(self, tx: Tx) -> None:
        if not self.values:
            return
        walk = self.before
        if walk.covert:
            walks.save(tx, walk, cover_state=self.state.value, **self.values)
        else:
            target = self.state if self.state is not walk.state else None
            # A batch can leave and come back to the door: the net change is what is saved.
            walks.save(tx, walk, target, **self.values)
        companions = alerts.companion_ids(tx.conn, walk.id) if self.events else []
        for kind, facts in self.events:
            event_id = timeline.record(tx, walk.id, kind, audience=walk.everyone, **facts)
            if kind == "low_battery":
                alerts.tell(tx, walk, kind, facts, companions, event_id=event_id)


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
