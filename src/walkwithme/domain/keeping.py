"""How long a walk that is over is kept before it is forgotten (usecases/retention.py)."""

from __future__ import annotations

from dataclasses import dataclass

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Keeping:
    """How long walks are kept after they end, as the operator set it (config.py)."""

    default_ms: int = 7 * DAY_MS  # a walker who chose nothing
    most_ms: int = 30 * DAY_MS  # the longest a walker may choose
    alarmed_ms: int = 90 * DAY_MS  # a walk that had an alarm, whatever she chose

    def check(self, chosen_ms: int) -> int:
        if not 0 <= chosen_ms <= self.most_ms:
            days = self.most_ms / DAY_MS
            raise ValueError(f"walks are kept from 0 (as soon as you're home) to {days:g} days")
        return chosen_ms
