"""Weather desk: the assistant asks a tool node for the forecast, then answers with it.

Two nodes: ``AssistantNode`` (speaking, takes its LLM from ``system.llm``) turns the
conversation into a reply or a ``ToolCall``; ``WeatherToolNode`` answers each ``ToolCall``
with a ``ToolResult``, which the assistant adds to its context and answers from. The LLM
may also call ``end_call`` to hang up.
"""

from collections.abc import AsyncIterator
from typing import Any

from line import (
    Bridge,
    CallRequest,
    ConversationContext,
    Message,
    Node,
    ReasoningNode,
    VoiceAgentApp,
    VoiceAgentSystem,
)
from line.events import (
    AgentResponse,
    ToolCall,
    ToolResult,
    UserStartedSpeaking,
    UserStoppedSpeaking,
    UserTranscriptionReceived,
)
from line.tools.system_tools import EndCallArgs, EndCallTool, end_call

SYSTEM_PROMPT = "You are a weather desk. Use get_weather for forecasts; be brief."
WEATHER_TOOL = "get_weather"
FORECASTS = {"paris": "sunny, 21 degrees", "oslo": "snow, minus 4 degrees"}


def chat_tool(name: str, description: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": description, "parameters": parameters}}


TOOLS = [
    chat_tool(WEATHER_TOOL, "Today's forecast for a city.",
              {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}),
    chat_tool(EndCallTool.name(), EndCallTool.description(), EndCallTool.to_openai_tool()["parameters"]),
]


class AssistantNode(ReasoningNode):
    def __init__(self, llm: Any, system_prompt: str) -> None:
        super().__init__(system_prompt=system_prompt)
        self.llm = llm

    async def process_context(self, context: ConversationContext) -> AsyncIterator[Any]:
        async for chunk in self.llm.generate_stream(context.format_for_llm(), tools=TOOLS):
            if chunk.text:
                yield AgentResponse(content=chunk.text)
            for call in chunk.tool_calls:
                if call.name == EndCallTool.name():
                    goodbye = call.arguments.get("goodbye_message") or "Goodbye!"
                    async for item in end_call(EndCallArgs(goodbye_message=goodbye)):
                        yield item
                    return
                yield ToolCall(tool_name=call.name, tool_args=call.arguments, tool_call_id=call.id)

    async def answer_tool_result(self, message: Message) -> AsyncIterator[Any]:
        """A tool answered: add its result to the conversation and reply from it."""
        self.add_event(message)
        async for item in self.generate(message):
            yield item


class WeatherToolNode(Node):
    """Runs the tools the assistant calls."""

    def __init__(self) -> None:
        super().__init__("weather_tool")
        self.calls: list[ToolCall] = []

    async def run_tool(self, message: Message) -> ToolResult:
        call: ToolCall = message.event
        self.calls.append(call)
        common = {"tool_name": call.tool_name, "tool_args": call.tool_args, "tool_call_id": call.tool_call_id}
        if call.tool_name != WEATHER_TOOL:
            return ToolResult(error=f"unknown tool {call.tool_name!r}", **common)
        city = str(call.tool_args.get("city", ""))
        forecast = FORECASTS.get(city.lower())
        if forecast is None:
            return ToolResult(error=f"no forecast for {city!r}", **common)
        return ToolResult(result=forecast, **common)


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    assistant = AssistantNode(system.llm, call_request.agent.system_prompt or SYSTEM_PROMPT)
    assistant_bridge = Bridge(assistant)
    system.with_speaking_node(assistant, assistant_bridge)
    assistant_bridge.on(UserTranscriptionReceived).map(assistant.add_event)
    (
        assistant_bridge.on(UserStoppedSpeaking)
        .interrupt_on(UserStartedSpeaking, handler=assistant.on_interrupt_generate)
        .stream(assistant.generate)
        .broadcast()
    )
    (
        assistant_bridge.on(ToolResult)
        .interrupt_on(UserStartedSpeaking, handler=assistant.on_interrupt_generate)
        .stream(assistant.answer_tool_result)
        .broadcast()
    )

    tool = WeatherToolNode()
    tool_bridge = Bridge(tool)
    tool_bridge.on(ToolCall).map(tool.run_tool).broadcast()
    system.with_node(tool, tool_bridge)

    await system.start()
    await system.wait_for_shutdown()


app = VoiceAgentApp(handle_new_call)

if __name__ == "__main__":
    app.run()
