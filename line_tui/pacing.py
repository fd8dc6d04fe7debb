"""When the next frame may be drawn: at most ``max_hz`` a second, and drawing never takes more
than ``share`` of the time.

A frame's cost is what building the panels' text and rendering it took. After a frame that cost
``c`` seconds the next one waits at least ``c / share``: a 5 ms frame allows the full 30 frames
a second, while a 25 ms frame under a 10,000 chunks/s stream spaces frames to 100 ms, so the
stream, the trace fold and the rest of the loop keep three quarters of it. Pure (no Textual).
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_HZ = 30.0
SHARE = 0.25


@dataclass
class FramePacer:
    max_hz: float = MAX_HZ
    share: float = SHARE
    next_at: float = 0.0  # clock time before which no frame is due
    last_cost: float = 0.0  # seconds the last frame cost

    def due(self, now: float) -> bool:
        return now >= self.next_at

    def drawn(self, started: float, cost: float) -> None:
        """A frame started at ``started`` (clock seconds) cost ``cost`` seconds."""
        self.last_cost = cost
        self.next_at = started + max(1 / self.max_hz, cost / self.share)

    @property
    def interval(self) -> float:
        """The current spacing between frames, in seconds."""
        return max(1 / self.max_hz, self.last_cost / self.share)
