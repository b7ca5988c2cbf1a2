"""A diagnostic, not a benchmark: run `walkwithme` with every garbage-collection pause logged.

    .venv/bin/python -m benchmarks.gc_log LOG_FILE serve --data DIR --port N

The same command line as `walkwithme serve`, with one gc callback installed first: each
collection's generation, length and the objects it freed, one line a collection, to LOG_FILE
(`monotonic_seconds generation milliseconds collected`). A full (generation 2) collection
holds the GIL throughout, so it stops the event loop and the writer alike: this shows how much
of a latency tail is the collector's. summarize() reads the log back.
"""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path
from typing import Any


def install(log_path: Path) -> None:
    log = log_path.open("w", buffering=1)
    started: list[float] = [0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - started[0]) * 1000
        log.write(
            f"{time.monotonic():.4f} {info['generation']} {pause_ms:.3f} {info['collected']}\n"
        )

    gc.callbacks.append(callback)


def summarize(log_path: Path, since: float = 0.0, until: float = float("inf")) -> str:
    """Pauses by generation between two time.monotonic() readings."""
    by_generation: dict[int, list[float]] = {}
    for line in log_path.read_text().splitlines():
        parts = line.split()
        if len(parts) != 4:
            continue
        at, generation, pause_ms = float(parts[0]), int(parts[1]), float(parts[2])
        if since <= at <= until:
            by_generation.setdefault(generation, []).append(pause_ms)
    if not by_generation:
        return "no collections"
    return "; ".join(
        f"gen{g}: {len(p)} pauses, total {sum(p):.0f} ms, longest {max(p):.1f} ms"
        for g, p in sorted(by_generation.items())
    )


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit("usage: python -m benchmarks.gc_log LOG_FILE serve [options]")
    install(Path(sys.argv[1]))
    from walkwithme.cli import main as walkwithme_main

    sys.argv = ["walkwithme", *sys.argv[2:]]
    walkwithme_main()


if __name__ == "__main__":
    main()
