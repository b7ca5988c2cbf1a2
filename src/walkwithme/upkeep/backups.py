"""Backups of a SQLite data folder, consistent while the service writes, and their restore.

A backup is a folder: the database copied page by page with SQLite's online backup API (one
read transaction, so it is the database as it was at one moment, whatever the service wrote
meanwhile), and the keys the data folder holds beside it (the Web Push key: without it every
browser's subscription is orphaned). PostgreSQL has its own tools (docs/deploy.md).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from walkwithme.domain.walks import LIVE_VALUES

DATABASE = "walkwithme.db"
# Kept beside the database: the Web Push key, and a drill's clock (its walks are in its time).
KEPT_FILES = ("vapid.pem", "fast-clock.json")


class BackupError(Exception):
    """Said to the operator in one line; nothing was written."""


@dataclass(frozen=True)
class Copied:
    folder: Path
    files: tuple[str, ...]
    size: int  # bytes of the database
    live: int = 0  # walks going on when it was taken (restored: the watchdog judges them again)
    alarms: int = 0  # of them, in alarm


def _private_folder(folder: Path) -> None:
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty: choose a new folder (nothing was written)")
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)  # a backup holds where people walked, as the data folder does


def _copy_database(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one consistent moment
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no WAL beside
        finally:
            dst.close()
    finally:
        src.close()


def _check(database: Path) -> None:
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        (verdict,) = con.execute("PRAGMA integrity_check").fetchone()
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{database} is not a Walk With Me database: {exc}") from None
    finally:
        con.close()
    if verdict != "ok":
        raise BackupError(f"{database} is damaged: {verdict}")
    if not {"people", "walks", "alembic_version"} <= tables:
        raise BackupError(f"{database} is not a Walk With Me database")


@contextmanager
def _in_one_line(written: Path) -> Iterator[None]:
    """A folder that can't be written (a read-only disk, another account's) or a database
    that can't be read, said in one line, not a trace of 46 (an outside review); and the file
    begun, if any, taken away, so that nothing half-written looks like a database."""
    existed = written.exists()
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        if not existed and not isinstance(exc, FileExistsError):
            # (Only a file this run began: another's, made meanwhile, is kept: a diff review.)
            with suppress(OSError):  # (its folder may be what could not be made)
                written.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            where = exc.filename or written.parent
            raise BackupError(f"{where}: {exc.strerror or exc} (nothing was written)") from None
        raise BackupError(f"the database can't be read: {exc} (nothing was written)") from None


def backup(data_dir: Path, dest: Path) -> Copied:
    database = data_dir / DATABASE
    if not database.is_file():
        raise BackupError(f"there is no database in {data_dir} to back up")
    with _in_one_line(dest / DATABASE):
        return _backup(data_dir, database, dest)


def _backup(data_dir: Path, database: Path, dest: Path) -> Copied:
    _private_folder(dest)
    _copy_database(database, dest / DATABASE)
    _check(dest / DATABASE)
    kept = [DATABASE]
    for name in KEPT_FILES:
        if (data_dir / name).is_file():
            shutil.copy2(data_dir / name, dest / name)
            os.chmod(dest / name, 0o600)
            kept.append(name)
    return Copied(dest, tuple(kept), (dest / DATABASE).stat().st_size)


def restore(source: Path, data_dir: Path) -> Copied:
    """Into a data folder with no database (never over one: that would lose what it holds);
    the service migrates it on start if the backup is from an older release."""
    database = source / DATABASE
    if not database.is_file():
        raise BackupError(f"{source} holds no {DATABASE}: not a backup made by `walkwithme backup`")
    _check(database)
    if (data_dir / DATABASE).exists():
        raise BackupError(
            f"{data_dir} has a database already: restore into an empty data folder "
            "(nothing was changed)"
        )
    with _in_one_line(data_dir / DATABASE):
        return _restore(source, database, data_dir)


def _restore(source: Path, database: Path, data_dir: Path) -> Copied:
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)
    _copy_database(database, data_dir / DATABASE)
    kept = [DATABASE]
    for name in KEPT_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, data_dir / name)
            os.chmod(data_dir / name, 0o600)
            kept.append(name)
    live, alarms = _live_walks(data_dir / DATABASE)
    return Copied(data_dir, tuple(kept), (data_dir / DATABASE).stat().st_size, live, alarms)


def _live_walks(database: Path) -> tuple[int, int]:
    """The walks going on in this database, and how many of them are in alarm: restored, the
    watchdog judges them again at once, and an alarm resolved since the backup was taken
    climbed its ladder again to the emergency hook (an operator's first hour)."""
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        marks = ",".join("?" * len(LIVE_VALUES))
        live, alarms = con.execute(
            f"SELECT count(*), coalesce(sum(state = 'alarm'), 0) FROM walks "  # noqa: S608
            f"WHERE state IN ({marks})",
            tuple(LIVE_VALUES),
        ).fetchone()
    finally:
        con.close()
    return int(live), int(alarms)
