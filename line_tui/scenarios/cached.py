"""Cached streaming: a repeated question is replayed from cache; a cut reply is never stored.

``cached_stream`` streams the LLM's reply while recording it, and stores it only once it
completed: an interrupted reply would otherwise be replayed, cut, to the next caller asking
the same. Chunks say where they came from (``chunk_type`` "llm" or "cached", in the event log)
and each completed reply ends with a ``LogMetric`` saying whether it was a cache hit.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from line import Bridge, CallRequest, ConversationContext, ReasoningNode, VoiceAgentSystem
from line.events import AgentResponse, LogMetric, UserStartedSpeaking, UserStoppedSpeaking
from line.llm import LLMClient
from line.streaming import ResponseCache, cached_stream


def question_key(context: ConversationContext) -> list[dict[str, Any]]:
    """What the cache is keyed on: the system prompt and the question.

    Not the whole conversation: it grows every turn, so it never repeats. Fine for FAQ-style
    answers; an agent whose answers depend on earlier turns would key on more of them.
    """
    return [{"role": "system", "content": context.system_prompt},
            {"role": "user", "content": context.get_latest_user_transcript_message() or ""}]


class CachedStreamingNode(ReasoningNode):
    def __init__(self, llm: LLMClient, system_prompt: str) -> None:
        super().__init__(system_prompt=system_prompt)
        self.llm = llm
        self.cache = ResponseCache(max_entries=128)  # bounded: least recently used entries go first

    async def process_context(self, context: ConversationContext) -> AsyncIterator[Any]:
        from_llm = False

        async def ask_llm() -> AsyncIterator[str]:
            nonlocal from_llm
            from_llm = True  # called on a cache miss only
            async for chunk in self.llm.generate_stream(context.format_for_llm()):
                if chunk.text:
                    yield chunk.text

        # aclosing: a barge-in closes the cache stream (and the LLM text under it) inside the run.
        async with contextlib.aclosing(cached_stream(self.cache, question_key(context), ask_llm)) as texts:
            async for text in texts:
                yield AgentResponse(content=text, chunk_type="llm" if from_llm else "cached")
        # Only a completed reply gets here (and only it was stored).
        yield LogMetric(name="response_cache", value={"hit": not from_llm, "entries": len(self.cache)})


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    node = CachedStreamingNode(system.llm, call_request.agent.system_prompt or "You are a helpful front-desk agent.")
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
