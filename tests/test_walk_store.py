"""The walk as stored: made from its row and changed without `Walk.__init__` (walk_record's
`walk_with`), it must be the very walk `Walk(...)` and `dataclasses.replace` would make; and
kept by the writer between fixes, it must never overwrite what changed it elsewhere."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.people import HOME, START, Cast, between
from walkwithme.domain.errors import Conflict
from walkwithme.domain.rules import Progress
from walkwithme.domain.walks import WalkState
from walkwithme.store.schema import walks
from walkwithme.store.tx import Tx
from walkwithme.usecases import walk_record, walk_store
from walkwithme.usecases.walk_columns import Cover, Judged, LastFix, ShownToHer

# The walk's columns of where she was last seen, by the `LastFix` field each keeps: written out
# here rather than taken from walk_record, so that a mismatch of the two shows.
LAST_COLUMNS = {
    "last_fix_at": "at",
    "last_lat": "lat",
    "last_lon": "lon",
    "last_accuracy_m": "accuracy_m",
    "last_speed_mps": "speed_mps",
    "last_bearing_deg": "bearing_deg",
    "last_battery_pct": "battery_pct",
}
# And of how she gets nearer, by the `Progress` field each keeps (the same names).
PROGRESS_COLUMNS = ("progress_m", "progress_at", "away_since", "closer_m", "straight_m")
# And of what the rules did about it, by the `Judged` field each keeps (the same names; under
# her duress PIN's cover, `cover_` and the name).
JUDGED_COLUMNS = ("check_reason", "escalate_at")
_SOME = st.none() | st.integers(0, 2**40) | st.floats(-90, 90)

CHANGES = st.fixed_dictionaries(
    {},
    optional={
        **dict.fromkeys(LAST_COLUMNS, _SOME),
        "walker_last": st.none() | st.fixed_dictionaries(dict.fromkeys(LAST_COLUMNS, _SOME)),
        "walker_forgotten_at": st.none() | st.integers(0, 2**40),
        "progress_m": st.none() | st.floats(0, 10_000),
        "progress_at": st.integers(0, 2**40),
        "away_since": st.none() | st.integers(0, 2**40),
        "straight_m": st.none() | st.floats(0, 10_000),
        "check_reason": st.none() | st.sampled_from(["silent", "stalled"]),
        "escalate_at": st.none() | st.integers(0, 2**40),
        "cover_check_asked_at": st.none() | st.integers(0, 2**40),
        "wrong_pins": st.integers(0, 5),
        "fix_seq": st.integers(0, 10_000),
        "door_still": st.none(),
    },
)


def _last(columns: dict[str, Any]) -> dict[str, Any]:
    return {LAST_COLUMNS[name]: value for name, value in columns.items() if name in LAST_COLUMNS}


def _stored(cast: Cast) -> walk_record.Walk:
    _mira, _noor, phone, walk = cast.walking()
    cast.send(phone, cast.fix(between(START, HOME, 0.2)))
    found = cast.services.db.read_sync(lambda c: walk_store.get_walk(c, walk["id"]))
    assert found is not None
    return found


def test_a_walk_read_from_its_row_is_the_walk_its_fields_make(cast: Cast) -> None:
    walk = _stored(cast)
    made = walk_record.Walk(**{name: getattr(walk, name) for name in walk.__dataclass_fields__})
    assert walk == made
    assert walk.last.at is not None
    assert walk.due_at() == made.due_at()


@given(changes=CHANGES)
def test_a_walk_changed_is_what_replace_makes(changes: dict[str, Any]) -> None:
    walk = walk_record.Walk(
        id=1,
        walker_id=2,
        state=WalkState.ACTIVE,
        destination=None,
        pace_mps=1.4,
        timezone="Europe/Helsinki",
        started_at=1_000,
        expected_at=900_000,
        ended_at=None,
        last=LastFix(at=500, lat=60.1, lon=24.9, battery_pct=80.0),
        shown_to_her=ShownToHer(3, LastFix(at=400, lat=60.0, lon=24.8, battery_pct=90.0), 420),
        progress=Progress(1_200.0, 300, None, closer_m=1_180.0, straight_m=900.0),
        judged=Judged(check_reason="late", check_asked_at=700, quiet_rules="late=800"),
        cover=Cover(WalkState.ACTIVE, since=600, judged=Judged(check_asked_at=650)),
    )
    changed = walk_store._changed(walk, WalkState.AT_DOOR, dict(changes))
    kept = {
        "door_still",
        "walker_last",
        "walker_forgotten_at",
        "cover_check_asked_at",
        *LAST_COLUMNS,
        *PROGRESS_COLUMNS,
        *JUDGED_COLUMNS,
    }
    plain = {k: v for k, v in changes.items() if k not in kept}
    expected = replace(walk, state=WalkState.AT_DOOR, still=None, **plain)
    # A column of its progress changes that, and keeps the others; no least distance left
    # is no progress counted yet.
    if any(name in changes for name in PROGRESS_COLUMNS):
        assert walk.progress is not None
        progress = replace(
            walk.progress, **{k: v for k, v in changes.items() if k in PROGRESS_COLUMNS}
        )
        expected = replace(expected, progress=progress if progress.progress_m is not None else None)
    # A column of its last fix changes that, and keeps the others.
    expected = replace(expected, last=walk.last._replace(**_last(changes)))
    # Where her devices saw her as the walk ended for them: the column keeps where she was
    # and when her phone was heard, together.
    assert walk.shown_to_her is not None
    shown = walk.shown_to_her
    if "walker_last" in changes:
        stored = changes["walker_last"] or {}
        shown = replace(shown, last=LastFix(**_last(stored)), heard_at=None)
    if "walker_forgotten_at" in changes:
        shown = replace(shown, forgotten_at=changes["walker_forgotten_at"])
    expected = replace(expected, shown_to_her=shown)
    # A column of what the rules did changes that, and keeps the rest; a column of the cover's,
    # the cover's (and not the walk's own).
    judged = replace(walk.judged, **{k: v for k, v in changes.items() if k in JUDGED_COLUMNS})
    assert walk.cover is not None
    cover = walk.cover
    if "cover_check_asked_at" in changes:
        asked = changes["cover_check_asked_at"]
        cover = replace(cover, judged=replace(cover.judged, check_asked_at=asked))
    expected = replace(expected, judged=judged, cover=cover)
    assert changed == expected
    assert walk.state is WalkState.ACTIVE  # the walk it was made from is untouched
    with pytest.raises(TypeError, match="not fields of a walk"):
        walk_store._changed(walk, walk.state, {"no_such_column": 1})


def _walk(cast: Cast, walk_id: int) -> walk_record.Walk:
    found = cast.services.db.read_sync(lambda c: walk_store.get_walk(c, walk_id))
    assert found is not None
    return found


def _elsewhere(cast: Cast, walk_id: int, **values: Any) -> None:
    """Change the walk as a command, or another `serve` process on the same database, would:
    not through this process's writer."""
    with cast.services.db.write_engine.begin() as conn:
        conn.execute(walks.update().where(walks.c.id == walk_id).values(**values))


