"""A sentence-buffer *route stage*: between ``stream(node.generate)`` and ``broadcast()``.

Stages are per-item flat-maps, so a buffer that spans items keeps its state per route run and
flushes when the reply ends, which the generating stage marks with ``AgentGenerationComplete``
(passed on downstream). A new run starts with an empty buffer: what an interrupted run left
behind is dropped, and the trace shows it went.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from line.bus import Message
from line.events import AgentGenerationComplete, AgentResponse
from line.run_context import current_run_context, register_cleanup
from line.streaming.sentences import SentenceBuffer

__all__ = ["SentenceStage"]


class SentenceStage:
    """``route.stream(SentenceStage())``: ``AgentResponse`` tokens in, sentences out."""

    def __init__(self, min_chars: int = 0, max_chars: int = 200, name: str = "sentences") -> None:
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.name = name
        self.__name__ = name  # how the stage is named in traces and on screen
        self._run_id: int | None = None
        self._buffer = SentenceBuffer(min_chars, max_chars, name)

    def _buffer_for_run(self) -> SentenceBuffer:
        context = current_run_context()
        run_id = context.run_id if context is not None else None
        if run_id != self._run_id:
            self._run_id = run_id
            self._buffer.clear()
            # However the run ends, nothing of it stays in the buffer (an interrupted reply's
            # tail is dropped, visibly: the buffer reports itself empty).
            register_cleanup(self._buffer.clear)
        return self._buffer

    def __call__(self, message: Message) -> Iterator[Any]:
        event = message.event
        buffer = self._buffer_for_run()
        if isinstance(event, AgentResponse):
            for piece in buffer.push(event.content):
                yield AgentResponse(content=piece, chunk_type="sentence")
        elif isinstance(event, AgentGenerationComplete):
            rest = buffer.flush()
            if rest:
                yield AgentResponse(content=rest, chunk_type="sentence")
            yield event
        else:
            yield event
