"""Chunk validation: filtered chunks are traced with their reason, then a completion marker.

Each LLM chunk goes through a ``ChunkValidator`` before it is yielded: empty chunks (real models
send some), over-long ones and blocked words are dropped, and every drop is a ``stage.filtered``
trace record saying why (the routes panel counts it on the generate stage). A reply that
completed ends with ``AgentGenerationComplete`` (its length and chunk count are those of what
passed); an interrupted one gets none.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from line import Bridge, CallRequest, ConversationContext, ReasoningNode, VoiceAgentSystem
from line.events import AgentResponse, UserStartedSpeaking, UserStoppedSpeaking
from line.llm import LLMClient, ScriptedLLM, ScriptRule
from line.streaming import ChunkValidator, with_completion

BLOCKED_WORDS = frozenset({"darn", "damn"})

#: The offline LLM has no model that slips up now and then: script a reply that does.
SCRIPTED_REPLY = "Sure thing! The darn printer needs a reset: hold its power button for ten seconds."


class ValidatedNode(ReasoningNode):
    def __init__(self, llm: LLMClient, system_prompt: str) -> None:
        super().__init__(system_prompt=system_prompt)
        self.llm = llm
        self.validator = ChunkValidator(blocked_words=BLOCKED_WORDS, max_chunk_chars=500)

    async def process_context(self, context: ConversationContext) -> AsyncIterator[Any]:
        # aclosing: a barge-in closes this generator, which closes the chain below it at once
        # (inside the run), rather than leaving it to the garbage collector.
        async with contextlib.aclosing(with_completion(self._valid_chunks(context))) as replies:
            async for item in replies:
                yield item

    async def _valid_chunks(self, context: ConversationContext) -> AsyncIterator[AgentResponse]:
        async for chunk in self.llm.generate_stream(context.format_for_llm()):
            text = self.validator.check(chunk.text)  # None: filtered (logged and traced)
            if text is not None:
                yield AgentResponse(content=text)


def script_offline_llm(llm: LLMClient) -> None:
    """Give the embedded scripted LLM a reply with something to filter (rules given first win)."""
    if isinstance(llm, ScriptedLLM):
        llm.rules.append(ScriptRule(match=r"", reply=SCRIPTED_REPLY))


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    script_offline_llm(system.llm)
    node = ValidatedNode(system.llm, call_request.agent.system_prompt or "You are a helpful support agent.")
    bridge = Bridge(node)
    (
        bridge.on(UserStoppedSpeaking)
        .interrupt_on(UserStartedSpeaking, handler=node.on_interrupt_generate)
        .stream(node.generate)  # validated chunks, then the completion marker
        .broadcast()            # the marker goes on the bus too (the caller only hears AgentResponse)
    )
    system.with_speaking_node(node, bridge)
    await system.start()
    await system.wait_for_shutdown()
