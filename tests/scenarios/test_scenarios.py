"""Every built-in scenario, headless: loaded as the TUI loads it, driven through ``system.user``.

For each scenario: one turn is heard exactly as expected, and a barge-in in the middle of a
stalled reply leaks nothing to the caller, cancels the LLM stream and leaves the node's
conversation with only what was delivered. Then what each pattern is about: validation in the
trace, every pipeline stage, tool calls on the bus, the interrupt handler's record, the merged
streams, and the cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from line import CallRequest, ReasoningNode, TraceKind, TraceRecord, VoiceAgentSystem
from line.events import AgentGenerationComplete, AgentResponse, AgentSpeechSent, LogMetric, ToolCall, ToolResult
from line.llm import ScriptedLLM, ScriptRule
from line.llm.scripted import DEFAULT_REPLIES, tokenize
from line_tui.loader import load_agent
from line_tui.scenarios import SCENARIOS
from line_tui.scenarios.cached import CachedStreamingNode
from line_tui.scenarios.interruptible import CutReply, InterruptibleStreamingNode
from line_tui.scenarios.parallel import ContextAnalysis, Suggestion

from ..core.helpers import wait_for

QUESTION = "what is 12*7?"
HEARD = {
    "basic": DEFAULT_REPLIES[0],
    "buffered": DEFAULT_REPLIES[0],
    "validated": "Sure thing! The printer needs a reset: hold its power button for ten seconds.",
    "pipeline": "Sure, I can help with that. Doctor Smith's office opens at 9 AM on weekdays. "
                "Would you like me to book the first available slot?",
    "tools": "Let me work that out. That makes 84.",
    "interruptible": DEFAULT_REPLIES[0],
    "parallel": DEFAULT_REPLIES[0],
    "cached": DEFAULT_REPLIES[0],
}

STORY = ("Once upon a time there was a brave little robot. It wanted to see the sea, so one morning "
         "it rolled out of the workshop and down the hill.")
STALL = 12  # tokens delivered before the scripted LLM stalls: "... little robot. It wanted "
STORY_SO_FAR = "".join(tokenize(STORY)[:STALL])
#: What the caller has heard when the LLM stalls (the sentence buffer holds back "It wanted ").
HEARD_AT_STALL = {"buffered": "Once upon a time there was a brave little robot. "}


@dataclass
class Call:
    """One call of a scenario, with the trace it produced."""

    system: VoiceAgentSystem
    llm: ScriptedLLM
    records: list[TraceRecord] = field(default_factory=list)

    @property
    def node(self) -> ReasoningNode:
        node = self.system.speaking_nodes[0]
        assert isinstance(node, ReasoningNode)
        return node

    @property
    def reply_route(self) -> str:
        return f"{self.node.id}:UserStoppedSpeaking"

    def trace(self) -> list[TraceRecord]:
        self.system.tracer.flush()
        return self.records

    def published(self, event_type: type) -> list[Any]:
        return [r.get("event") for r in self.trace()
                if r.kind is TraceKind.BUS_PUBLISH and r.get("event_type") == event_type.__name__]

    def run_statuses(self) -> list[str]:
        return [r.get("status") for r in self.trace()
                if r.kind is TraceKind.RUN_FINISHED and r.route == self.reply_route]

    def said(self) -> list[AgentSpeechSent]:
        return [e for e in self.node.conversation_events if isinstance(e, AgentSpeechSent)]


@contextlib.asynccontextmanager
async def call(name: str, llm: ScriptedLLM | None = None) -> AsyncIterator[Call]:
    """Run scenario ``name``'s ``handle_new_call`` as the TUI does; always end the call."""
    llm = llm if llm is not None else ScriptedLLM()  # no delays: every chunk still yields to the loop
    system = VoiceAgentSystem(llm=llm)
    running = Call(system, llm)
    system.tracer.attach(running.records.extend)
    task = asyncio.ensure_future(load_agent(name).handler(system, CallRequest()))
    try:
        await wait_for(lambda: system.started or task.done(), f"{name} starts")
        if task.done():
            task.result()  # raises what the scenario raised
        yield running
    finally:
        task.cancel()
        await system.cleanup()
        with contextlib.suppress(asyncio.CancelledError):
            await task  # re-raises what the scenario raised, if anything


