"""What `walkwithme check` says of one thing it looked at: ok, a warning, or failed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Verdict(Enum):
    OK = "ok"
    WARN = "warning"
    FAIL = "failed"


@dataclass(frozen=True)
class Finding:
    what: str
    verdict: Verdict
    said: str
