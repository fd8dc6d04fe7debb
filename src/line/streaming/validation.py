"""Chunk validation that says what it filtered, and the completion marker."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterable, Callable
from dataclasses import dataclass, field

from line.events import AgentGenerationComplete, AgentResponse
from line.run_context import current_run_context
from line.trace import TraceKind

__all__ = ["ChunkValidator", "with_completion"]

logger = logging.getLogger("line.streaming")


@dataclass
class ChunkValidator:
    """``check(text)`` returns the text to send, or ``None`` when the chunk is filtered.

    Every filtered chunk is logged and traced (``stage.filtered`` with its reason and text), so
    a debugger shows *why* words went missing.
    """

    max_chunk_chars: int = 2000
    allow_empty: bool = False
    blocked_words: frozenset[str] = frozenset()
    clean: Callable[[str], str] | None = None
    name: str = "validate"
    filtered: list[tuple[str, str]] = field(default_factory=list)
    passed: int = 0

    def check(self, text: str) -> str | None:
        reason = self._reason(text)
        if reason is not None:
            self._report(reason, text)
            return None
        self.passed += 1
        return self.clean(text) if self.clean is not None else text

    def _reason(self, text: str) -> str | None:
        if not text.strip() and not self.allow_empty:
            return "empty"
        if len(text) > self.max_chunk_chars:
            return f"longer than {self.max_chunk_chars} chars"
        lowered = text.lower()
        for word in self.blocked_words:
            if word in lowered:
                return f"blocked word {word!r}"
        return None

    def _report(self, reason: str, text: str) -> None:
        self.filtered.append((reason, text))
        del self.filtered[:-1000]
        logger.warning("%s filtered a chunk (%s): %r", self.name, reason, text[:200])
        context = current_run_context()
        if context is not None and context.tracer.enabled:
            run = context.run
            context.tracer.emit(TraceKind.STAGE_FILTERED, route=context.route, run_id=context.run_id,
                                stage=getattr(run, "stage", None),  # the stage that filtered it
                                data={"by": self.name, "reason": reason, "text": text[:200]})


async def with_completion(
    responses: AsyncIterable[AgentResponse],
) -> AsyncGenerator[AgentResponse | AgentGenerationComplete, None]:
    """Pass responses through, then ``AgentGenerationComplete`` — only if the stream completed
    (an interrupted or failed reply gets no completion marker)."""
    total = 0
    count = 0
    iterator = responses.__aiter__()
    try:
        async for response in iterator:
            total += len(response.content)
            count += 1
            yield response
    finally:
        # Closed early (a barge-in): close the source now, inside the run, not later from the GC.
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
    yield AgentGenerationComplete(total_length=total, chunk_count=count)
