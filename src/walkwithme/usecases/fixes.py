"""The one path every fix takes, whatever protocol brought it.

An adapter parses its payload into `Fix`es (refusing malformed ones by name) and submits
`record_fixes` to the writer. Here, in the writer's transaction: fixes that belong to no live
walk of the device's owner are dropped (location is kept only during walks); the rest are
stored once each (a re-sent fix is a no-op); implausible ones are stored but flagged; the
newest trusted fix moves the walk (never an older one that arrived late). A fix is kept once
per walk it belongs to (see `record_fixes` for the one case where that is two walks).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from walkwithme.domain.errors import Changed, Invalid
from walkwithme.domain.fixes import (
    AGREEING_RUN,
    JUMP,
    Fix,
    a_run_that_agrees,
    check_fix,
    implausibility,
    parse_fix,
)
from walkwithme.domain.phone_clock import OFF_MS
from walkwithme.store.database import Prepared
from walkwithme.store.schema import FIX_IDENTITY, devices, fixes
from walkwithme.store.tx import NewFixes, Tx
from walkwithme.streets import DistanceField, StreetMap
from walkwithme.usecases import phone_clocks, timeline
from walkwithme.usecases.devices import Device
from walkwithme.usecases.track import Track
from walkwithme.usecases.walk_record import Walk
from walkwithme.usecases.walk_store import kept_walks_taking_fixes

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


@dataclass(frozen=True)
class Heard:
    """What the message a batch came in says of her phone besides its fixes."""

    # It came from her phone now, so her phone is alive now, whatever its fixes' times say
    # (False: through an MQTT broker, which may relay a backlog held while the service was
    # away, or its retained copy handed again on subscribing: neither says anything of now).
    arrived: bool = True
    # A heartbeat without a position (Traccar Client 10's, when the phone has no fresh fix):
    # the time the phone gave it, and its battery.
    alive_ms: int | None = None
    battery: float | None = None
    # Its times say how her phone's clock runs against ours (not a broker's retained copy of
    # an old message): usecases/phone_clocks.py.
    clock: bool = True
    # On its charger: a low battery it brings is said so ("It is charging") as it is made.
    charging: bool = False


FROM_HER_PHONE = Heard()
# The answers most fixes get (an outcome is a value: one of each serves them all).
ACCEPTED = Outcome("accepted")
DUPLICATE = Outcome("duplicate")
# A phone that says it was in two places at one instant (a clock that counts whole seconds, or
# a position corrected after it was sent): the first is kept, and her devices page says why
# the second is not on the map.
ANOTHER_AT_THAT_TIME = Outcome(
    "duplicate", "another position with the same time as one kept already: not kept", "t"
)


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
_FIELD_SET = frozenset(FIELDS)
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
    if not isinstance(item, dict) or _FIELD_SET.issuperset(item):
        return None
    unknown = sorted(str(key) for key in item if key not in FIELDS)
    if not unknown:
        return None
    said = [
        f"{key!r} (did you mean {_MEANT[key]}?)" if key in _MEANT else repr(key) for key in unknown
    ]
    return "ignored, not a field of a fix: " + ", ".join(said)


def record_fixes(
    tx: Tx,
    device: Device,
    batch: list[Parsed],
    streets: StreetMap | None = None,
    heard: Heard = FROM_HER_PHONE,
) -> list[Outcome]:
    """The batch is judged in memory, in time order, and written at once: one insert for its
    fixes and one update of the walk, however many fixes it holds. With `streets`, the
    distance she has left is walked along them.

    The message it came in (`heard`) shows her phone alive when it reached the server, even
    if none of its fixes is new, or it held none (a heartbeat, a message without a position,
    or one whose fixes were all refused): the walk's `heard_at` (track.Track.received).

    While the silent alarm of her duress PIN holds an older walk open (over, for her
    devices), the batch is recorded for it too, the same way: the people looking for her go
    on seeing where she is, whatever walk she was made to start since. Her phone is told
    what her newest walk made of its fixes."""
    outcomes: list[Outcome | None] = [p if isinstance(p, Outcome) else None for p in batch]
    todo = sorted(
        ((i, p) for i, p in enumerate(batch) if isinstance(p, Fix)), key=lambda item: item[1].t_ms
    )
    if not todo and not heard.arrived and heard.alive_ms is None:
        return [o for o in outcomes if o is not None]
    # By the service's clock from here on: her phone's may run minutes off.
    todo, alive_ms = phone_clocks.corrected(tx, device, todo, heard.alive_ms, learn=heard.clock)
    # Still ahead, as corrected: a fast clock not learned yet, or a garbled time.
    latest = tx.now_ms + OFF_MS
    for index, fix in todo:
        if fix.t_ms > latest:
            outcomes[index] = Outcome("refused", phone_clocks.FUTURE, "t")
    todo = [(index, fix) for index, fix in todo if fix.t_ms <= latest]
    if alive_ms is not None and alive_ms > latest:
        alive_ms = None
    if alive_ms != heard.alive_ms:
        heard = replace(heard, alive_ms=alive_ms)
    taking = kept_walks_taking_fixes(tx, device.person_id)
    _note_seen(tx, device.id)
    if not taking:
        for index, _fix in todo:
            outcomes[index] = Outcome("not_kept", NO_WALK)
        return [o for o in outcomes if o is not None]
    newest, *held_open = taking
    told = _record_on(tx, newest, device, todo, streets, heard)
    for walk in held_open:
        _record_on(tx, walk, device, todo, streets, heard)
    if not newest.walker_live:
        # Her duress PIN ended the walk for her devices while it stays open in a silent alarm:
        # the fixes are kept, for those looking for her, and her phone is told what it would
        # have been told of a walk that is over.
        told = {index: Outcome("not_kept", NO_WALK) for index, _fix in todo}
    for index, outcome in told.items():
        outcomes[index] = outcome
    return [o for o in outcomes if o is not None]


def _record_on(
    tx: Tx,
    walk: Walk,
    device: Device,
    todo: list[tuple[int, Fix]],
    streets: StreetMap | None,
    heard: Heard,
) -> dict[int, Outcome]:
    """The batch's fixes (in time order), kept for one walk: each at most once for it.

    A re-sent fix is rare, so the batch is first judged as if none of its fixes were stored,
    and inserted with `ON CONFLICT DO NOTHING`: the rows that come back are new, and if all
    do, that was the judgement. Otherwise the rows just inserted are taken out again and the
    batch is judged anew, knowing which fixes were stored already (each fix's flag and the
    walk's progress depend on the fixes before it)."""
    field = _field(streets, walk)
    judged = _judge(tx, walk, device, todo, field, set(), heard)
    if len(judged.rows) == 1 and _dialect(tx.conn) == "postgresql":
        # One fix to keep (most phones' way): its insert and the walk's save in one statement.
        # If it was stored already, nothing was done, and the batch is judged knowing it.
        if not judged.track.save(tx, 1, fix=judged.rows[0]):
            judged = _judge(tx, walk, device, todo, field, {judged.rows[0]["taken_at"]}, heard)
            judged.track.save(tx)  # nothing to keep now: the one fix was the stored one
    else:
        stored = _insert_new(tx, walk, device, judged.rows)
        if stored:
            judged = _judge(tx, walk, device, todo, field, stored, heard)
            if _insert_new(tx, walk, device, judged.rows):
                # Only another process's writer, since we read the walk, could have stored them.
                raise Changed(CHANGED)
        # Their count is saved with the walk, conditional on what the walk was read as.
        judged.track.save(tx, len(judged.rows))
    rows = judged.rows
    if rows:
        tx.touch(walk.id)
        # Its live streams are handed what they would read back (said last: a job that raises
        # before this point says nothing of fixes it won't keep).
        shown = [timeline.shown_fix(row["seq"], row) for row in rows if row["flag"] is None]
        tx.added_fixes(walk.id, NewFixes(rows[0]["seq"], rows[-1]["seq"], shown))
    return judged.outcomes


@dataclass
class _Judged:
    track: Track
    rows: list[dict[str, Any]]  # to insert, in time order, numbered on from the walk's fix_seq
    outcomes: dict[int, Outcome]


def _judge(
    tx: Tx,
    walk: Walk,
    device: Device,
    todo: list[tuple[int, Fix]],
    field: DistanceField | None,
    stored: set[int],
    heard: Heard,
) -> _Judged:
    """The batch judged in time order, knowing which of its instants are `stored` already;
    then what its message says of her phone (`heard`)."""
    outcomes: dict[int, Outcome] = {}
    track = Track(walk, tx.now_ms, field, charging=heard.charging)
    rows: list[dict[str, Any]] = []
    # Where each instant's fix is kept (read only for fixes stored already: a re-sent one).
    seen: dict[int, tuple[float, float] | None] = dict.fromkeys(stored)
    if stored:
        seen.update(_stored_at(tx.conn, walk.id, device.id, stored))
    for index, fix in todo:
        if fix.t_ms < walk.started_at - START_SLACK_MS:
            outcomes[index] = Outcome("not_kept", "taken before the walk started")
            continue
        if fix.t_ms in seen:
            kept = seen[fix.t_ms]
            same = kept is None or kept == (fix.lat, fix.lon)
            outcomes[index] = DUPLICATE if same else ANOTHER_AT_THAT_TIME
            continue
        seen[fix.t_ms] = (fix.lat, fix.lon)
        flag = implausibility(fix, track.previous_trusted(tx.conn, fix.t_ms))
        if flag == JUMP and a_run_that_agrees(_jumps_before(tx.conn, walk.id, fix, rows), fix):
            flag = None  # she is where they agree, not where the trusted fix before them was
        # Numbered on in the walk's own track, from its count as read. SQLite has one writer.
        # On PostgreSQL another process may have numbered fixes of the walk since: then the
        # first number is taken, the constraint on (walk, seq) refuses the insert, and the
        # job is run again (alone, reading the walk anew) or answered "send again". So the
        # numbers are gap-free, and in the order of the commits.
        row = _row(walk.id, device.id, fix, flag, tx.now_ms)
        row["seq"] = walk.fix_seq + len(rows) + 1
        rows.append(row)
        if flag:
            outcomes[index] = Outcome("flagged", f"kept out of the map: {flag}")
            track.heard(fix)  # not where she is, but her phone is alive, and its battery says
        else:
            track.add(fix)
            outcomes[index] = ACCEPTED
    if heard.alive_ms is not None and heard.alive_ms >= walk.started_at - START_SLACK_MS:
        track.alive(heard.alive_ms, heard.battery)
    if heard.arrived:
        # Here, once a batch, rather than per fix: a duplicate, a late fix, one taken before
        # the walk started, or none at all still show her phone alive; and a fix that moved
        # the walk writes it in the walk's one update (none, if the walk heard from her now).
        track.received()
    return _Judged(track, rows, outcomes)


def _jumps_before(
    conn: Connection, walk_id: int, fix: Fix, rows: list[dict[str, Any]]
) -> list[Fix]:
    """The walk's fixes just before `fix` in time (this batch's judged so far, and the stored
    track's), in time order, as long as each was flagged a jump: at most the run's length
    before it. Read only for a fix that is a jump itself (rare)."""
    wanted = AGREEING_RUN - 1
    here = [r for r in rows if r["taken_at"] < fix.t_ms]
    stored = conn.execute(_FIXES_BEFORE, {"walk_id": walk_id, "before": fix.t_ms, "count": wanted})
    found = sorted([*here, *stored.mappings()], key=lambda r: r["taken_at"])[-wanted:]
    jumps: list[Fix] = []
    for row in reversed(found):
        if row["flag"] != JUMP:
            break
        jumps.insert(0, Fix(row["taken_at"], row["lat"], row["lon"], row["accuracy_m"]))
    return jumps


_FIXES_BEFORE = (
    sa.select(fixes.c.taken_at, fixes.c.lat, fixes.c.lon, fixes.c.accuracy_m, fixes.c.flag)
    .where(fixes.c.walk_id == sa.bindparam("walk_id"), fixes.c.taken_at < sa.bindparam("before"))
    .order_by(fixes.c.taken_at.desc())
    .limit(sa.bindparam("count"))
)


def _insert_new(tx: Tx, walk: Walk, device: Device, rows: list[dict[str, Any]]) -> set[int]:
    """Insert the rows; the instants among them that were stored already (nothing of the
    batch is kept then: the rows that went in are taken out again)."""
    if not rows:
        return set()
    try:
        inserting = _INSERT_ONE[_dialect(tx.conn)]
        if len(rows) == 1:  # a fix a request, most phones' way: on the DB-API cursor
            new = {found[0] for found in inserting.rows(tx.conn, rows[0])}
        elif (many := inserting.rows_inserting(tx.conn, rows)) is not None:
            new = {found[0] for found in many}  # one statement of many rows, on SQLite
        else:  # one statement for the batch (SQLAlchemy's "insertmanyvalues")
            new = set(tx.conn.execute(_INSERTS[_dialect(tx.conn)], rows).scalars())
    except sa.exc.IntegrityError as exc:
        # Its numbers are taken: another process numbered fixes of the walk since we read it.
        raise Changed(CHANGED) from exc
    if len(new) == len(rows):
        return set()
    if new:  # these went in only now: ours alone
        tx.conn.execute(
            _UNDO, {"walk_id": walk.id, "device_id": device.id, "instants": sorted(new)}
        )
    return {row["taken_at"] for row in rows} - new


NO_WALK = "no walk is live: location is kept only during walks"

_SEEN = (
    devices.update()
    .where(devices.c.id == sa.bindparam("device_id"))
    .values(
        last_seen_at=sa.bindparam("now"),
        report_gap_ms=sa.bindparam("now") - devices.c.last_seen_at,
    )
)
# A device's last-seen time is written at most this often while its fixes come (it is shown
# as "2 minutes ago"; nothing judges by it: the rules count her silence on the walk's own
# times). Each write was a statement, and a page of the file, for every fix.
SEEN_EVERY_MS = 30_000
_SEEN_KEPT = "device seen"


def _note_seen(tx: Tx, device_id: int) -> None:
    """The device's last-seen time, written at the end of the group (once however many of
    its fixes the group holds), unless this writer wrote it less than SEEN_EVERY_MS ago (its
    memo says when; emptied, it writes again)."""
    key = (_SEEN_KEPT, device_id)
    written: int | None = tx.memo.get(key)
    if written is not None and 0 <= tx.now_ms - written < SEEN_EVERY_MS:
        return
    tx.later(_SEEN, device_id=device_id, now=tx.now_ms)
    tx.memo[key] = tx.now_ms


CHANGED = "the walk changed meanwhile; try again"

# Rows a batch has just inserted (they were not there before it: the insert skips those that were).
_UNDO = fixes.delete().where(
    fixes.c.walk_id == sa.bindparam("walk_id"),
    fixes.c.device_id == sa.bindparam("device_id"),
    fixes.c.taken_at.in_(sa.bindparam("instants", expanding=True)),
)

_STORED = sa.select(fixes.c.taken_at).where(
    fixes.c.walk_id == sa.bindparam("walk_id"),
    fixes.c.device_id == sa.bindparam("device_id"),
    fixes.c.taken_at.in_(sa.bindparam("instants", expanding=True)),
)


def _stored_at(
    conn: Connection, walk_id: int, device_id: int, instants: set[int]
) -> dict[int, tuple[float, float]]:
    """Where this device's fixes of these instants, kept for the walk already, say she was."""
    found = conn.execute(
        _STORED.add_columns(fixes.c.lat, fixes.c.lon),
        {"walk_id": walk_id, "device_id": device_id, "instants": sorted(instants)},
    )
    return {row.taken_at: (row.lat, row.lon) for row in found}


def is_stored(conn: Connection, walk_id: int, device_id: int, t_ms: int) -> bool:
    """This device's fix of this instant is kept for the walk already."""
    return (
        conn.execute(
            _STORED, {"walk_id": walk_id, "device_id": device_id, "instants": [t_ms]}
        ).first()
        is not None
    )


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


# A fix stored already (a re-sent one) is skipped, and the instants of those inserted come back.
_INSERTS = {
    "postgresql": postgresql.insert(fixes)
    .on_conflict_do_nothing(index_elements=list(FIX_IDENTITY))
    .returning(fixes.c.taken_at),
    "sqlite": sqlite.insert(fixes)
    .on_conflict_do_nothing(index_elements=list(FIX_IDENTITY))
    .returning(fixes.c.taken_at),
}


_ROW_KEYS = [*_row(0, 0, Fix(0, 0.0, 0.0), None, 0), "seq"]
_INSERT_ONE = {
    dialect: Prepared(statement, column_keys=_ROW_KEYS) for dialect, statement in _INSERTS.items()
}


def _dialect(conn: Connection) -> str:
    return "postgresql" if conn.dialect.name == "postgresql" else "sqlite"


# A destination farther than this from any street the map knows is beyond the map's edge (or
# down a way it doesn't have): the streets can't say how far she has left near it. Measured
# along them, a walker going straight to it from a side the map doesn't cover seemed to get
# no nearer: slow enough to be given more time she didn't need, which puts off her alarm.
DESTINATION_OFF_STREETS_M = 150.0


def _field(streets: StreetMap | None, walk: Walk) -> DistanceField | None:
    """The walk's distance field, made when the walk started (so this is a lookup), or after a
    restart at its first fix. None without streets, or for a destination beyond the map: her
    progress is then judged as the crow flies."""
    dest = walk.destination
    if streets is None or dest is None:
        return None
    field = streets.field_to(dest.lat, dest.lon)
    if field is None or field.destination_off_streets_m > DESTINATION_OFF_STREETS_M:
        return None
    return field
