"""Counter: counts your turns and hangs up (EndCall) on the last one (no LLM).

The number of turns is ``call_request.metadata["max_turns"]`` (default 3).
"""

from collections.abc import AsyncIterator
from typing import Any

from line import Bridge, CallRequest, ConversationContext, ReasoningNode, VoiceAgentApp, VoiceAgentSystem
from line.events import AgentResponse, UserStartedSpeaking, UserStoppedSpeaking, UserTranscriptionReceived
from line.tools.system_tools import EndCallArgs, end_call

MAX_TURNS = 3
GREETING = "Counter here. Talk to me."


class CounterNode(ReasoningNode):
    def __init__(self, max_turns: int, system_prompt: str = "") -> None:
        super().__init__(system_prompt=system_prompt)
        self.max_turns = max_turns
        self.turns = 0

    async def process_context(self, context: ConversationContext) -> AsyncIterator[Any]:
        self.turns += 1
        if self.turns >= self.max_turns:
            goodbye = f"That was turn {self.turns} of {self.max_turns}. Goodbye!"
            async for item in end_call(EndCallArgs(goodbye_message=goodbye)):
                yield item
            return
        yield AgentResponse(content=f"That was turn {self.turns}. ")
        yield AgentResponse(content=f"{self.max_turns - self.turns} to go.")


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    node = CounterNode(int(call_request.metadata.get("max_turns", MAX_TURNS)), call_request.agent.system_prompt)
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
    await system.send_initial_message(GREETING)
    await system.wait_for_shutdown()


app = VoiceAgentApp(handle_new_call)

if __name__ == "__main__":
    app.run()
