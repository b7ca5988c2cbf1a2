"""What the demo's people saw and did, in the order it happened (for the printout and the
end-to-end test)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Entry:
    at_ms: int
    who: str  # "Aino", "Eero", or "both"
    what: str
    seq: int = 0  # the order it was told in: of two at one moment, the cause was told first


@dataclass
class Story:
    """What happened, for the printout and for the end-to-end test."""

    entries: list[Entry] = field(default_factory=list)
    alerts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by person
    companion_saw: list[dict[str, Any]] = field(default_factory=list)  # Eero's stream
    alarmed_saw: list[dict[str, Any]] = field(default_factory=list)  # the fourth evening's
    walk: dict[str, Any] = field(default_factory=dict)  # Aino's view at the end
    files: list[Path] = field(default_factory=list)
    real_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def tell(self, at_ms: int, who: str, what: str) -> None:
        with self._lock:
            self.entries.append(Entry(at_ms, who, what, len(self.entries)))