async def ask(running: Call, text: str) -> None:
    await running.system.user.say(text)
    await running.system.wait_idle()


def stalling_llm() -> ScriptedLLM:
    return ScriptedLLM(rules=[ScriptRule(match="story", reply=STORY, stall_after=STALL)])


async def barge_in_at_stall(running: Call, name: str) -> int:
    """Ask for the story, wait until its reply stalls mid-way, barge in; returns the barge-in's id."""
    user = running.system.user
    await user.say("tell me a story")
    heard = HEARD_AT_STALL.get(name, STORY_SO_FAR)
    await wait_for(lambda: bool(running.llm.streams) and running.llm.streams[0].chunks_delivered == STALL
                   and user.heard == heard, "the reply stalls mid-way")
    barge_in = await user.start_speaking()
    assert barge_in is not None
    await running.system.wait_idle()
    return int(barge_in.id)


# -- every scenario ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_one_turn_is_heard_in_full(name: str) -> None:
    async with call(name) as running:
        await ask(running, QUESTION)
        assert running.system.user.heard == HEARD[name]
        assert running.run_statuses() == ["completed"]
        assert running.said() == [AgentSpeechSent(content=HEARD[name])]
        assert running.system.user.errors == []


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_barge_in_mid_reply_leaks_nothing_and_cancels_the_llm(name: str) -> None:
    async with call(name, stalling_llm()) as running:
        barge_in = await barge_in_at_stall(running, name)
        heard = HEARD_AT_STALL.get(name, STORY_SO_FAR)
        assert running.system.user.heard == heard
        records = running.trace()
        # Nothing of the reply reached a route of the caller once the barge-in was published.
        chunks = {r.message_id for r in records
                  if r.kind is TraceKind.BUS_PUBLISH and r.get("event_type") == "AgentResponse"}
        caller_routes = {r.route for r in records if r.kind is TraceKind.ROUTE_DEFINED and r.get("bridge") == "user"}
        accepted = next(i for i, r in enumerate(records)
                        if r.kind is TraceKind.BUS_PUBLISH and r.message_id == barge_in)
        assert not [r for r in records[accepted:]
                    if r.kind is TraceKind.BUS_DELIVER and r.route in caller_routes and r.message_id in chunks]
        # Every LLM stream of the turn was cancelled, not left stalled.
        assert running.llm.streams and all(stream.cancelled for stream in running.llm.streams)
        assert running.llm.streams_cancelled == len(running.llm.streams)
        # The node remembers only what was delivered, marked interrupted; no completion marker.
        assert running.said() == [AgentSpeechSent(content=heard, interrupted=True)]
        assert running.run_statuses() == ["interrupted"]
        handled = [r.get("ok") for r in records
                   if r.kind is TraceKind.HANDLER_FINISHED and r.route == running.reply_route]
        assert handled == [True]
        assert running.published(AgentGenerationComplete) == []
        assert running.system.user.errors == []


# -- what each pattern is about -----------------------------------------------------------------


async def test_validated_traces_each_filtered_chunk_and_marks_completion() -> None:
    async with call("validated") as running:
        await ask(running, "my printer is stuck")
        filtered = [r for r in running.trace() if r.kind is TraceKind.STAGE_FILTERED and r.get("by") == "validate"]
        assert [(r.route, r.stage, r.get("reason"), r.get("text")) for r in filtered] == [
            (running.reply_route, 0, "blocked word 'darn'", "darn ")]
        heard = HEARD["validated"]
        assert running.published(AgentGenerationComplete) == [
            AgentGenerationComplete(total_length=len(heard), chunk_count=len(tokenize(heard)))]
        # The marker travels on the bus; the caller hears only the text.
        assert running.system.user.heard == heard