def test_every_change_of_a_walk_moves_its_version_whoever_makes_it(cast: Cast) -> None:
    walk = _stored(cast)
    _elsewhere(cast, walk.id, expected_at=walk.expected_at + 600_000)
    changed = _walk(cast, walk.id)
    assert changed.version == walk.version + 1
    # A save made from the walk as it was before is refused, and changes nothing.
    with pytest.raises(Conflict):
        cast.services.writer.run_sync(lambda tx: walk_store.save(tx, walk, last_lat=1.0))
    assert _walk(cast, walk.id) == changed
    saved = cast.services.writer.run_sync(lambda tx: walk_store.save(tx, changed, last_lat=1.0))
    assert saved == _walk(cast, walk.id)
    assert saved.version == changed.version + 1


def test_a_walk_changed_elsewhere_between_two_fixes_keeps_that_change(cast: Cast) -> None:
    """Her walk is kept in memory by the writer from one fix to the next; a change made
    elsewhere meanwhile (here: 30 more minutes, asked on another process) must survive her
    next fix, which is kept on the walk as it now is."""
    _mira, noor, phone, walk = cast.walking()
    assert cast.statuses(phone, cast.fix(between(START, HOME, 0.1))) == ["accepted"]
    later = walk["expected_at"] + 30 * 60_000
    _elsewhere(cast, walk["id"], expected_at=later)
    cast.clock.advance(seconds=10)
    second = cast.fix(between(START, HOME, 0.2))
    assert cast.statuses(phone, second) == ["accepted"]
    now = _walk(cast, walk["id"])
    assert now.expected_at == later
    assert (now.last.lat, now.last.lon, now.fix_seq) == (second["lat"], second["lon"], 2)
    seen = cast.client.get(f"/api/walks/{walk['id']}", headers=noor.auth).json()
    assert seen["expected_at"] == later


