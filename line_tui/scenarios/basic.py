"""Basic streaming: every LLM token goes straight to the caller."""

from __future__ import annotations

from collections.abc import AsyncIterator

from line import Bridge, CallRequest, ConversationContext, ReasoningNode, VoiceAgentSystem
from line.events import AgentResponse, UserStartedSpeaking, UserStoppedSpeaking
from line.llm import LLMClient


class ChatNode(ReasoningNode):
    def __init__(self, llm: LLMClient, system_prompt: str) -> None:
        super().__init__(system_prompt=system_prompt)
        self.llm = llm

    async def process_context(self, context: ConversationContext) -> AsyncIterator[AgentResponse]:
        async for chunk in self.llm.generate_stream(context.format_for_llm()):
            if chunk.text:
                yield AgentResponse(content=chunk.text)


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    node = ChatNode(system.llm, call_request.agent.system_prompt or "You are a friendly voice agent.")
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