async def test_pipeline_runs_every_stage_and_drops_a_chunk_left_empty() -> None:
    reply = "Call **Dr. Who** now: it costs $35 & more. **"
    llm = ScriptedLLM(rules=[ScriptRule(match="call", reply=reply)])
    async with call("pipeline", llm) as running:
        await ask(running, "who should I call?")
        assert running.system.user.heard == "Call Doctor Who now: it costs 35 dollars and more. "
        records = running.trace()
        route = next(r for r in records if r.kind is TraceKind.ROUTE_DEFINED and r.route == running.reply_route)
        assert route.get("stages") == ["stream:TokenNode.generate", "stream:preprocess_chunks",
                                       "stream:postprocess_chunks", "map:for_speech"]

        def count(kind: TraceKind, stage: int) -> int:
            return sum(1 for r in records if r.kind is kind and r.route == running.reply_route and r.stage == stage)

        tokens = len(tokenize(reply))
        assert [count(TraceKind.STAGE_IN, stage) for stage in range(1, 4)] == [tokens, tokens - 1, tokens - 1]
        assert {chunk.chunk_type for chunk in running.published(AgentResponse)} == {"speech"}


async def test_tools_put_call_and_result_on_the_bus_and_the_llm_answers_with_the_result() -> None:
    async with call("tools") as running:
        await ask(running, QUESTION)
        (tool_call,) = running.published(ToolCall)
        (result,) = running.published(ToolResult)
        assert (tool_call.tool_name, tool_call.tool_args) == ("calculator", {"expression": "12*7"})
        assert (result.tool_name, result.result, result.error) == ("calculator", 84, None)
        assert result.tool_call_id == tool_call.tool_call_id
        order = [r.get("event_type") for r in running.trace() if r.kind is TraceKind.BUS_PUBLISH
                 and r.route == running.reply_route]
        assert order.index("ToolCall") + 1 == order.index("ToolResult") < len(order) - 1
        # The follow-up request carried the result; both requests offered the tools.
        follow_up = running.llm.requests[1]
        assert follow_up[-1] == {"role": "tool", "tool_call_id": tool_call.tool_call_id, "content": "84"}
        assert [tool["function"]["name"] for tool in running.llm.tools_seen[0] or []] == ["calculator", "clock"]
        assert running.system.user.heard == HEARD["tools"]
        # The call and its result stay in the conversation, for the next turn.
        events = [type(e).__name__ for e in running.node.conversation_events]
        assert events == ["UserTranscriptionReceived", "ToolCall", "ToolResult", "AgentSpeechSent"]

        await ask(running, "and what time is it?")
        clock_result = running.published(ToolResult)[-1]
        assert clock_result.tool_name == "clock" and re.fullmatch(r"\d\d:\d\d", clock_result.result)
        assert running.system.user.heard.endswith(f"Let me look at the clock. It is {clock_result.result}.")


async def test_a_failing_tool_is_a_result_with_an_error_not_a_crash() -> None:
    async with call("tools") as running:
        await ask(running, "what is 1/0?")
        (result,) = running.published(ToolResult)
        assert (result.result, result.error) == (None, "division by zero")
        assert running.run_statuses() == ["completed"]
        assert running.system.user.heard == "Let me work that out. That makes error: division by zero."


