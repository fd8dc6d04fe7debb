"""Which route run is executing in the current task.

A context variable, so code deep inside a stage (a buffer, an LLM stream) can reach its run
without plumbing: to report trace records, and to register cleanups the router runs when the
run ends however it ends (an LLM stream registers its ``cancel`` so a barge-in closes the HTTP
stream even when user code forgets to).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from line.trace import Tracer

logger = logging.getLogger("line.run_context")


@dataclass(slots=True)
class RunContext:
    tracer: Tracer
    route: str | None
    run_id: int | None
    run: Any = None
    cleanups: list[Callable[[], object]] = field(default_factory=list)

    def run_cleanups(self) -> None:
        """Call every registered cleanup once, newest first; a failing one never stops the rest."""
        if not self.cleanups:
            return
        cleanups, self.cleanups = self.cleanups, []
        for cleanup in reversed(cleanups):
            try:
                cleanup()
            except Exception:
                logger.exception("cleanup %r of run %s on route %s failed", cleanup, self.run_id, self.route)


_current: ContextVar[RunContext | None] = ContextVar("line_run_context", default=None)


def current_run_context() -> RunContext | None:
    return _current.get()


def enter_run_context(context: RunContext) -> Token[RunContext | None]:
    return _current.set(context)


def exit_run_context(token: Token[RunContext | None]) -> None:
    _current.reset(token)


def register_cleanup(cleanup: Callable[[], object]) -> bool:
    """Run ``cleanup()`` when the current route run ends (completed, interrupted or failed).

    Returns False (and does nothing) outside a route run. Cleanups must be synchronous and
    idempotent, like ``LLMStream.cancel``.
    """
    context = _current.get()
    if context is None:
        return False
    context.cleanups.append(cleanup)
    return True
