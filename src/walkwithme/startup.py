"""What can stop the service from starting, said in one line that names the cause: a
database it can't reach, a data folder it can't write, a port that is taken. And the data
folder kept for the service's own account (0700, its files 0600), whatever the umask."""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import stat
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from walkwithme.clock import ahead_of_real, was_jumped
from walkwithme.config import Config
from walkwithme.store.migrate import NewerDatabase


def cause(exc: BaseException, config: Config) -> str:
    """The reason start-up failed, in words an operator can act on."""
    url = make_url(config.database_url)
    where = url.render_as_string(hide_password=True)
    if isinstance(exc, PermissionError) or (
        isinstance(exc, OSError) and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    ):
        return (
            f"the data folder can't be written ({exc.filename or config.data_dir}): {exc.strerror}"
        )
    if isinstance(exc, NewerDatabase):
        return str(exc)
    if isinstance(exc, (NotADirectoryError, FileExistsError)):
        blocked = not_a_folder(config.data_dir)
        if blocked:
            return blocked
    if isinstance(exc, DBAPIError):
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        if url.get_backend_name() == "sqlite":
            return f"the database {where} can't be opened or written: {first}"
        return f"the database {where} can't be reached: {first}"
    if isinstance(exc, SQLAlchemyError):
        return f"the database {where}: {str(exc).splitlines()[0]}"
    if isinstance(exc, OSError):
        return f"{exc.strerror or exc} ({exc.filename or config.data_dir})"
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def not_a_folder(folder: Path) -> str | None:
    """Why the data folder can't be made or used: it, or a folder above it, is a file."""
    for path in [folder, *folder.parents]:
        if path.exists():
            if path.is_dir():
                return None
            what = "is a file" if path == folder else f"can't be made: {path} is a file"
            return f"the data folder {folder} {what}, not a folder (WWM_DATA, --data)"
    return None


def safe_url(url: str) -> str:
    """A database URL fit to print: its password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def port_taken(host: str, port: int) -> str | None:
    """Said before "listening on" is printed: the port is in use, or the address isn't ours."""
    if port == 0:
        return None
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} on {host} is in use (WWM_PORT, --port)"
            return f"can't listen on {host}:{port}: {exc.strerror} (WWM_HOST, --host)"
    return None


def keep_private(folder: Path) -> None:
    """The data folder 0700 and the files in it 0600: the database and its WAL hold where
    people walked, the VAPID key signs pushes."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(folder, 0o700)
    for path in folder.iterdir():
        mode = path.lstat().st_mode
        if stat.S_ISREG(mode) and stat.S_IMODE(mode) & 0o077:
            os.chmod(path, 0o600)


def hold_the_database(config: Config) -> tuple[list[IO[str]], str | None]:
    """On SQLite, one `serve` a database: a second would run a second writer, watchdog and
    notifier on the same file, each sure it is the only one (their doorbells can't hear each
    other). The first holds a lock on `serve.lock` in its data folder, and on one beside the
    database file (two data folders may name the same file: `WWM_DATABASE_URL`), until it
    exits (or dies: the system lets go of them). Returns the open lock files (keep them
    open), or why not."""
    if not config.database_url.startswith("sqlite"):
        return [], None  # several processes share PostgreSQL (store/pg_bell.py)
    paths = [config.data_dir / "serve.lock"]
    database = make_url(config.database_url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        beside = Path(database).resolve()
        beside = beside.with_name(beside.name + ".serve.lock")
        if beside != paths[0].resolve():
            paths.append(beside)
    held: list[IO[str]] = []
    for path in paths:
        lock = os.fdopen(os.open(path, os.O_RDWR | os.O_CREAT, 0o600), "r+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            other = lock.read().strip() or "?"
            lock.close()
            for taken in held:
                taken.close()
            used = config.data_dir.resolve() if path == paths[0] else Path(database or "")
            return [], (
                f"another walkwithme serve (process {other}) is using {used}; "
                "one process serves a SQLite database, several need PostgreSQL (docs/deploy.md)"
            )
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        held.append(lock)
    return held, None


# Where the last `serve` of a data folder listened, kept in it (`remember_address`).
ADDRESS_FILE = "address"


def remember_address(config: Config) -> None:
    """Keep where this `serve` listens in its data folder: the commands run beside it build
    their links on it (`served_at`). Started with `--port 18200`, it printed invite links and
    phone settings for port 8000 (an operator's review)."""
    host = config.host
    # Every address (compared, not bound): this machine's own is one of them.
    if host in ("", "0.0.0.0", "::"):  # noqa: S104
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"  # an IPv6 address, as a URL writes it
    (config.data_dir / ADDRESS_FILE).write_text(f"http://{host}:{config.port}\n")


def listening_at(config: Config) -> str:
    """Where the last `serve` of this data folder listened, on this machine (its full
    /healthz answers only here); else WWM_HOST and WWM_PORT."""
    try:
        recorded = (config.data_dir / ADDRESS_FILE).read_text().strip()
    except OSError:
        recorded = ""
    return recorded if recorded.startswith("http://") else f"http://{config.host}:{config.port}"


def served_at(config: Config) -> str:
    """The address the service's links are built on: WWM_PUBLIC_URL; else where the last
    `serve` of this data folder listened; else WWM_HOST and WWM_PORT."""
    return config.public_url or listening_at(config)


FAST_CLOCK = "fast-clock.json"  # a demo's or drill's clock, kept in the data folder (clock.py)
AHEAD_SLACK_MS = 60_000


def clock_refused(config: Config, *, drill: bool) -> str | None:
    """Why this data folder can't be served with this clock, if it can't: its walks and
    deadlines are in a drill's or a fast clock's time, ahead of real time, and a real clock
    would run back (an operator's review found `check` blaming the machine's clock for it)."""
    state = config.data_dir / FAST_CLOCK
    if not drill and was_jumped(state):
        return (
            f"a drill jumped the clock of {config.data_dir}: serve it with --drill, or use "
            "another data folder"
        )
    ahead = ahead_of_real(state)
    if config.clock_speed == 1.0 and not drill and ahead > AHEAD_SLACK_MS:
        return (
            f"a fast clock (--clock-speed) ran the clock of {config.data_dir} "
            f"{ahead // 60_000} min ahead of real time: serve it with --clock-speed again, or "
            "use another data folder"
        )
    return None
