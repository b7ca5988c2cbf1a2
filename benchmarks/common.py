"""What the benchmarks share: the machine's description, the people and walks they need, the
service (or the bare app) as a subprocess, the companions' receiver process, wrk, and figures.

Every load goes to 127.0.0.1 only. Every loop here is bounded in count and in time.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from walkwithme.config import load_config
from walkwithme.domain.walks import Destination
from walkwithme.security import hash_secret
from walkwithme.services import Services, build_services
from walkwithme.store.tx import Tx
from walkwithme.usecases import accounts, contacts, devices, starting

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
FIX_LUA = BENCH / "fix.lua"

# Central Helsinki, as in the tests: walks start at the railway station and end ~1.1 km south.
START = (60.17096, 24.94137)
HOME = (60.16110, 24.94470)


# -- the machine -------------------------------------------------------------------------------


def cpu_model() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "unknown"
    found = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    return found.group(1).strip() if found else platform.processor() or "unknown"


def wrk_version() -> str:
    wrk = shutil.which("wrk")
    if wrk is None:
        return "not installed"
    done = subprocess.run([wrk, "-v"], capture_output=True, text=True, timeout=10, check=False)
    first = (done.stdout + done.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0] if first else "unknown"


def print_machine(title: str) -> None:
    import uvicorn

    print(f"== {title}")
    print(
        f"machine: {os.cpu_count()} cores, {cpu_model()}, {platform.system()} {platform.release()}"
    )
    print(
        f"software: Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
        f"uvicorn {uvicorn.__version__}, {wrk_version()}"
    )
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    sys.stdout.flush()


# -- figures -----------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 values is the 990th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-pct * len(ordered) // 100))))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- people, devices and walks -----------------------------------------------------------------


@dataclass(frozen=True)
class Walker:
    """A walker on a live walk, her phone's token, and the companion who follows the walk."""

    walker_id: int
    device_id: int
    device_token: str
    walk_id: int
    companion_id: int
    companion_token: str


def services_for(data_dir: Path, database_url: str | None = None) -> Services:
    env = {"WWM_DATA": str(data_dir)}
    if database_url:
        env["WWM_DATABASE_URL"] = database_url
    return build_services(load_config(env))


def make_cast(
    data_dir: Path, count: int, *, chunk: int = 100, database_url: str | None = None
) -> list[Walker]:
    """`count` walkers, each on a live walk followed by her own companion, made with the
    project's use cases straight into the data folder (before the service starts): the same
    code the API runs, without one process or one HTTP round trip per person.

    Everybody shares one password hash and one PIN hash (argon2 costs ~50 ms each on purpose;
    a thousand of them would only slow the set-up down)."""
    svc = services_for(data_dir, database_url)
    password_hash = hash_secret("correct horse battery")
    pin_hash = hash_secret("2468")
    destination = Destination(HOME[0], HOME[1], 40.0, "home")
    made: list[Walker] = []

    def job(first: int, last: int) -> Callable[[Tx], list[Walker]]:
        def run(tx: Tx) -> list[Walker]:
            out = []
            for i in range(first, last):
                walker = accounts.create_person(
                    tx, accounts.NewPerson(f"walker{i}@bench.example", f"Walker {i}", password_hash)
                )
                companion = accounts.create_person(
                    tx,
                    accounts.NewPerson(
                        f"companion{i}@bench.example", f"Companion {i}", password_hash
                    ),
                )
                companion_token = accounts.open_session(tx, companion.id, 30)
                device, device_token = devices.add_device(tx, walker.id, "phone")
                asked = contacts.ask(tx, walker.id, companion.email, "companion")
                contacts.answer(tx, companion.id, asked["id"], accept=True)
                plan = starting.WalkPlan(
                    destination=destination,
                    pin_hash=pin_hash,
                    pace_mps=walker.pace_mps,
                    origin=START,
                )
                walk_id = starting.start_walk(tx, walker.id, plan)
                out.append(
                    Walker(
                        walker.id, device.id, device_token, walk_id, companion.id, companion_token
                    )
                )
            return out

        return run

    try:
        for first in range(0, count, chunk):
            made.extend(svc.writer.run_sync(job(first, min(count, first + chunk))))
    finally:
        svc.db.dispose()
    return made


def write_cast(path: Path, cast: list[Walker]) -> None:
    path.write_text(json.dumps([asdict(w) for w in cast]))


def read_cast(path: Path) -> list[Walker]:
    return [Walker(**item) for item in json.loads(path.read_text())]


# -- PostgreSQL ---------------------------------------------------------------------------------


