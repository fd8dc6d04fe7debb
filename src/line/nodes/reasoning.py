"""ReasoningNode: keeps the conversation and turns it into a streamed reply.

Subclasses implement ``process_context`` as an async generator. The route calls
``generate`` (``bridge.on(UserStoppedSpeaking).stream(node.generate).broadcast()``), which
runs ``process_context`` on a snapshot of the conversation and records the agent's turn:
the whole reply when it completed, or — after a barge-in — only the part the user actually
received (the chunks published before the interrupt was accepted), marked ``interrupted``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

from line.bus import Message
from line.events import AgentResponse, AgentSpeechSent, ToolCall, ToolResult
from line.nodes.context import ConversationContext, format_events_for_llm, recent
from line.nodes.node import Node
from line.run_context import current_run_context

__all__ = ["ReasoningNode"]

logger = logging.getLogger("line.nodes")


class ReasoningNode(Node):
    """A node that answers the conversation with a stream of events.

    ``max_context_length`` bounds how many events ``process_context`` sees (the newest ones);
    the node keeps at most ten times that many so memory stays bounded in long calls.
    """

    def __init__(
        self,
        system_prompt: str = "",
        max_context_length: int = 100,
        node_id: str | None = None,
    ) -> None:
        super().__init__(node_id)
        if max_context_length < 1:
            raise ValueError(f"max_context_length must be at least 1, got {max_context_length}")
        self.system_prompt = system_prompt
        self.max_context_length = max_context_length
        self.conversation_events: list[Any] = []
        self.metadata: dict[str, Any] = {}
        self.interruptions = 0

    # -- the conversation ----------------------------------------------------------------

    def add_event(self, message_or_event: Any) -> None:
        """Append an event (or a Message's event) to the conversation.

        Usable as a route stage: ``bridge.on(UserTranscriptionReceived).map(node.add_event)``.
        ``AgentSpeechSent`` from outside is ignored: the node records its own turns with what
        was really delivered, and a second copy would duplicate them.
        """
        event = message_or_event.event if isinstance(message_or_event, Message) else message_or_event
        if isinstance(event, AgentSpeechSent):
            return
        self._append(event)

    def _append(self, event: Any) -> None:
        events = self.conversation_events
        events.append(event)
        limit = self.max_context_length * 10
        if len(events) > limit:
            del events[: len(events) - limit]

    def clear_context(self) -> list[Any]:
        """Forget the conversation; returns what was forgotten."""
        events, self.conversation_events = self.conversation_events, []
        return events

    def build_context(self) -> ConversationContext:
        return ConversationContext(
            events=recent(self.conversation_events, self.max_context_length),
            system_prompt=self.system_prompt,
            metadata=dict(self.metadata),
        )

    def format_for_llm(self, events: Iterable[Any] | ConversationContext | None = None) -> list[dict[str, Any]]:
        """OpenAI-style messages for ``events`` (default: the current conversation)."""
        if isinstance(events, ConversationContext):
            return events.format_for_llm()
        if events is None:
            events = recent(self.conversation_events, self.max_context_length)
        return format_events_for_llm(events, self.system_prompt)

    # -- generating ----------------------------------------------------------------------

    async def process_context(self, context: ConversationContext) -> AsyncIterator[Any]:
        """Yield the reply (``AgentResponse`` chunks, ``ToolCall``s, ...). Override it."""
        raise NotImplementedError(f"{type(self).__name__} must implement process_context(context)")
        yield  # pragma: no cover - makes this an async generator

    async def generate(self, message: Message | None = None) -> AsyncIterator[Any]:
        """Run ``process_context`` on a snapshot of the conversation and record the turn."""
        context = self.build_context()
        run_context = current_run_context()
        run = run_context.run if run_context is not None else None
        produced: list[str] = []
        completed = False
        try:
            stream = self.process_context(context)
            if not hasattr(stream, "__aiter__"):
                raise TypeError(
                    f"{type(self).__name__}.process_context must be an async generator "
                    f"(use `yield` in an `async def`), it returned {type(stream).__name__}"
                )
            async with contextlib.AsyncExitStack() as closing:
                if hasattr(stream, "aclose"):
                    closing.push_async_callback(stream.aclose)
                async for item in stream:
                    if isinstance(item, AgentResponse):
                        produced.append(item.content)
                    elif isinstance(item, ToolCall | ToolResult):
                        self._append(item)
                    yield item
            completed = True
        finally:
            self._record_turn(produced, run, completed)

    def _record_turn(self, produced: list[str], run: Any, completed: bool) -> None:
        interrupted = bool(run is not None and run.interrupted) or not completed
        if run is not None and (interrupted or run.heard):
            text = run.heard_text  # what reached consumers, after any later stage changed it
        else:
            text = "".join(produced)
        if interrupted:
            self.interruptions += 1
        if text or interrupted:
            turn = AgentSpeechSent(content=text, interrupted=interrupted)
            self._append(turn)
            if run is not None and not run.interrupted:
                run.on_late_cut(lambda: self._amend_cut_turn(turn, run))

    def _amend_cut_turn(self, recorded: AgentSpeechSent, run: Any) -> None:
        """A barge-in cut the reply's last chunks after generation ended: keep only what was heard."""
        for index in range(len(self.conversation_events) - 1, -1, -1):
            if self.conversation_events[index] is recorded:
                self.conversation_events[index] = AgentSpeechSent(content=run.heard_text, interrupted=True)
                if not recorded.interrupted:
                    self.interruptions += 1
                return

    def on_interrupt_generate(self, message: Message | None = None) -> None:
        """Called after an interrupted run closed its generators; override to clean up."""
        logger.info("%s: reply interrupted by %s", self.id,
                    type(message.event).__name__ if message is not None else "an interrupt")
