"""The walk as stored: made from its row and changed without `Walk.__init__` (walk_store's
`_walk_with`), it must be the very walk `Walk(...)` and `dataclasses.replace` would make."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.people import HOME, START, Cast, between
from walkwithme.domain.walks import WalkState
from walkwithme.usecases import walk_store

CHANGES = st.fixed_dictionaries(
    {},
    optional={
        "last_lat": st.floats(-90, 90),
        "last_fix_at": st.integers(0, 2**40),
        "progress_m": st.none() | st.floats(0, 10_000),
        "check_reason": st.none() | st.sampled_from(["silent", "stalled"]),
        "wrong_pins": st.integers(0, 5),
        "fix_seq": st.integers(0, 10_000),
        "door_still": st.none(),
    },
)


def _stored(cast: Cast) -> walk_store.Walk:
    _mira, _noor, phone, walk = cast.walking()
    cast.send(phone, cast.fix(between(START, HOME, 0.2)))
    found = cast.services.db.read_sync(lambda c: walk_store.get_walk(c, walk["id"]))
    assert found is not None
    return found


def test_a_walk_read_from_its_row_is_the_walk_its_fields_make(cast: Cast) -> None:
    walk = _stored(cast)
    made = walk_store.Walk(**{name: getattr(walk, name) for name in walk.__dataclass_fields__})
    assert walk == made
    assert walk.last_fix_at is not None
    assert walk.due_at() == made.due_at()


@given(changes=CHANGES)
def test_a_walk_changed_is_what_replace_makes(changes: dict[str, Any]) -> None:
    walk = walk_store.Walk(
        id=1,
        walker_id=2,
        state=WalkState.ACTIVE,
        destination=None,
        pace_mps=1.4,
        timezone="Europe/Helsinki",
        started_at=1_000,
        expected_at=900_000,
        ended_at=None,
        last_fix_at=None,
        last_lat=None,
        last_lon=None,
        last_accuracy_m=None,
        last_speed_mps=None,
        last_bearing_deg=None,
        last_battery_pct=None,
    )
    changed = walk_store._changed(walk, WalkState.AT_DOOR, dict(changes))
    plain = {k: v for k, v in changes.items() if k != "door_still"}
    assert changed == replace(walk, state=WalkState.AT_DOOR, still=None, **plain)
    assert walk.state is WalkState.ACTIVE  # the walk it was made from is untouched
    with pytest.raises(TypeError, match="not fields of a walk"):
        walk_store._changed(walk, walk.state, {"no_such_column": 1})
