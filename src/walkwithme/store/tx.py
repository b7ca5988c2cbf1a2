"""What a job of the writer gets: its transaction (`Tx`), and what the group it runs in touched
(`Touched`), which the writer carries to the live streams and the other processes after the
commit (store/writer.py runs the jobs; store/pg_bell.py tells the other processes).
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.sql import Executable

from walkwithme.store.database import Writes


@dataclass(frozen=True)
class NewFixes:
    """Fixes one job added to a walk's track: numbered `first` to `last` (every one, trusted
    or flagged), and the trusted ones as companions are shown them. Carried with the ring to
    the walk's live streams, which then need not read them back (api/live.py)."""

    first: int
    last: int
    shown: list[dict[str, Any]]
    # The shown fixes as the live streams send them: made once, by the first stream that sends
    # them, for every stream of the walk (api/live.py).
    frames: list[str] = field(default_factory=list, compare=False, repr=False)
    # The same as one "fixes" message, for the streams that take fixes together.
    together: list[str] = field(default_factory=list, compare=False, repr=False)


@dataclass
class Touched:
    """The walks a group changed, and among them those where who may see them changed."""

    walks: set[int] = field(default_factory=set)
    access: set[int] = field(default_factory=set)
    events: set[int] = field(default_factory=set)  # walks with new timeline events
    alerts: bool = False  # new deliveries in the outbox
    devices: set[int] = field(default_factory=set)  # devices whose tokens no longer work
    # Every fix the group added, by walk, in the order they were numbered; `fixes_told` False:
    # not known (another process's commit, store/pg_bell.py): streams read them back.
    fixes: dict[int, list[NewFixes]] = field(default_factory=dict)
    fixes_told: bool = True

    def update(self, other: Touched) -> None:
        self.walks |= other.walks
        self.access |= other.access
        self.events |= other.events
        self.alerts = self.alerts or other.alerts
        self.devices |= other.devices
        for walk_id, added in other.fixes.items():
            self.fixes.setdefault(walk_id, []).extend(added)
        self.fixes_told = self.fixes_told and other.fixes_told

    def __bool__(self) -> bool:
        return bool(self.walks or self.devices)


@dataclass
class Tx:
    """What a job gets: the open transaction, the time of the group, and a note of the walks
    it changed (their live streams are told after the commit)."""

    conn: Connection
    now_ms: int
    touched: Touched = field(default_factory=Touched)
    # What jobs keep in memory from one group to the next, so that later ones need not read it
    # again (the walks her fixes go to: usecases/walk_store.py). The writer empties it after a
    # group that failed and after every job not submitted with `memo=True`: what it holds was
    # committed, and only jobs that keep it true have changed it since. What another process
    # or a command changes is not seen here: what is kept must be saved conditionally on
    # what it was read as (a walk's `version`), so that a stale value fails, never wins.
    memo: dict[Hashable, Any] = field(default_factory=dict)
    # What jobs learn from what they are sent and keep for later groups, whatever becomes of
    # the group: no committed state, only a guess the next message may correct (a phone's
    # clock: usecases/phone_clocks.py). Never emptied; lost at a restart, and learned again.
    learned: dict[Hashable, Any] = field(default_factory=dict)
    # Writes kept for the end of the transaction: by statement, each set of values once.
    _later: dict[int, tuple[Executable, dict[tuple[Any, ...], dict[str, Any]]]] = field(
        default_factory=dict
    )

    @contextlib.contextmanager
    def savepoint(self) -> Iterator[None]:
        """What the block writes, taken back if it raises (the rest of the job goes on); the
        memo is emptied then, since it may hold what was taken back."""
        try:
            with self.conn.begin_nested():
                yield
        except BaseException:
            self.memo.clear()
            raise

    def later(self, statement: Executable, **values: Any) -> None:
        """A write that may wait until every job of the group has run, and is made once however
        many of them ask for it with the same values (a device's last-seen time: once per device
        per group). Made before the commit, in the same transaction, as one executemany per
        statement; a savepoint rolled back does not take it back."""
        _statement, waiting = self._later.setdefault(id(statement), (statement, {}))
        waiting[tuple(sorted(values.items()))] = values

    def take_later(self) -> Writes:
        """The writes kept for the end of the transaction, to be made before the commit (the
        writer does, with the commit: store/database.py `commit_with`)."""
        writes: Writes = []
        while self._later:
            _key, (statement, waiting) = self._later.popitem()
            # In one order (rows locked in the same order by every process on PostgreSQL).
            writes.append((statement, [waiting[key] for key in sorted(waiting, key=repr)]))
        return writes

    def touch(self, walk_id: int, *, access: bool = False, events: bool = False) -> None:
        """`access`: who may see the walk may have changed (it ended, a contact ended, a link
        was revoked): open streams check again at once. `events`: its timeline grew."""
        self.touched.walks.add(walk_id)
        if access:
            self.touched.access.add(walk_id)
        if events:
            self.touched.events.add(walk_id)

    def added_fixes(self, walk_id: int, added: NewFixes) -> None:
        """Fixes the job added to the walk's track (every fix added must be said here)."""
        self.touch(walk_id)
        self.touched.fixes.setdefault(walk_id, []).append(added)

    def revoked(self, device_id: int) -> None:
        """The device's token no longer works: every process forgets it after the commit."""
        self.touched.devices.add(device_id)

    def alerted(self) -> None:
        """The job put deliveries in the outbox: the notifier is rung after the commit."""
        self.touched.alerts = True