async def test_a_barge_in_during_the_answer_after_a_tool_cuts_it_and_keeps_the_tool_turn() -> None:
    after_tool = "The answer is {result}, because six sevens make forty-two, as every pupil learns."
    rule = ScriptRule(match="multiply", reply="Let me work that out. ", after_tool=after_tool, stall_after=6,
                      tool_calls=[{"name": "calculator", "arguments": {"expression": "6*7"}}])
    llm = ScriptedLLM(rules=[rule])
    async with call("tools", llm) as running:
        user = running.system.user
        await user.say("multiply six by seven")
        heard = "Let me work that out. " + "".join(tokenize(after_tool.replace("{result}", "42"))[:6])
        await wait_for(lambda: len(llm.streams) == 2 and llm.streams[1].chunks_delivered == 6
                       and user.heard == heard, "the answer after the tool stalls")
        await user.start_speaking()
        await running.system.wait_idle()
        assert user.heard == heard
        assert llm.streams[0].finished and llm.streams[1].cancelled
        assert [result.result for result in running.published(ToolResult)] == [42]
        events = running.node.conversation_events
        assert [type(e).__name__ for e in events] == ["UserTranscriptionReceived", "ToolCall", "ToolResult",
                                                      "AgentSpeechSent"]
        assert events[-1] == AgentSpeechSent(content=heard, interrupted=True)


async def test_interruptible_handler_cancels_the_stream_and_records_what_was_heard() -> None:
    async with call("interruptible", stalling_llm()) as running:
        await barge_in_at_stall(running, "interruptible")
        node = running.node
        assert isinstance(node, InterruptibleStreamingNode)
        assert node.current_stream is None and node.chunks_sent == 0
        assert list(node.cut_replies) == [CutReply(chunks_sent=STALL, heard=STORY_SO_FAR, llm_cancelled=True)]
        # The next turn starts from what the caller heard, marked as cut.
        running.llm.rules.clear()
        await ask(running, "go on")
        assert {"role": "assistant", "content": f"{STORY_SO_FAR} [interrupted by the user]"} in running.llm.requests[-1]


async def test_parallel_merges_reply_analysis_and_suggestions() -> None:
    async with call("parallel") as running:
        await ask(running, QUESTION)
        assert running.system.user.heard == HEARD["parallel"]
        published = [r.get("event") for r in running.trace() if r.kind is TraceKind.BUS_PUBLISH
                     and r.route == running.reply_route]
        assert [e for e in published if isinstance(e, ContextAnalysis)] == [ContextAnalysis(words=3, question=True)]
        assert [e for e in published if isinstance(e, Suggestion)] == [
            Suggestion(content="Can I book it online?"), Suggestion(content="What does it cost?")]
        # Both LLM requests ran in the same turn: the reply and the suggestions.
        assert len(running.llm.requests) == 2 and running.llm.streams_finished == 2


async def test_cached_replays_a_repeated_question_but_never_a_cut_reply() -> None:
    requests = 0

    def first_request(text: str) -> bool:
        nonlocal requests
        requests += 1
        return requests == 1

    llm = ScriptedLLM(rules=[ScriptRule(match=first_request, reply=STORY, stall_after=STALL)])
    async with call("cached", llm) as running:
        await barge_in_at_stall(running, "cached")
        assert isinstance(running.node, CachedStreamingNode)
        assert len(running.node.cache) == 0
        await ask(running, "tell me a story")  # the cut reply was not stored: the LLM answers
        await ask(running, "tell me a story")  # now it was: the cache answers
        assert len(llm.requests) == 2
        # Without the cache the third turn would get the scripted LLM's next reply.
        assert running.system.user.heard == STORY_SO_FAR + DEFAULT_REPLIES[0] * 2
        by_run: dict[int | None, set[str]] = {}
        for record in running.trace():
            if record.kind is TraceKind.BUS_PUBLISH and record.get("event_type") == "AgentResponse":
                by_run.setdefault(record.run_id, set()).add(record.get("event").chunk_type)
        assert list(by_run.values()) == [{"llm"}, {"llm"}, {"cached"}]
        assert running.published(LogMetric) == [
            LogMetric(name="response_cache", value={"hit": False, "entries": 1}),
            LogMetric(name="response_cache", value={"hit": True, "entries": 1}),
        ]
        assert running.run_statuses() == ["interrupted", "completed", "completed"]
