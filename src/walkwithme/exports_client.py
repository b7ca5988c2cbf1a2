"""Fetching a walk's exports from a running service, as its walker (used by
`walkwithme export` and by the demo)."""

from __future__ import annotations

from pathlib import Path

import httpx2


class ExportError(Exception):
    pass


def export_walk(server: str, token: str, walk_id: int, out: Path) -> list[Path]:
    """Write `walk-ID.gpx` and `walk-ID.geojson` into `out`; returns their paths."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"can't write into {out}: {exc.strerror}") from exc
    written: list[Path] = []
    for suffix in ("gpx", "geojson"):
        try:
            answer = httpx2.get(
                f"{server.rstrip('/')}/api/walks/{walk_id}/export.{suffix}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
        except httpx2.HTTPError as exc:
            raise ExportError(f"can't reach {server}: {exc}") from exc
        if answer.status_code != 200:
            raise ExportError(f"{answer.status_code}: {answer.text[:200]}")
        path = out / f"walk-{walk_id}.{suffix}"
        try:
            path.write_bytes(answer.content)
        except OSError as exc:
            raise ExportError(f"can't write {path}: {exc.strerror}") from exc
        written.append(path)
    return written
