"""What a route is made of: its stages, interrupt specs, and the names of policies and states.

Plain data shared by the builder (which fills it in), the runtime route and its runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from line.patterns import EventPattern

if TYPE_CHECKING:
    from line.bus import Message

__all__ = ["InterruptSpec", "Policy", "RunStatus", "Stage", "StageKind"]


class Policy(StrEnum):
    """How runs of one route relate to each other."""

    SERIAL = "serial"
    """Runs never interleave; triggers wait in arrival order; none is dropped (default)."""
    LATEST = "latest"
    """A new trigger cancels the running run and supersedes queued triggers (traced as drops)."""


class RunStatus(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


class StageKind(StrEnum):
    MAP = "map"
    FILTER = "filter"
    STREAM = "stream"


@dataclass(slots=True)
class Stage:
    kind: StageKind
    fn: Callable[..., Any]
    name: str


@dataclass(slots=True)
class InterruptSpec:
    pattern: EventPattern
    handler: Callable[..., Any] | None
    filter_fn: Callable[[Message], Any] | None
    handler_takes_message: bool
