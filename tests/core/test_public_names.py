"""Public names agents use that no other test exercises: RouteBuilder.on chaining,
ReasoningNode(max_context_length), Bridge.start/stop, CallRequest's fields and alias,
line.report_buffer from user code, and the async-iterator form of tracer.subscribe()."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest

import line
from line import AgentConfig, Bridge, Bus, CallRequest, Message, ReasoningNode, RouteBuilder
from line.events import (
    AgentResponse,
    AgentSpeechSent,
    ToolResult,
    UserStartedSpeaking,
    UserStoppedSpeaking,
    UserTranscriptionReceived,
)
from line.nodes import ConversationContext
from line.trace import TraceKind, TraceRecord

from .helpers import Consumer, wait_for


def say(text: str) -> Any:
    return lambda message: AgentResponse(content=text)


async def test_route_builder_on_starts_another_route_on_the_same_bridge() -> None:
    bus = Bus()
    consumer = Consumer(bus)
    bridge = Bridge("agent")
    last = (
        bridge.on(UserStoppedSpeaking).map(say("stopped")).broadcast()
        .on(UserStartedSpeaking).map(say("started")).broadcast()
        .on(ToolResult, tool_name="clock").map(say("clock")).broadcast()  # kwargs reach Bridge.on
    )
    bus.register_bridge("agent", bridge)
    assert isinstance(last, RouteBuilder) and last.route is bridge.routes[-1]
    assert [route.name for route in bridge.routes] == [
        "agent:UserStoppedSpeaking", "agent:UserStartedSpeaking", "agent:ToolResult"]
    assert [len(route.stages) for route in bridge.routes] == [1, 1, 1]  # each chain built its own route
    await bus.start()
    for event in (UserStartedSpeaking(), ToolResult(tool_name="other"), UserStoppedSpeaking(),
                  ToolResult(tool_name="clock")):
        await bus.publish(event, source="user")
        await bus.wait_idle()
    await bus.cleanup()
    assert consumer.texts == ["started", "stopped", "clock"]


class ContextRecorder(ReasoningNode):
    """Answers "ok" and keeps every context it was given."""

    def __init__(self, max_context_length: int) -> None:
        super().__init__(system_prompt="be brief", max_context_length=max_context_length)
        self.contexts: list[ConversationContext] = []

    async def process_context(self, context: ConversationContext) -> AsyncIterator[AgentResponse]:
        self.contexts.append(context)
        yield AgentResponse(content="ok")


async def test_max_context_length_bounds_the_context_and_what_the_node_keeps() -> None:
    node = ContextRecorder(max_context_length=3)
    turns = [UserTranscriptionReceived(content=f"u{i}") for i in range(5)]
    for event in turns:
        node.add_event(event)
    bus = Bus()
    Consumer(bus)
    bridge = Bridge(node)
    bridge.on(UserStoppedSpeaking).stream(node.generate).broadcast()
    bus.register_bridge(node.id, bridge)
    await bus.start()
    for _ in range(2):
        await bus.publish(UserStoppedSpeaking(), source="user")
        await bus.wait_idle()
    await bus.cleanup()

    first, second = node.contexts
    assert first.events == turns[-3:]  # the newest three, oldest first
    assert second.events == [turns[3], turns[4], AgentSpeechSent(content="ok")]  # the window slides
    assert [m["content"] for m in first.format_for_llm()] == ["be brief", "u2", "u3", "u4"]
    assert node.format_for_llm() == [  # the same window: the last three events, rendered
        {"role": "system", "content": "be brief"}, {"role": "user", "content": "u4"},
        {"role": "assistant", "content": "okok"}]
    # The node itself keeps at most ten times max_context_length events: the newest.
    many = [UserTranscriptionReceived(content=f"m{i}") for i in range(40)]
    for event in many:
        node.add_event(event)
    assert node.conversation_events == many[-30:]
    with pytest.raises(ValueError, match="max_context_length"):
        ContextRecorder(max_context_length=0)


async def test_bridge_start_and_stop_run_and_stop_only_its_own_routes() -> None:
    bus = Bus()
    consumer = Consumer(bus)
    closed: list[str] = []
    stalled = asyncio.Event()

    async def reply_then_stall(message: Message) -> AsyncIterator[AgentResponse]:
        try:
            yield AgentResponse(content="reply")
            stalled.set()
            await asyncio.Event().wait()
        finally:
            closed.append("reply_then_stall")

    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).stream(reply_then_stall).broadcast()
    with pytest.raises(RuntimeError, match="register it on a bus first"):
        await bridge.start()
    bus.register_bridge("agent", bridge)
    await consumer.bridge.start()  # the bus itself is never started: each bridge starts alone
    await bridge.start()

    await bus.publish(UserStoppedSpeaking(), source="user")
    async with asyncio.timeout(5):
        await stalled.wait()
    await wait_for(lambda: consumer.texts == ["reply"], "the reply delivered")
    await bridge.stop()  # cancels the stalled run and closes its generator, then returns
    assert closed == ["reply_then_stall"]
    # The consumer's bridge was not stopped: it still serves.
    await bus.publish(AgentResponse(content="still served"), source="other")
    await wait_for(lambda: consumer.texts == ["reply", "still served"], "the consumer still running")
    # A stopped bridge can be started again.
    stalled.clear()
    await bridge.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    async with asyncio.timeout(5):
        await stalled.wait()
    await bridge.stop()
    await consumer.bridge.stop()
    assert closed == ["reply_then_stall"] * 2
    assert consumer.texts == ["reply", "still served", "reply"]


def test_call_request_fields_and_the_from_alias() -> None:
    payload = {
        "call_id": "c-1", "from": "+15550001", "to": "+15550002", "agent_call_id": "a-1",
        "agent": {"system_prompt": "You are kind.", "introduction": "Hello!"},
        "metadata": {"max_turns": 3, "lang": "en"},
    }
    request = CallRequest.model_validate(payload)
    assert (request.call_id, request.from_, request.to, request.agent_call_id) == (
        "c-1", "+15550001", "+15550002", "a-1")
    assert request.agent == AgentConfig(system_prompt="You are kind.", introduction="Hello!")
    assert request.metadata == {"max_turns": 3, "lang": "en"}
    assert request.model_dump(by_alias=True) == payload  # round-trips under the wire name "from"
    assert CallRequest(**payload) == request
    # The field's own name works too, and everything has a default.
    by_name = CallRequest(from_="+1", agent=AgentConfig(introduction="Hi"))
    assert (by_name.from_, by_name.agent.introduction, by_name.agent.system_prompt) == ("+1", "Hi", "")
    default = CallRequest()
    assert default.metadata == {} and default.agent == AgentConfig()
    assert default.metadata is not CallRequest().metadata  # not a shared mutable default


async def test_report_buffer_from_a_stage_is_traced_with_that_stage_route_and_run() -> None:
    bus = Bus()
    records: list[TraceRecord] = []
    bus.tracer.attach(records.extend)
    Consumer(bus)

    async def words(message: Message) -> AsyncIterator[str]:
        for word in ("one", "two"):
            yield word

    pending: list[str] = []

    def gather(message: Message) -> AgentResponse | None:  # a sync stage with its own buffer
        pending.append(message.event)
        line.report_buffer("pairs", " ".join(pending), time.monotonic_ns())
        if len(pending) < 2:
            return None
        text = " ".join(pending)
        pending.clear()
        line.report_buffer("pairs", "")
        return AgentResponse(content=text)

    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).stream(words).map(gather).broadcast()
    bridge.on(UserStartedSpeaking).map(lambda m: line.report_buffer("other", "x")).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    line.report_buffer("outside", "not in a run")  # outside a route run: nothing recorded
    for event in (UserStoppedSpeaking(), UserStartedSpeaking(), UserStoppedSpeaking()):
        await bus.publish(event, source="user")
        await bus.wait_idle()
    await bus.cleanup()
    bus.tracer.flush()

    runs: dict[str | None, list[int | None]] = defaultdict(list)
    for r in records:
        if r.kind is TraceKind.RUN_STARTED:
            runs[r.route].append(r.run_id)
    replies, other = runs["agent:UserStoppedSpeaking"], runs["agent:UserStartedSpeaking"]
    assert len(replies) == 2 and len(other) == 1 and len({*replies, *other}) == 3
    buffers = [(r.route, r.run_id, r.get("name"), r.get("contents")) for r in records if r.kind is TraceKind.BUFFER]
    stage = "agent:UserStoppedSpeaking"
    assert buffers == [
        (stage, replies[0], "pairs", "one"), (stage, replies[0], "pairs", "one two"), (stage, replies[0], "pairs", ""),
        ("agent:UserStartedSpeaking", other[0], "other", "x"),
        (stage, replies[1], "pairs", "one"), (stage, replies[1], "pairs", "one two"), (stage, replies[1], "pairs", ""),
    ]
    ages = [r.get("age_ns") for r in records if r.kind is TraceKind.BUFFER]
    assert all(isinstance(age, int) and age >= 0 for age in ages)


async def test_async_for_over_a_subscription_reads_live_and_ends_when_closed() -> None:
    bus = Bus()
    Consumer(bus)
    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).stream(lambda m: [AgentResponse(content=w) for w in ("a", "b")]).broadcast()
    bus.register_bridge("agent", bridge)
    subscription = bus.tracer.subscribe()
    seen: list[TraceRecord] = []
    finished = asyncio.Event()

    async def read() -> str:
        async for record in subscription:
            seen.append(record)
            if record.kind is TraceKind.RUN_FINISHED and record.route == "agent:UserStoppedSpeaking":
                finished.set()
        return "loop ended"

    reader = asyncio.get_running_loop().create_task(read())
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    async with asyncio.timeout(5):
        await finished.wait()  # records arrive while the pipeline runs, before any close
    await bus.wait_idle()
    await bus.cleanup()
    subscription.close()  # the reader is waiting for more: close ends its loop
    async with asyncio.timeout(5):
        assert await reader == "loop ended"
    kinds = [r.kind for r in seen]
    assert kinds[:2] == [TraceKind.ROUTE_DEFINED, TraceKind.ROUTE_DEFINED]
    assert kinds.count(TraceKind.RUN_STARTED) == 3  # the reply, and each chunk at the consumer
    assert [r.get("status") for r in seen if r.kind is TraceKind.RUN_FINISHED] == ["completed"] * 3
    assert not bus.tracer.enabled  # close detached it: nobody observes any more
    assert [r async for r in subscription] == []  # iterating a closed subscription ends at once
