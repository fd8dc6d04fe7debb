"""Multi-stage streaming with a sentence buffer and barge-in: tokens → sentences → speech text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from line import Bridge, CallRequest, ConversationContext, Message, ReasoningNode, VoiceAgentSystem
from line.events import AgentGenerationComplete, AgentResponse, UserStartedSpeaking, UserStoppedSpeaking
from line.llm import LLMClient
from line.streaming import SentenceStage


class TokenNode(ReasoningNode):
    """Streams the LLM's tokens, then marks the end of the reply for the buffer stage."""

    def __init__(self, llm: LLMClient, system_prompt: str) -> None:
        super().__init__(system_prompt=system_prompt)
        self.llm = llm

    async def process_context(self, context: ConversationContext) -> AsyncIterator[Any]:
        count = length = 0
        async for chunk in self.llm.generate_stream(context.format_for_llm()):
            if chunk.text:
                count += 1
                length += len(chunk.text)
                yield AgentResponse(content=chunk.text)
        yield AgentGenerationComplete(total_length=length, chunk_count=count)


def speakable(message: Message) -> Any:
    """Last stage: what a TTS engine should not read aloud goes away; markers pass on."""
    event = message.event
    if isinstance(event, AgentResponse):
        return AgentResponse(content=event.content.replace("*", "").replace("#", ""), chunk_type="speech")
    return event


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    node = TokenNode(system.llm, call_request.agent.system_prompt or "You are a helpful voice agent.")
    bridge = Bridge(node)
    (
        bridge.on(UserStoppedSpeaking)
        .interrupt_on(UserStartedSpeaking, handler=node.on_interrupt_generate)
        .stream(node.generate)      # LLM tokens
        .stream(SentenceStage())    # whole sentences only: TTS sounds better (its buffer is traced)
        .map(speakable)             # strip markdown a voice should not read
        .broadcast()
    )
    system.with_speaking_node(node, bridge)
    await system.start()
    await system.wait_for_shutdown()
