"""Errors end one run only; bounded queues slow producers; policies; clean shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from line import Bridge, Bus, Message, Policy
from line.events import (
    AgentError,
    AgentResponse,
    ToolCall,
    UserStartedSpeaking,
    UserStoppedSpeaking,
    UserTranscriptionReceived,
)

from .helpers import Consumer, wait_for


def error_collector(bus: Bus) -> list[AgentError]:
    errors: list[AgentError] = []
    bridge = Bridge("errors")
    bridge.on(AgentError).map(lambda m: errors.append(m.event))
    bus.register_bridge("errors", bridge)
    return errors


async def test_stage_error_ends_that_run_only_and_publishes_agent_error() -> None:
    bus = Bus()
    consumer = Consumer(bus)
    errors = error_collector(bus)
    handled: list[int] = []

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        text = message.event.content
        yield AgentResponse(content=f"{text}-1")
        if text == "boom":
            raise RuntimeError("the model exploded")
        yield AgentResponse(content=f"{text}-2")

    bridge = Bridge("agent")
    bridge.on(UserTranscriptionReceived).interrupt_on(UserStartedSpeaking, handler=lambda: handled.append(1)) \
        .stream(generate).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    for text in ("ok", "boom", "again"):
        await bus.publish(UserTranscriptionReceived(content=text), source="user")
    await bus.wait_idle()
    await bus.publish(UserStartedSpeaking(), source="user")  # nothing is running: no handler
    await bus.wait_idle()
    await bus.cleanup()

    assert consumer.texts == ["ok-1", "ok-2", "boom-1", "again-1", "again-2"]
    assert len(errors) == 1
    error = errors[0]
    assert error.error_type == "RuntimeError" and error.stage == "generate"
    assert error.route == "agent:UserTranscriptionReceived"
    assert "the model exploded" in error.error and "generate" in error.error
    assert handled == []


async def test_map_and_filter_chains_mix_sync_and_async_functions_and_fail_per_run() -> None:
    """A chain of plain functions runs without waiting, one with an async function waits for
    it; either way a failing function ends only its own run, with an AgentError naming it."""
    bus = Bus()
    consumer = Consumer(bus)
    errors = error_collector(bus)

    async def longer_than_two(message: Message) -> bool:
        await asyncio.sleep(0)
        return len(message.event.content) > 2

    def shout(message: Message) -> str:
        if message.event.content == "fail":
            raise ValueError("cannot shout 'fail'")
        return message.event.content.upper()

    async def to_chunk(message: Message) -> AgentResponse:
        await asyncio.sleep(0)
        return AgentResponse(content=message.event + "!")

    bridge = Bridge("agent")
    bridge.on(UserTranscriptionReceived).filter(longer_than_two).map(shout).map(to_chunk).broadcast()
    bridge.on(UserStoppedSpeaking).filter(lambda m: True).map(lambda m: AgentResponse(content="sync")).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    for text in ("hey", "no", "fail", "you"):
        await bus.publish(UserTranscriptionReceived(content=text), source="user")
    await bus.publish(UserStoppedSpeaking(), source="user")
    await bus.wait_idle()
    await bus.cleanup()

    assert sorted(consumer.texts) == ["HEY!", "YOU!", "sync"]
    assert consumer.texts.index("HEY!") < consumer.texts.index("YOU!")
    assert len(errors) == 1
    assert errors[0].error_type == "ValueError" and errors[0].stage == "shout"
    assert "cannot shout 'fail'" in errors[0].error


async def test_handler_and_filter_errors_are_reported_and_route_keeps_serving() -> None:
    bus = Bus()
    consumer = Consumer(bus)
    errors = error_collector(bus)
    started = asyncio.Event()

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        yield AgentResponse(content=message.event.content)
        if message.event.content == "stall":
            started.set()
            await asyncio.Event().wait()

    def broken_handler() -> None:
        raise KeyError("handler bug")

    def broken_filter(message: Message) -> bool:
        if message.event.content == "bad":
            raise ValueError("filter bug")
        return True

    bridge = Bridge("agent")
    bridge.on(UserTranscriptionReceived, filter_fn=broken_filter) \
        .interrupt_on(UserStartedSpeaking, handler=broken_handler).stream(generate).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    await bus.publish(UserTranscriptionReceived(content="bad"), source="user")
    await bus.publish(UserTranscriptionReceived(content="stall"), source="user")
    await started.wait()
    await bus.publish(UserStartedSpeaking(), source="user")
    await bus.publish(UserTranscriptionReceived(content="after"), source="user")
    await wait_for(lambda: len(errors) == 2 and consumer.texts[-1:] == ["after"], "errors and next run")
    await bus.wait_idle()
    await bus.cleanup()
    assert {e.code for e in errors} == {"filter", "handler"}
    by_code = {e.code: e for e in errors}
    assert by_code["filter"].error_type == "ValueError" and "filter bug" in by_code["filter"].error
    assert by_code["handler"].stage == "broken_handler" and by_code["handler"].error_type == "KeyError"
    assert consumer.texts == ["stall", "after"]


async def test_broadcast_event_type_mismatch_publishes_agent_error() -> None:
    bus = Bus()
    consumer = Consumer(bus)
    errors = error_collector(bus)
    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).stream(
        lambda m: [{"content": "fits"}, {"wrong": 1}, ToolCall(tool_name="clock")]
    ).broadcast(AgentResponse)
    bus.register_bridge("agent", bridge)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await bus.wait_idle()
    await bus.cleanup()
    assert consumer.texts == ["fits"]
    assert len(errors) == 2
    assert all("broadcast(event_type=AgentResponse)" in e.error for e in errors)
    assert "dict" in errors[0].error and "ToolCall" in errors[1].error


async def test_non_event_at_broadcast_is_an_agent_error_naming_the_stage() -> None:
    bus = Bus()
    errors = error_collector(bus)
    bridge = Bridge("agent")

    def to_text(message: Message) -> str:
        return "plain string"

    bridge.on(UserStoppedSpeaking).map(to_text).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await bus.wait_idle()
    await bus.cleanup()
    assert len(errors) == 1 and "to_text" in errors[0].error and "str" in errors[0].error


async def test_slow_consumer_slows_the_producer_and_nothing_is_dropped() -> None:
    bus = Bus(max_queue_size=3)
    gate = asyncio.Event()
    consumer = Consumer(bus, gate=gate)
    produced: list[int] = []

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        for i in range(50):
            produced.append(i)
            yield AgentResponse(content=str(i))

    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).stream(generate).broadcast()
    bus.register_bridge("agent", bridge)
    records: list[Any] = []
    bus.tracer.attach(records.extend)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await wait_for(lambda: bus.routes[0].inbox.full(), "consumer inbox full")
    # At most 1 inside the consumer, 3 queued and 1 waiting for room: the producer is held back.
    assert len(produced) <= 5
    gate.set()
    await bus.wait_idle()
    await bus.cleanup()
    bus.tracer.flush()
    assert consumer.texts == [str(i) for i in range(50)]
    waits = [r for r in records if r.kind == "backpressure"]
    assert waits and all(r.get("who") == "agent:UserStoppedSpeaking" and r.get("waited_ns") > 0 for r in waits)


async def test_serial_policy_never_interleaves_or_drops_triggers() -> None:
    bus = Bus()
    consumer = Consumer(bus)
    active = 0
    overlaps = 0

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        nonlocal active, overlaps
        active += 1
        overlaps += active > 1
        for i in range(3):
            await asyncio.sleep(0)
            yield AgentResponse(content=f"{message.event.content}{i}")
        active -= 1

    bridge = Bridge("agent")
    bridge.on(UserTranscriptionReceived).stream(generate).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    for text in "abcd":
        await bus.publish(UserTranscriptionReceived(content=text), source="user")
    await bus.wait_idle()
    await bus.cleanup()
    assert overlaps == 0
    assert consumer.texts == [f"{t}{i}" for t in "abcd" for i in range(3)]


async def test_latest_wins_cancels_the_older_run() -> None:
    bus = Bus()
    consumer = Consumer(bus)
    closed: list[str] = []
    first = asyncio.Event()

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        text = message.event.content
        try:
            yield AgentResponse(content=f"{text}-start")
            if text == "old":
                first.set()
                await asyncio.Event().wait()
            yield AgentResponse(content=f"{text}-end")
        finally:
            closed.append(text)

    bridge = Bridge("agent")
    bridge.on(UserTranscriptionReceived).with_policy(Policy.LATEST).stream(generate).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    await bus.publish(UserTranscriptionReceived(content="old"), source="user")
    await first.wait()
    await bus.publish(UserTranscriptionReceived(content="new"), source="user")
    await bus.wait_idle()
    await bus.cleanup()
    assert consumer.texts == ["old-start", "new-start", "new-end"]
    assert closed == ["old", "new"]


async def test_cleanup_cancels_and_closes_everything() -> None:
    bus = Bus(max_queue_size=2)
    closed: list[str] = []
    gate = asyncio.Event()
    Consumer(bus, gate=gate)

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        try:
            while True:
                yield AgentResponse(content="x")
        finally:
            closed.append("generator")

    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).interrupt_on(UserStartedSpeaking).stream(generate).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await wait_for(lambda: bus.routes[0].inbox.full(), "pipeline blocked on backpressure")
    await bus.cleanup()
    assert closed == ["generator"]
    assert bus.idle
    # The no_leaks fixture checks that no task or async generator is left behind.