def test_a_walk_ended_elsewhere_between_two_fixes_stays_ended(cast: Cast) -> None:
    _mira, _noor, phone, walk = cast.walking()
    assert cast.statuses(phone, cast.fix(between(START, HOME, 0.1))) == ["accepted"]
    cast.clock.advance(seconds=10)
    _elsewhere(cast, walk["id"], state="ended", ended_at=cast.clock.now_ms())
    cast.clock.advance(seconds=10)
    assert cast.statuses(phone, cast.fix(between(START, HOME, 0.2))) == ["not_kept"]
    now = _walk(cast, walk["id"])
    assert now.state is WalkState.ENDED
    assert now.fix_seq == 1


def test_a_fix_sent_again_changes_nothing_of_the_walk_but_when_her_phone_was_heard(
    cast: Cast,
) -> None:
    """On PostgreSQL a fix's insert and its walk's save are one statement: the save must
    not be made for a fix that was stored already. Only that her phone was heard from is
    saved (it sent it), and at once again, nothing at all: the walk heard from her then."""
    _mira, _noor, phone, walk = cast.walking()
    first = cast.fix(between(START, HOME, 0.1))
    assert cast.statuses(phone, first) == ["accepted"]
    cast.clock.advance(seconds=10)
    assert cast.statuses(phone, cast.fix(between(START, HOME, 0.2))) == ["accepted"]
    before = _walk(cast, walk["id"])
    cast.clock.advance(seconds=10)
    assert cast.statuses(phone, first) == ["duplicate"]
    after = _walk(cast, walk["id"])
    assert after.heard_at == cast.clock.now_ms()
    assert replace(
        after, heard_at=None, next_due_at=before.next_due_at, version=before.version
    ) == replace(before, heard_at=None)
    assert cast.statuses(phone, first) == ["duplicate"]
    assert _walk(cast, walk["id"]) == after  # not saved again


def test_what_a_savepoint_takes_back_is_not_kept_in_the_memo(cast: Cast) -> None:
    """A phone's SOS is taken even when the fix it came with can't be (a savepoint takes the
    fix back): her walks kept in memory must then be the walks as stored, not as saved in the
    savepoint, whose version the walk may reach later with other values."""
    walk = _stored(cast)

    def job(tx: Tx) -> tuple[walk_record.Walk, walk_record.Walk | None]:
        kept = walk_store.kept_walks_taking_fixes(tx, walk.walker_id)
        with contextlib.suppress(Conflict), tx.savepoint():
            walk_store.save(tx, kept[0], last_lat=1.0)
            raise Conflict("and then something else changed")
        return walk_store.kept_walks_taking_fixes(tx, walk.walker_id)[0], walk_store.get_walk(
            tx.conn, walk.id
        )

    kept, stored = cast.services.writer.run_sync(job)
    assert stored == walk
    assert kept == walk