@contextlib.contextmanager
def own_schema(database_url: str | None) -> Iterator[str | None]:
    """The run's own schema in the PostgreSQL database (dropped afterwards)."""
    if not database_url:
        yield None
        return
    schema = "bench_" + secrets.token_hex(5)
    admin = sa.create_engine(database_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        joiner = "&" if "?" in database_url else "?"
        yield f"{database_url}{joiner}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(url: str, proc: subprocess.Popen[Any], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited early (code {proc.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 (127.0.0.1)
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"no answer from {url} within {timeout_s:.0f} s")


def stop_process(proc: subprocess.Popen[Any], timeout_s: float = 20.0) -> None:
    """SIGINT (a graceful stop), then SIGKILL if it lingers. Only ever our own child."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc), 0.0 if unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_names(pid: int) -> dict[int, str]:
    """Native thread id -> Python thread name, from `py-spy dump` (empty without py-spy).
    Python 3.11 does not name its threads for the OS, so /proc alone can't tell them apart."""
    spy = py_spy_path()
    if spy is None:
        return {}
    try:
        done = subprocess.run(
            [spy, "dump", "--pid", str(pid)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {}
    found = re.findall(r'^Thread (\d+) \([^)]*\): "([^"]+)"', done.stdout, re.MULTILINE)
    return {int(tid): name for tid, name in found}


def thread_cpu(pid: int) -> dict[int, float]:
    """CPU seconds used so far by each thread of a process (Linux /proc), by native id."""
    used: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return used
    for task in tasks:
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the thread ended meanwhile
        used[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return used


def _thread_group(tid: int, pid: int, names: dict[int, str]) -> str:
    name = names.get(tid, "")
    if tid == pid or name == "MainThread":
        return "event loop"
    if name == "wwm-writer":
        return "writer"
    if name.startswith("AnyIO worker"):
        return "read threads"
    return name or "other threads"


def machine_busy_seconds() -> float:
    """CPU seconds all cores of the machine have spent busy so far (Linux /proc/stat)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return 0.0
    ticks = [int(x) for x in first[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


MACHINE = "whole machine"
POSTGRES = "PostgreSQL's processes"


def postgres_cpu_seconds() -> float:
    """CPU seconds used so far by every process named `postgres` on the machine (the server
    and its backends; read from /proc, nothing is signalled). A backend that ends meanwhile
    takes its time with it, so this undercounts short-lived connections."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
        except OSError:
            continue
        total += cpu_seconds(int(entry.name))
    return total


class CpuMeter:
    """How many cores a process used, by thread, between start() and read()."""

    def __init__(self, pid: int, postgres: bool = False) -> None:
        self.pid = pid
        self.postgres = postgres  # also measure PostgreSQL's processes
        self.before: dict[int, float] = {}
        self.machine_before = 0.0
        self.postgres_before = 0.0
        self.began = 0.0

    def start(self) -> None:
        self.before = thread_cpu(self.pid)
        self.machine_before = machine_busy_seconds()
        self.postgres_before = postgres_cpu_seconds() if self.postgres else 0.0
        self.began = time.monotonic()

    def read(self) -> dict[str, float]:
        """Cores used, by kind of thread: event loop, writer, read threads (the anyio pool
        that runs the service's reads), named with py-spy if it is installed."""
        after = thread_cpu(self.pid)
        machine = machine_busy_seconds() - self.machine_before
        elapsed = max(1e-9, time.monotonic() - self.began)
        names = thread_names(self.pid)
        cores: dict[str, float] = {}
        # A thread that ended since start() no longer shows up: its time is lost.
        for tid, seconds in after.items():
            group = _thread_group(tid, self.pid, names)
            used = max(0.0, seconds - self.before.get(tid, 0.0)) / elapsed
            cores[group] = cores.get(group, 0.0) + used
        cores[MACHINE] = machine / elapsed
        if self.postgres:
            cores[POSTGRES] = (postgres_cpu_seconds() - self.postgres_before) / elapsed
        return cores

    @staticmethod
    def describe(cores: dict[str, float]) -> str:
        """'server CPU 0.91 cores: read threads 0.37, ... (whole machine busy 1.80 of 2)'."""
        own = {k: v for k, v in cores.items() if k not in (MACHINE, POSTGRES)}
        busy = {k: v for k, v in sorted(own.items(), key=lambda kv: -kv[1]) if v >= 0.005}
        text = f"server CPU {sum(own.values()):.2f} cores: " + ", ".join(
            f"{k} {v:.2f}" for k, v in busy.items()
        )
        if POSTGRES in cores:
            text += f"; {POSTGRES} {cores[POSTGRES]:.2f}"
        if MACHINE in cores:
            text += f" (whole machine busy {cores[MACHINE]:.2f} of {os.cpu_count()})"
        return text


def walkwithme_command() -> list[str]:
    script = Path(sys.executable).with_name("walkwithme")
    return [str(script)] if script.exists() else [sys.executable, "-m", "walkwithme"]


@contextlib.contextmanager
def running(
    command: list[str], port: int, log_path: Path, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Run a server until the block ends; its output goes to `log_path`."""
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            # The caller's WWM_* settings (a database URL, a config file) stay out of it.
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("WWM_")},
                **(env or {}),
            },
        )
        try:
            wait_http(f"http://{HOST}:{port}/healthz", proc)
            yield proc
        finally:
            stop_process(proc)


def serve_args(data_dir: Path, port: int) -> list[str]:
    return ["serve", "--data", str(data_dir), "--port", str(port)]


def serve_command(data_dir: Path, port: int) -> list[str]:
    """`walkwithme serve` exactly as an operator runs it."""
    return [*walkwithme_command(), *serve_args(data_dir, port)]


def bare_command(port: int) -> list[str]:
    return [sys.executable, "-m", "benchmarks.bare_app", "--port", str(port)]


def durable_command(port: int, tokens: Path, db: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "benchmarks.durable_app",
        "--port",
        str(port),
        "--tokens",
        str(tokens),
        "--db",
        str(db),
    ]


def server_env(log_level: str) -> dict[str, str]:
    return {"WWM_LOG_LEVEL": log_level, "WWM_HOST": HOST}


class Companions:
    """The companions' receiver process (benchmarks/companions.py): one WebSocket per walk."""

    def __init__(
        self,
        port: int,
        cast_path: Path,
        out_path: Path | None = None,
        max_seconds: float = 900.0,
        after_fix: Path | None = None,
    ) -> None:
        command = [
            sys.executable,
            "-m",
            "benchmarks.companions",
            "--url",
            f"ws://{HOST}:{port}",
            "--cast",
            str(cast_path),
            "--max-seconds",
            str(max_seconds),
        ]
        if out_path is not None:
            command += ["--out", str(out_path)]
        if after_fix is not None:
            command += ["--after-fix", str(after_fix)]
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def _line(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the companions' process ended (code {self.proc.wait()})")
        return line.strip()

    def wait_ready(self) -> dict[str, Any]:
        """Blocks until every companion is connected and has the walk's first message."""
        while True:
            line = self._line()
            if line.startswith("READY "):
                ready: dict[str, Any] = json.loads(line[6:])
                return ready

    def count(self) -> dict[str, Any]:
        """How many messages and fixes the companions have received so far."""
        self._send("count")
        while True:
            line = self._line()
            if line.startswith("COUNT "):
                counted: dict[str, Any] = json.loads(line[6:])
                return counted

    def _send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self) -> dict[str, Any]:
        """Disconnect everybody; returns the final counts (and writes --out, if given)."""
        final: dict[str, Any] = {}
        if self.proc.poll() is None:
            try:
                self._send("stop")
                while True:
                    line = self._line()
                    if line.startswith("DONE "):
                        final = json.loads(line[5:])
                        break
            except (RuntimeError, BrokenPipeError):
                pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        return final


# -- wrk ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    accepted: int  # items answered "accepted"
    other: int  # items answered anything else (duplicate, refused, not_kept, flagged)
    bad_status: int  # responses that were not 200
    socket_errors: int
    max_t: int  # the newest fix time the script sent, so the next run starts after it
    cpu: dict[str, float] = field(default_factory=dict)  # the server's cores, by thread

    @property
    def items_per_s(self) -> float:
        return self.accepted / self.duration_s if self.duration_s else 0.0


def run_wrk(
    url: str,
    tokens_path: Path,
    *,
    connections: int,
    threads: int,
    seconds: float,
    base_t: int,
    batch: int,
) -> WrkResult:
    """One wrk run of benchmarks/fix.lua: `batch` 0 posts one bare fix a request, N > 0 posts
    {"fixes": [N fixes]}. Each thread takes its own devices and each device's times rise."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise SystemExit("wrk is not installed: run benchmarks/setup.sh")
    assert url.startswith(f"http://{HOST}:"), "load goes to 127.0.0.1 only"
    threads = max(1, min(threads, connections))
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(FIX_LUA),
        url,
        "--",
        str(tokens_path),
        str(base_t),
        str(threads),
        str(batch),
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()}")
    found = re.search(r"^WRK_JSON (.+)$", done.stdout, re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no summary:\n{done.stdout}\n{done.stderr}")
    raw = json.loads(found.group(1))
    duration_s = raw["duration_us"] / 1e6
    return WrkResult(
        requests=raw["requests"],
        duration_s=duration_s,
        rps=raw["requests"] / duration_s if duration_s else 0.0,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        accepted=raw["accepted"],
        other=raw["other"],
        bad_status=raw["bad_status"],
        socket_errors=raw["socket_errors"],
        max_t=int(raw["max_t"]),
    )


@dataclass
class Target:
    """A server under load, and the newest fix time sent to it so far."""

    name: str
    url: str
    tokens: Path
    max_t: int = 0
    pid: int | None = None  # the server's, to measure its CPU
    postgres: bool = False  # the server runs on PostgreSQL: measure its processes' CPU too

    def run(self, *, connections: int, seconds: float, batch: int) -> WrkResult:
        """One wrk run; every device's fixes rise run after run and stay near the clock."""
        meter = CpuMeter(self.pid, self.postgres) if self.pid else None
        if meter:
            meter.start()
        result = run_wrk(
            self.url,
            self.tokens,
            connections=connections,
            threads=min(connections, os.cpu_count() or 1, 2),
            seconds=seconds,
            base_t=max(now_ms(), self.max_t + 1),
            batch=batch,
        )
        self.max_t = max(self.max_t, result.max_t)
        return replace(result, cpu=meter.read()) if meter else result


def describe(result: WrkResult) -> str:
    extra = ""
    if result.other or result.bad_status or result.socket_errors:
        extra = (
            f"  [not accepted: {result.other}, non-200: {result.bad_status}, "
            f"socket errors: {result.socket_errors}]"
        )
    cpu = f"\n{'':14}{CpuMeter.describe(result.cpu)}" if result.cpu else ""
    return (
        f"{result.rps:9.0f} req/s  p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms  "
        f"max {result.max_ms:7.1f} ms  ({result.requests} requests){extra}{cpu}"
    )


def write_tokens(path: Path, cast: list[Walker]) -> None:
    path.write_text("".join(w.device_token + "\n" for w in cast))


@contextlib.contextmanager
def scratch(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A scratch folder on the same disk as /tmp (removed afterwards unless `keep`)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if keep:
            print(f"(kept {path})")
        else:
            shutil.rmtree(path, ignore_errors=True)


# -- profiling ---------------------------------------------------------------------------------


def py_spy_path() -> str | None:
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def start_py_spy(pid: int, seconds: float, out_path: Path) -> subprocess.Popen[bytes] | None:
    """Sample `pid` for `seconds` into a collapsed-stack file: only the thread holding the GIL
    (where the Python work of a GIL-bound process goes). py-spy pauses the process for each
    sample (whole stacks; --nonblocking truncates many), so the profiled run is slower than
    the measured ones and its figures are not used. None without py-spy."""
    spy = py_spy_path()
    if spy is None:
        print("(py-spy is not installed: `.venv/bin/pip install py-spy` to profile)")
        return None
    return subprocess.Popen(
        [
            spy,
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(max(1, round(seconds))),
            "--rate",
            "200",
            "--gil",
            "--threads",
            "--format",
            "raw",
            "--output",
            str(out_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _frame_name(frame: str) -> str:
    """'run (walkwithme/store/writer.py:203)' -> 'run (walkwithme/store/writer.py)'."""
    return re.sub(r":\d+\)$", ")", frame.strip())


def _short_path(frame: str) -> str:
    frame = re.sub(r"\(/.*?/site-packages/", "(", frame)
    frame = re.sub(r"\(/.*?/src/walkwithme/", "(walkwithme/", frame)
    return re.sub(r"\(/.*?/lib/python3\.\d+/", "(stdlib/", frame)


def summarize_profile(path: Path, top: int = 25) -> str:
    """The busiest functions of a py-spy collapsed-stack file: by own time and by time
    including callees, as shares of all samples; and the threads' shares."""
    own: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    per_thread: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short_path(_frame_name(f)) for f in stack.split(";")]
        if frames and frames[0].startswith(("thread", "process")):
            thread = re.sub(r"^thread \(\d+\): ", "", frames.pop(0))
            per_thread[thread] = per_thread.get(thread, 0) + count
        if not frames:
            continue
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for name in set(frames):
            inclusive[name] = inclusive.get(name, 0) + count
    if not total:
        return "(no samples)"
    lines = [f"{total} samples of the thread holding the GIL"]
    lines.append(
        "threads: "
        + ", ".join(
            f"{name} {count / total:.0%}"
            for name, count in sorted(per_thread.items(), key=lambda kv: -kv[1])[:6]
        )
    )
    lines.append(f"-- top {top} by own time")
    for name, count in sorted(own.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{count / total:6.1%}  {name}")
    lines.append(f"-- the service's own functions (walkwithme/), including callees, top {top}")
    ours = {
        name: count
        for name, count in inclusive.items()
        if "(walkwithme/" in name and not name.startswith(("main ", "serve ", "<module>"))
    }
    for name, count in sorted(ours.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"{count / total:6.1%}  {name}")
    return "\n".join(lines)
