"""The street data that ships with Walk With Me (see data/ATTRIBUTION.md)."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path


def shipped_helsinki() -> Path:
    """Central Helsinki, from OpenStreetMap (© OpenStreetMap contributors, ODbL): for the demo
    and the tests."""
    resource = files("walkwithme") / "data" / "helsinki.osm.pbf"
    # An installed package is a folder on disk, so this is its real path (as_file would
    # otherwise copy the file out of a zip into a temporary file that goes away with it).
    with as_file(resource) as path:
        if not path.is_file():
            raise FileNotFoundError(f"the shipped street data is missing: {path}")
        return Path(path)
