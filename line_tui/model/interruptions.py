"""One card per interruption: ``line.trace_stats`` folds the records into ``InterruptionStats``
(trigger, where it landed, how long closing and handling took, delivered and cut); this adds
what only the debugger knows, the text that sat in the run's buffers when it was cut."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from line.trace_stats import InterruptionStats, TraceStats

#: Buffer contents kept for this many interrupted runs (older ones are forgotten).
MAX_BUFFERED = 1_000


@dataclass
class InterruptionsModel:
    stats: TraceStats
    _buffered: dict[int, str] = field(default_factory=dict)

    @property
    def cards(self) -> deque[InterruptionStats]:
        return self.stats.interruptions

    @property
    def total(self) -> int:
        """Interruptions since the call started (clearing the cards keeps counting)."""
        return self.stats.interruptions_total

    def accepted(self, run_id: int | None, buffered: str) -> None:
        """An interrupt was accepted for ``run_id`` while its buffers held ``buffered``."""
        if run_id is None or not buffered:
            return
        self._buffered[run_id] = buffered
        if len(self._buffered) > MAX_BUFFERED:
            del self._buffered[next(iter(self._buffered))]

    def buffered_cut(self, card: InterruptionStats) -> str:
        """Text that sat in the run's buffers when ``card``'s interrupt was accepted."""
        return self._buffered.get(card.run_id, "")

    def clear(self) -> None:
        self.stats.interruptions.clear()
        self._buffered.clear()
