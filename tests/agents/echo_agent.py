"""Echo: repeats what you said, streamed back one word at a time (no LLM).

A Line 0.1.x style agent module: ``handle_new_call`` builds the nodes and routes, and
``app = VoiceAgentApp(handle_new_call)`` lets ``line-tui echo_agent.py`` (or ``python
echo_agent.py``) run it.
"""

from collections.abc import AsyncIterator

from line import Bridge, CallRequest, ConversationContext, ReasoningNode, VoiceAgentApp, VoiceAgentSystem
from line.events import AgentResponse, UserStartedSpeaking, UserStoppedSpeaking, UserTranscriptionReceived

GREETING = "Echo here. Say something."
PREFIX = "You said: "


class EchoNode(ReasoningNode):
    """Replies with the latest transcription: a prefix chunk, then one chunk per word."""

    async def process_context(self, context: ConversationContext) -> AsyncIterator[AgentResponse]:
        said = context.get_latest_user_transcript_message()
        if not said:
            yield AgentResponse(content="I heard nothing.")
            return
        yield AgentResponse(content=PREFIX)
        words = said.split()
        for index, word in enumerate(words):
            yield AgentResponse(content=word + (" " if index < len(words) - 1 else "."))


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    node = EchoNode(system_prompt=call_request.agent.system_prompt)
    bridge = Bridge(node)
    system.with_speaking_node(node, bridge)
    bridge.on(UserTranscriptionReceived).map(node.add_event)
    (
        bridge.on(UserStoppedSpeaking)
        .interrupt_on(UserStartedSpeaking, handler=node.on_interrupt_generate)
        .stream(node.generate)
        .broadcast()
    )
    await system.start()
    await system.send_initial_message(call_request.agent.introduction or GREETING)
    await system.wait_for_shutdown()


app = VoiceAgentApp(handle_new_call)

if __name__ == "__main__":
    app.run()
