"""Tool calls: a calculator and a clock; ToolCall and ToolResult on the bus, then the answer.

Ask "what is 12*7?" or "what time is it?". The node streams the LLM's reply with the tools
offered; when a chunk carries tool calls, it runs each tool, yields the ``ToolCall`` and the
``ToolResult`` (the route broadcasts them: they show in the event log with their lineage) and
asks the LLM again with the results, which it streams as the rest of the same reply. It all
happens in one route run, so a barge-in cancels the LLM, the tool loop and the answer at once.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

from line import Bridge, CallRequest, ConversationContext, ReasoningNode, VoiceAgentSystem
from line.events import AgentResponse, ToolResult, UserStartedSpeaking, UserStoppedSpeaking
from line.llm import LLMClient, LLMToolCall, ScriptedLLM, ScriptRule

#: A model that keeps calling tools must not keep the caller waiting forever.
MAX_TOOL_ROUNDS = 3

# -- the tools --------------------------------------------------------------------------------

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
LARGEST = 10**100  # huge integers cost time, and even more to print


def calculate(expression: str) -> int | float:
    """Evaluate arithmetic safely: numbers, + - * / // % ** (or ^) and brackets; no names, no calls."""
    if len(expression) > 200:
        raise ValueError("expression too long")
    tree = ast.parse(expression.replace("^", "**"), mode="eval")

    def evaluate(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.UAdd | ast.USub):
            operand = evaluate(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = evaluate(node.left), evaluate(node.right)
            if isinstance(node.op, ast.Pow) and abs(right) > 100:
                raise ValueError("exponent too large")  # 9**9**9 would stall the event loop
            value = _BINARY[type(node.op)](left, right)
            if isinstance(value, complex):
                raise ValueError("not a real number")
            if not math.isfinite(value) or abs(value) > LARGEST:
                raise ValueError("result out of range")
            return value
        raise ValueError(f"not arithmetic: {ast.unparse(node)}")

    value = evaluate(tree.body)
    if isinstance(value, float):
        return int(value) if value.is_integer() else round(value, 10)
    return int(value)


def clock() -> str:
    """The local time, as a person would say it."""
    return datetime.now().strftime("%H:%M")


TOOLS: list[dict[str, Any]] = [
    {"type": "function", "function": {
        "name": "calculator",
        "description": "Evaluate an arithmetic expression such as 12*7 or (3+4)/2.",
        "parameters": {"type": "object", "properties": {"expression": {"type": "string"}},
                       "required": ["expression"]}}},
    {"type": "function", "function": {
        "name": "clock", "description": "The current local time (HH:MM).",
        "parameters": {"type": "object", "properties": {}}}},
]


def run_tool(call: LLMToolCall) -> ToolResult:
    """Run one call; a failure is a ``ToolResult`` with ``error`` (the LLM is told), never a crash."""
    value: Any = None
    error: str | None = None
    try:
        if call.parse_error:
            raise ValueError(f"bad arguments: {call.parse_error}")
        if call.name == "calculator":
            value = calculate(str(call.arguments.get("expression", "")))
        elif call.name == "clock":
            value = clock()
        else:
            raise ValueError(f"no tool named {call.name!r}")
    except (ValueError, SyntaxError, ArithmeticError) as exc:
        error = str(exc) or type(exc).__name__
    return ToolResult(tool_name=call.name, tool_args=call.arguments, result=value, error=error,
                      tool_call_id=call.id)


# -- the node ---------------------------------------------------------------------------------


class ToolNode(ReasoningNode):
    def __init__(self, llm: LLMClient, system_prompt: str) -> None:
        super().__init__(system_prompt=system_prompt)
        self.llm = llm

    async def process_context(self, context: ConversationContext) -> AsyncIterator[Any]:
        messages = context.format_for_llm()
        for _ in range(MAX_TOOL_ROUNDS):
            text = ""
            calls: list[LLMToolCall] = []
            async for chunk in self.llm.generate_stream(messages, tools=TOOLS):
                if chunk.text:
                    text += chunk.text
                    yield AgentResponse(content=chunk.text)
                calls.extend(chunk.tool_calls)  # complete calls, in the chunk where they complete
            if not calls:
                return
            # Chat APIs want the results right after the assistant message that asked for them.
            messages.append({"role": "assistant", "content": text or None,
                             "tool_calls": [call.to_message() for call in calls]})
            for call in calls:
                yield call.to_event()  # ToolCall on the bus (and in this node's conversation)
                result = run_tool(call)
                yield result           # ToolResult on the bus
                messages.append({"role": "tool", "tool_call_id": call.id,
                                 "content": result.result_str if result.success else f"error: {result.error}"})


# -- the offline LLM's script -----------------------------------------------------------------

ARITHMETIC = re.compile(r"[-+*/^%().\d\s]*\d[-+*/^%().\d\s]*")


def _calculator_calls(text: str) -> list[dict[str, Any]]:
    expression = max(ARITHMETIC.findall(text), key=len).strip()
    return [{"name": "calculator", "arguments": {"expression": expression}}]


def script_offline_llm(llm: LLMClient) -> None:
    """A real model reads the tool schemas; the scripted one is told when to call which tool.

    Appended, so rules the scripted LLM was given first still win.
    """
    if isinstance(llm, ScriptedLLM):
        llm.rules += [
            ScriptRule(match=r"\d\s*[-+*/^%]\s*[\d(]", reply="Let me work that out. ",
                       tool_calls=_calculator_calls, after_tool="That makes {result}."),
            ScriptRule(match=r"\btime\b|\bclock\b", reply="Let me look at the clock. ",
                       tool_calls=[{"name": "clock", "arguments": {}}], after_tool="It is {result}."),
        ]


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    script_offline_llm(system.llm)
    node = ToolNode(system.llm, call_request.agent.system_prompt
                    or "You are a helpful voice agent. Use the calculator for arithmetic and the clock for the time.")
    bridge = Bridge(node)
    (
        bridge.on(UserStoppedSpeaking)
        .interrupt_on(UserStartedSpeaking, handler=node.on_interrupt_generate)
        .stream(node.generate)  # text, ToolCall, ToolResult, text
        .broadcast()            # all of it on the bus; the caller hears only the text
    )
    system.with_speaking_node(node, bridge)
    await system.start()
    await system.wait_for_shutdown()
