"""One execution of a route for one trigger, and what it knows about its own chunks."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from line.heard import HeardChunks
from line.route_shape import InterruptSpec, RunStatus

if TYPE_CHECKING:
    from line.bus import Message
    from line.routes import Route

__all__ = ["RouteRun"]

_run_ids = itertools.count(1)
_RUNNING = RunStatus.RUNNING  # see routes.py: Enum member lookups are slow in 3.11


class RouteRun:
    """One execution of a route for one trigger. Visible to stages via ``line.run_context``."""

    __slots__ = (
        "accepted_ns",
        "awaiting",
        "chunks_out",
        "cut",
        "cut_ids",
        "error",
        "error_stage",
        "heard",
        "id",
        "interrupt_message",
        "interrupt_spec",
        "interrupted",
        "landed",
        "late_cut_hooks",
        "queued",
        "route",
        "settled",
        "stage",
        "started_ns",
        "status",
        "task",
        "ticks",
        "trigger",
    )

    def __init__(self, route: Route, trigger: Message) -> None:
        self.id = next(_run_ids)
        self.route = route
        self.trigger = trigger
        self.status = _RUNNING
        self.stage: int | None = None
        self.awaiting = "not started"
        self.interrupted = False
        self.interrupt_message: Message | None = None
        self.interrupt_spec: InterruptSpec | None = None
        self.accepted_ns = 0
        self.landed = False
        self.chunks_out = 0
        self.cut = 0
        self.cut_ids: frozenset[int] = frozenset()  # no allocation until something is cut
        self.heard: HeardChunks | None = None  # created at its first AgentResponse
        self.ticks = 0
        self.late_cut_hooks: tuple[Callable[[], None], ...] = ()
        self.queued = 0  # its messages waiting in inboxes: until 0 the run can still be cut
        self.settled = False  # the worker is done with it (waiting only for queued chunks to drain)
        self.error: BaseException | None = None
        self.error_stage: int | None = None
        self.task: asyncio.Task[None] | None = None
        self.started_ns = time.monotonic_ns()

    def on_late_cut(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` if this run is interrupted after its generators ended (its last chunks
        were still queued): whoever recorded the reply as complete can then correct it."""
        self.late_cut_hooks += (hook,)

    def hear(self, message: Message, text: str) -> None:
        """Note an ``AgentResponse`` chunk this run is about to publish (its text is ``text``)."""
        heard = self.heard
        if heard is None:
            heard = self.heard = HeardChunks()
        heard.add(message, text, self.queued)

    @property
    def heard_text(self) -> str:
        """Text of the ``AgentResponse`` chunks this run published that were not cut."""
        return self.heard.text if self.heard is not None else ""

    def __repr__(self) -> str:
        return f"RouteRun(#{self.id} {self.route.name} {self.status})"
