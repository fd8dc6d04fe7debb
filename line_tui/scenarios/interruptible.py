"""Interruption-aware: the barge-in handler cancels the LLM stream and records what was heard.

The spec's pattern: the node keeps the LLM stream it is reading (``current_stream``) and counts
the chunks it sent. When the caller starts speaking, the route cuts the run (no chunk of it
reaches the caller after that), closes ``process_context``, and only then calls
``on_interrupt_generate``: it cancels the stream and records the count and the text the
caller actually heard (the node's conversation keeps just that, marked interrupted, so the
next reply knows where it was cut; the interruption card shows the same from the trace).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from line import Bridge, CallRequest, ConversationContext, Message, ReasoningNode, VoiceAgentSystem
from line.events import AgentResponse, AgentSpeechSent, UserStartedSpeaking, UserStoppedSpeaking
from line.llm import LLMClient, LLMStream

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CutReply:
    """One interrupted reply, as the handler saw it."""

    chunks_sent: int  # yielded by the node (some may have been cut on their way to the caller)
    heard: str  # what reached the caller
    llm_cancelled: bool


class InterruptibleStreamingNode(ReasoningNode):
    def __init__(self, llm: LLMClient, system_prompt: str) -> None:
        super().__init__(system_prompt=system_prompt)
        self.llm = llm
        self.current_stream: LLMStream | None = None
        self.chunks_sent = 0
        self.cut_replies: deque[CutReply] = deque(maxlen=100)  # bounded: calls can be long

    async def process_context(self, context: ConversationContext) -> AsyncIterator[AgentResponse]:
        self.chunks_sent = 0
        self.current_stream = self.llm.generate_stream(context.format_for_llm())
        try:
            async for chunk in self.current_stream:
                if chunk.text:
                    yield AgentResponse(content=chunk.text)
                    self.chunks_sent += 1
        except (asyncio.CancelledError, GeneratorExit):
            # CancelledError: cut while waiting for the LLM; GeneratorExit: cut while the last
            # chunk was on its way down the route. Either way, re-raise: the run must end.
            logger.info("stream cancelled after %d chunks", self.chunks_sent)
            raise
        # Completed: nothing left for the interrupt handler to cancel. (Unlike the spec's
        # `finally`, an interrupted run leaves the stream here, for the handler.)
        self.current_stream = None

    def on_interrupt_generate(self, message: Message | None = None) -> None:
        """Called once the interrupted run's generators are closed; the next run waits for it."""
        stream, self.current_stream = self.current_stream, None
        if stream is not None:
            # Idempotent. line already cancelled the streams created during the run; a client
            # that does not register with the run (your own wrapper, say) relies on this line.
            stream.cancel()
        # The conversation's last turn is what the caller heard (recorded before this handler).
        last = self.conversation_events[-1] if self.conversation_events else None
        heard = last.content if isinstance(last, AgentSpeechSent) else ""
        logger.info("streaming interrupted after %d chunks; the caller heard %r", self.chunks_sent, heard)
        self.cut_replies.append(CutReply(self.chunks_sent, heard, stream is not None and stream.cancelled))
        self.chunks_sent = 0


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    node = InterruptibleStreamingNode(system.llm, call_request.agent.system_prompt or "You are a patient storyteller.")
    bridge = Bridge(node)
    (
        bridge.on(UserStoppedSpeaking)
        .interrupt_on(UserStartedSpeaking, handler=node.on_interrupt_generate)
        .stream(node.generate)
        .broadcast()
    )
    system.with_speaking_node(node, bridge)
    await system.start()
    await system.wait_for_shutdown()
