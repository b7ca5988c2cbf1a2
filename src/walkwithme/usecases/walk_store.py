"""A walk as stored: reading it (and keeping the walks her fixes go to in the writer's memo),
and the one way to change it (`save`, a conditional update on the version it was read as that
also says when the watchdog should look at it next). Its record is usecases/walk_record.py's.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from walkwithme.domain import walks as rules
from walkwithme.domain.errors import Changed
from walkwithme.domain.fixes import Fix
from walkwithme.domain.walks import LIVE_VALUES, WalkState
from walkwithme.store import pg_writes
from walkwithme.store.database import Prepared
from walkwithme.store.schema import FIX_IDENTITY, fixes, share_links, walks
from walkwithme.store.tx import Tx
from walkwithme.usecases.walk_columns import KEPT, KEPT_COLUMNS
from walkwithme.usecases.walk_record import WALK_COLUMNS, Walk, walk_from_row, walk_of, walk_with

# Built once: these run for every fix and every live update, and building a statement costs
# more than running it on SQLite.
_BY_ID = sa.select(*WALK_COLUMNS).where(walks.c.id == sa.bindparam("walk_id"))
_LIVE_OF = (
    sa.select(*WALK_COLUMNS)
    .where(walks.c.walker_id == sa.bindparam("walker_id"), walks.c.state.in_(LIVE_VALUES))
    .order_by(walks.c.id.desc())
)
# The same, run on the DB-API cursor (the one path of fixes runs it for every fix).
_LIVE_OF_PREPARED = Prepared(
    sa.select(*WALK_COLUMNS)
    .where(
        walks.c.walker_id == sa.bindparam("walker_id"),
        walks.c.state.in_([sa.literal_column(f"'{state}'") for state in LIVE_VALUES]),
    )
    .order_by(walks.c.id.desc())
)


def get_walk(conn: Connection, walk_id: int) -> Walk | None:
    row = conn.execute(_BY_ID, {"walk_id": walk_id}).first()
    return walk_from_row(row) if row else None


def live_walk_of(conn: Connection, walker_id: int) -> Walk | None:
    """Her live walk (the newest, if a silent alarm still holds an older one open)."""
    row = conn.execute(_LIVE_OF, {"walker_id": walker_id}).first()
    return walk_from_row(row) if row else None


def walks_taking_fixes(conn: Connection, walker_id: int) -> list[Walk]:
    """The walks her phone's fixes belong to, newest first: her live walk, and any older one
    that the silent alarm of her duress PIN holds open (the people looking for her follow it,
    though her devices were shown it over)."""
    found = [walk_of(row) for row in _LIVE_OF_PREPARED.mappings(conn, {"walker_id": walker_id})]
    return found[:1] + [walk for walk in found[1:] if walk.covert]


def kept_walks_taking_fixes(tx: Tx, walker_id: int) -> list[Walk]:
    """The same, kept in the writer's memo from one fix to the next as they were saved (her
    phone sends a fix every few seconds: reading her walks back for each one took about a
    sixth of the writer's time for a fix). Every save of a kept walk is conditional on its
    `version`, so a walk another process or a command changed meanwhile makes the save fail
    (the writer runs the job again, and it reads them afresh), never a save of what the walk
    no longer is. Kept only while her newest walk is live for her: she can't start another
    one then (so none can appear that the memo doesn't know of), and no walk is kept when
    none is live."""
    key = (_KEPT, walker_id)
    kept: list[Walk] | None = tx.memo.get(key)
    if kept is None:
        kept = walks_taking_fixes(tx.conn, walker_id)
        if kept and kept[0].walker_live:
            tx.memo[key] = kept
    return kept


_KEPT = "walks taking fixes"


def _keep(tx: Tx, saved: Walk) -> None:
    """A walk just saved, in place of what the memo kept of it (if it kept it)."""
    key = (_KEPT, saved.walker_id)
    kept: list[Walk] | None = tx.memo.get(key)
    if kept is None:
        return
    kept = [saved if walk.id == saved.id else walk for walk in kept]
    if kept[0].walker_live and all(walk.live for walk in kept):
        tx.memo[key] = kept
    else:  # the walks her fixes go to change: read afresh for her next fix
        del tx.memo[key]


def save(tx: Tx, walk: Walk, target: WalkState | None = None, **values: Any) -> Walk:
    """Change a walk: a conditional update on the version it was read as (so a decision taken
    on stale facts changes nothing, whatever changed it since), which moves it to `target` (a
    legal transition) if given, and recomputes when the watchdog should look at it next from
    the walk as it now is. Returns the walk as saved."""
    saving = _Saving(walk, target, values)
    if _update_statement(saving.columns).rowcount(tx.conn, saving.params) != 1:
        _changed_meanwhile()
    return saving.saved(tx)


def save_with_fix(
    tx: Tx, walk: Walk, fix: Mapping[str, Any], target: WalkState | None = None, **values: Any
) -> Walk | None:
    """On PostgreSQL, where each statement is a round trip the writer waits out: the same save,
    made in one statement with the insert of one fix of the walk's track (`fix`: its row, as
    usecases/fixes.py makes it), and only if the fix goes in. While the writer defers (a
    group's first run), the statement goes with the group's commit, and the walk is returned
    as saved: if it is not, the statement fails the group (store/pg_writes.py). Otherwise
    (the group's run again): None if that fix was stored already, and nothing changed;
    Conflict if the walk changed meanwhile, or another process numbered a fix of it with
    this number (the fix is taken back with the group)."""
    saving = _Saving(walk, target, values)
    params = {**saving.params, **{f"fix_{name}": value for name, value in fix.items()}}
    if pg_writes.defers(tx.conn):
        # Sent with the group's commit, and not read: if the fix was stored already or the
        # walk changed meanwhile, the statement fails the group, which runs again, not
        # deferred (store/pg_writes.py).
        pg_writes.defer(tx.conn, _with_fix_statement(saving.columns, tuple(fix), True), params)
        return saving.saved(tx)
    try:
        ((inserted, saved),) = _with_fix_statement(saving.columns, tuple(fix)).rows(tx.conn, params)
    except sa.exc.IntegrityError:
        _changed_meanwhile()
    if inserted is None:
        return None
    if saved is None:
        _changed_meanwhile()
    return saving.saved(tx)


class _Saving:
    """A walk's save, planned: its new state, the walk as it will be, the update's values."""

    def __init__(self, walk: Walk, target: WalkState | None, values: dict[str, Any]) -> None:
        self.walk = walk
        self.state = walk.state if target is None else rules.transition(walk.state, target)
        self.changed = _changed(walk, self.state, values)
        self.due = self.changed.due_at()
        self.columns = columns = tuple(sorted(values))
        self.params = {
            **dict(zip(_new_names(columns), [values[name] for name in columns], strict=True)),
            "new_state": self.state.value,
            "new_next_due_at": self.due,
            "new_version": walk.version + 1,
            "walk_id": walk.id,
            "seen_version": walk.version,
        }

    def saved(self, tx: Tx) -> Walk:
        """What follows the update that went through; the walk as saved."""
        walk, state, changed = self.walk, self.state, self.changed
        if state is not walk.state or _cover_state(changed) != _cover_state(walk):
            tx.touch(walk.id, access=True)  # live streams look at the walk again
        if walk.state is WalkState.ALARM and state is not WalkState.ALARM:
            # The alarm is over: the links made for it work one more hour, then show nothing.
            tx.conn.execute(
                share_links.update()
                .where(
                    share_links.c.walk_id == walk.id,
                    share_links.c.for_alarm.is_(True),
                    share_links.c.expires_at.is_(None),
                )
                .values(expires_at=tx.now_ms + ALARM_LINK_AFTER_MS)
            )
        # `changed` is a copy of its own, made for this save: set its due time and version in
        # place rather than copy the walk's thirty-odd fields again (every fix that moves a walk
        # comes here).
        object.__setattr__(changed, "next_due_at", self.due)
        object.__setattr__(changed, "version", walk.version + 1)
        _keep(tx, changed)
        return changed


def _changed_meanwhile() -> NoReturn:
    # What the memo kept of the walk goes with the job's failure: the writer empties it after
    # a group that failed, and `Tx.savepoint` after a savepoint taken back.
    raise Changed("the walk changed meanwhile; try again")


ALARM_LINK_AFTER_MS = 3_600_000


@functools.cache
def _new_names(columns: tuple[str, ...]) -> tuple[str, ...]:
    """The update's parameters for these columns' new values (`_update`)."""
    return tuple(f"new_{name}" for name in columns)


def _changed(walk: Walk, state: WalkState, values: dict[str, Any]) -> Walk:
    """The walk with these columns' new values: its fields', and those of the values it keeps
    in columns of their own (usecases/walk_columns.py): a value all of whose columns change
    is made from them (a fix's last position and progress), another from its columns as they
    were with these changed."""
    if KEPT_COLUMNS.isdisjoint(values):
        return walk_with(walk.__dict__, state=state, **values)  # only fields
    plain = {name: value for name, value in values.items() if name not in KEPT_COLUMNS}
    for kept in KEPT:
        if kept.columns.isdisjoint(values):
            continue
        if values.keys() >= kept.columns:
            plain[kept.field] = kept.of(values)
        else:
            plain[kept.field] = kept.of({**kept.columns_of(getattr(walk, kept.field)), **values})
    return walk_with(walk.__dict__, state=state, **plain)


def _cover_state(walk: Walk) -> WalkState | None:
    return walk.cover.state if walk.cover is not None else None


@functools.cache
def _update_statement(columns: tuple[str, ...]) -> Prepared:
    """The conditional update for this set of columns, built once (and run on the DB-API
    cursor: every fix that moves a walk saves it)."""
    return Prepared(_update(columns))


@functools.cache
def _with_fix_statement(
    columns: tuple[str, ...], fix_columns: tuple[str, ...], expected: bool = False
) -> Prepared:
    """PostgreSQL: the fix's insert (skipped if it is stored already) and the walk's
    conditional update, made only if the fix went in, as one statement; it says what each did
    (the fix's instant, the walk's id: NULL where nothing was done). `expected`: instead, it
    fails unless both were done (`wwm_expect`, migration 0029)."""
    inserted = (
        postgresql.insert(fixes)
        .values({name: sa.bindparam(f"fix_{name}") for name in fix_columns})
        .on_conflict_do_nothing(index_elements=list(FIX_IDENTITY))
        .returning(fixes.c.taken_at)
        .cte("inserted")
    )
    saved = (
        _update(columns)
        .where(sa.exists(sa.select(inserted.c.taken_at)))
        .returning(walks.c.id)
        .cte("saved")
    )
    if expected:
        done = sa.select(saved.c.id).scalar_subquery().is_not(None)
        return Prepared(sa.select(sa.func.wwm_expect(done, _NOT_DONE)))
    return Prepared(
        sa.select(
            sa.select(inserted.c.taken_at).scalar_subquery(),
            sa.select(saved.c.id).scalar_subquery(),
        )
    )


# What the server's log says when a deferred fix was not stored, or its walk not saved.
_NOT_DONE: sa.ColumnElement[str] = sa.literal_column(
    "'a fix stored already, or its walk changed meanwhile'"
)


def _update(columns: tuple[str, ...]) -> sa.Update:
    return (
        walks.update()
        .where(
            walks.c.id == sa.bindparam("walk_id"), walks.c.version == sa.bindparam("seen_version")
        )
        .values(
            {
                name: sa.bindparam(f"new_{name}")
                for name in (*columns, "state", "next_due_at", "version")
            }
        )
    )


def trusted_before(conn: Connection, walk_id: int, t_ms: int | None) -> Fix | None:
    """The walk's stored trusted fix just before `t_ms` (None: its newest)."""
    row = conn.execute(
        _TRUSTED_BEFORE, {"walk_id": walk_id, "before": t_ms if t_ms is not None else 2**62}
    ).first()
    return Fix(row.taken_at, row.lat, row.lon, row.accuracy_m) if row else None


_TRUSTED_BEFORE = (
    sa.select(fixes.c.taken_at, fixes.c.lat, fixes.c.lon, fixes.c.accuracy_m)
    .where(
        fixes.c.walk_id == sa.bindparam("walk_id"),
        fixes.c.taken_at < sa.bindparam("before"),
        fixes.c.flag.is_(None),
    )
    .order_by(fixes.c.taken_at.desc())
    .limit(1)
)
