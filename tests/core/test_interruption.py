"""Interruption: zero leakage from the moment the bus accepts the interrupt; generators are
closed before the handler; the next run starts after the handler returned."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from line import Bridge, Bus, Message
from line.events import AgentResponse, UserStartedSpeaking, UserStoppedSpeaking, UserTranscriptionReceived

from .helpers import Consumer, wait_for


class Recorder:
    """Collects what happened, in order, across generator, handler and consumer."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.interrupt_published = False
        self.leaked: list[str] = []


def setup(
    stage: Any,
    handler: Any = None,
    *,
    queue: int = 1024,
    filter_fn: Any = None,
    gate: asyncio.Event | None = None,
) -> tuple[Bus, Consumer, Bridge]:
    bus = Bus(max_queue_size=queue)
    consumer = Consumer(bus, gate=gate)
    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).interrupt_on(UserStartedSpeaking, handler=handler, filter_fn=filter_fn) \
        .stream(stage).broadcast()
    bus.register_bridge("agent", bridge)
    return bus, consumer, bridge


@pytest.mark.parametrize("tight", [False, True], ids=["awaiting-generator", "tight-loop-generator"])
async def test_no_chunk_reaches_a_consumer_after_the_interrupt_is_accepted(tight: bool) -> None:
    rec = Recorder()
    produced = 0

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        nonlocal produced
        try:
            while True:
                produced += 1
                yield AgentResponse(content=f"c{produced}")
                if not tight:
                    await asyncio.sleep(0)
        finally:
            rec.log.append("generator closed")

    def handler() -> None:
        rec.log.append("handler")

    bus, consumer, _ = setup(generate, handler)
    consumer.on_receive = lambda m: rec.interrupt_published and rec.leaked.append(m.event.content)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await wait_for(lambda: len(consumer.received) >= 50, "consumer received chunks")
    rec.interrupt_published = True
    await bus.publish(UserStartedSpeaking(), source="user")
    await bus.wait_idle()
    await bus.cleanup()

    assert rec.leaked == []
    assert rec.log == ["generator closed", "handler"]
    assert produced >= len(consumer.received) >= 50


async def test_tight_loop_with_a_full_queue_leaks_nothing_and_purges_queued_chunks() -> None:
    gate = asyncio.Event()
    rec = Recorder()

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        i = 0
        while True:  # never awaits on its own: only backpressure can stop it
            i += 1
            yield AgentResponse(content=f"c{i}")

    bus, consumer, _ = setup(generate, queue=4, gate=gate)
    records: list[Any] = []
    bus.tracer.attach(records.extend)
    consumer.on_receive = lambda m: rec.interrupt_published and rec.leaked.append(m.event.content)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    # The consumer holds c1; c2..c5 fill its inbox; the producer waits on backpressure.
    await wait_for(lambda: consumer.receiving.is_set() and bus.routes[0].inbox.full(), "queue full")
    rec.interrupt_published = True
    await bus.publish(UserStartedSpeaking(), source="user")
    gate.set()
    await bus.wait_idle()
    await bus.cleanup()
    bus.tracer.flush()

    # c1 had reached the consumer before the interrupt; everything else was cut.
    assert consumer.texts == ["c1"]
    assert rec.leaked == ["c1"] and len(rec.leaked) == 1  # only the chunk already inside the consumer
    drops = [r for r in records if r.kind == "bus.drop" and r.get("reason") == "interrupted"]
    assert len(drops) == 4
    finished = [r for r in records if r.kind == "run.finished" and r.route.startswith("agent")]
    assert finished[-1].data["status"] == "interrupted"
    assert finished[-1].data["delivered"] == 1
    backpressure = [r for r in records if r.kind == "backpressure"]
    assert backpressure, "the producer should have waited for the slow consumer"


@pytest.mark.parametrize("kind", ["sync", "async", "with-message", "async-method"])
async def test_handlers_sync_and_async_are_called_after_generators_closed(kind: str) -> None:
    log: list[Any] = []
    started = asyncio.Event()

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        try:
            yield AgentResponse(content="first")
            started.set()
            await asyncio.Event().wait()  # an LLM that stalls
        finally:
            log.append("closed")

    class Node:
        async def on_interrupt(self, message: Message) -> None:
            await asyncio.sleep(0)
            log.append(("handler", type(message.event).__name__))

    async def async_handler() -> None:
        await asyncio.sleep(0)
        log.append("handler")

    handlers = {
        "sync": lambda: log.append("handler"),
        "async": async_handler,
        "with-message": lambda message: log.append(("handler", type(message.event).__name__)),
        "async-method": Node().on_interrupt,
    }
    bus, consumer, _ = setup(generate, handlers[kind])
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await started.wait()
    await bus.publish(UserStartedSpeaking(), source="user")
    await bus.wait_idle()
    await bus.cleanup()
    assert log[0] == "closed"
    assert log[1] in ("handler", ("handler", "UserStartedSpeaking"))
    assert len(log) == 2
    assert consumer.texts == ["first"]


async def test_filter_fn_decides_whether_to_interrupt() -> None:
    started = asyncio.Event()
    release = asyncio.Event()
    handled: list[str] = []

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        started.set()
        await release.wait()
        yield AgentResponse(content="done")

    def only_loud(message: Message) -> bool:
        return message.source == "loud-user"

    bus, consumer, _ = setup(generate, lambda: handled.append("h"), filter_fn=only_loud)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await started.wait()
    await bus.publish(UserStartedSpeaking(), source="quiet-user")  # filtered out: no interrupt
    release.set()
    await bus.wait_idle()
    assert consumer.texts == ["done"] and handled == []

    started.clear()
    release.clear()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await started.wait()
    await bus.publish(UserStartedSpeaking(), source="loud-user")
    await bus.wait_idle()
    await bus.cleanup()
    assert consumer.texts == ["done"] and handled == ["h"]


async def test_next_run_starts_only_after_the_handler_returned() -> None:
    log: list[str] = []
    handler_may_finish = asyncio.Event()
    first_started = asyncio.Event()

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        log.append("run start")
        first_started.set()
        yield AgentResponse(content="x")
        await asyncio.Event().wait()

    async def handler() -> None:
        log.append("handler start")
        await handler_may_finish.wait()
        log.append("handler end")

    bus, _, _ = setup(generate, handler)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await first_started.wait()
    await bus.publish(UserStartedSpeaking(), source="user")
    await bus.publish(UserStoppedSpeaking(), source="user")  # next trigger, queued
    await wait_for(lambda: "handler start" in log, "handler started")
    assert log == ["run start", "handler start"]
    handler_may_finish.set()
    await wait_for(lambda: log.count("run start") == 2, "second run started")
    assert log == ["run start", "handler start", "handler end", "run start"]
    await bus.cleanup()


async def test_interrupt_does_not_wait_behind_queued_data() -> None:
    """The interrupting event is applied when published even if the route's inbox is full."""
    gate = asyncio.Event()
    cancelled_at: list[int] = []

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        try:
            i = 0
            while True:
                i += 1
                yield AgentResponse(content=str(i))
        finally:
            cancelled_at.append(len(consumer.received))

    bus, consumer, _ = setup(generate, queue=2, gate=gate)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await wait_for(lambda: bus.routes[0].inbox.full(), "consumer inbox full")
    run = bus.routes[1].active_run
    assert run is not None
    # Completes although the consumer makes no progress (its gate is still closed).
    await bus.publish(UserStartedSpeaking(), source="user")
    assert run.interrupted and len(bus.routes[0].inbox) == 0
    gate.set()
    await bus.wait_idle()
    await bus.cleanup()
    assert cancelled_at, "the generator of the interrupted run was closed"


async def test_interrupt_while_idle_calls_no_handler() -> None:
    handled: list[str] = []

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        yield AgentResponse(content="hello")

    bus, consumer, _ = setup(generate, lambda: handled.append("h"))
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await bus.wait_idle()
    await bus.publish(UserStartedSpeaking(), source="user")
    await bus.wait_idle()
    await bus.cleanup()
    assert consumer.texts == ["hello"] and handled == []


async def test_reasoning_node_context_holds_only_what_was_delivered() -> None:
    from line import ReasoningNode, VoiceAgentSystem
    from line.events import AgentSpeechSent

    first_chunks_out = asyncio.Event()

    class Talker(ReasoningNode):
        async def process_context(self, context: Any) -> AsyncIterator[AgentResponse]:
            yield AgentResponse(content="Hello ")
            yield AgentResponse(content="there. ")
            first_chunks_out.set()
            await asyncio.Event().wait()
            yield AgentResponse(content="never said")

    system = VoiceAgentSystem()
    node = Talker(system_prompt="be brief")
    bridge = Bridge(node)
    bridge.on(UserStoppedSpeaking).interrupt_on(UserStartedSpeaking, handler=node.on_interrupt_generate) \
        .stream(node.generate).broadcast()
    system.with_speaking_node(node, bridge)
    await system.start()
    await system.user.say("hi")
    await first_chunks_out.wait()
    await wait_for(lambda: len(system.user.received) == 2, "both chunks heard")
    await system.user.start_speaking()
    await system.wait_idle()
    await system.cleanup()

    assert system.user.heard == "Hello there. "
    events = node.conversation_events
    assert isinstance(events[0], UserTranscriptionReceived) and events[0].content == "hi"
    assert events[1] == AgentSpeechSent(content="Hello there. ", interrupted=True)
    assert node.format_for_llm(events)[-1] == {
        "role": "assistant", "content": "Hello there.  [interrupted by the user]"}


def accept_now(bus: Bus, event: Any) -> None:
    """Have the bus accept ``event`` inside a plain callback, at a precise point between two loop
    steps. Controls apply before ``publish`` first awaits, and no route is triggered by ``event``
    here, so one ``send`` runs the whole coroutine."""
    coroutine = bus.publish(event, source="user")
    with pytest.raises(StopIteration):
        coroutine.send(None)


@pytest.mark.parametrize("fails", [False, True], ids=["completed", "failed"])
async def test_a_barge_in_after_generation_ended_still_cuts_the_queued_chunks(fails: bool) -> None:
    """The reply was fully generated (or its generator failed) but its chunks still wait for a
    slow speaker: the barge-in cuts them, the handler runs, and the context keeps only what was
    heard. Without this, the rest of the reply would be spoken over the caller."""
    from line import ReasoningNode

    gate = asyncio.Event()
    log: list[str] = []

    class Teller(ReasoningNode):
        async def process_context(self, context: Any) -> AsyncIterator[AgentResponse]:
            try:
                for word in ("one ", "two ", "three"):
                    yield AgentResponse(content=word)
                if fails:
                    raise RuntimeError("the LLM connection dropped")
            finally:
                # Runs right after the generators close, before the route's worker finishes the run.
                asyncio.get_running_loop().call_soon(accept_now, bus, UserStartedSpeaking())

    node = Teller()
    bus = Bus()
    consumer = Consumer(bus, gate=gate)
    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).interrupt_on(UserStartedSpeaking, handler=lambda: log.append("handler")) \
        .stream(node.generate).broadcast()
    bus.register_bridge("agent", bridge)
    records: list[Any] = []
    bus.tracer.attach(records.extend)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await wait_for(lambda: consumer.receiving.is_set(), "the speaker holds the first chunk")
    await wait_for(lambda: any(r.kind == "interrupt.accepted" for r in records), "the barge-in")
    gate.set()
    await bus.wait_idle()
    await bus.cleanup()
    bus.tracer.flush()

    assert consumer.texts == ["one "], "only the chunk already inside the speaker was heard"
    assert log == ["handler"]
    finished = [r for r in records if r.kind == "run.finished" and r.route.startswith("agent")][-1]
    assert finished.data["status"] == ("failed" if fails else "interrupted")
    assert (finished.data["delivered"], finished.data["cut"]) == (1, 2)
    spoken = [e for e in node.conversation_events if type(e).__name__ == "AgentSpeechSent"]
    assert [(e.content, e.interrupted) for e in spoken] == [("one ", True)]
    errors = [r for r in records if r.kind == "bus.publish" and r.get("event_type") == "AgentError"]
    assert len(errors) == (1 if fails else 0), "a failure is still reported when a barge-in cut it"


async def test_a_finished_reply_still_queued_for_a_slow_speaker_is_cut_and_its_handler_runs_first() -> None:
    """The worker moved on (the run's generators are long closed), but the speaker has not taken
    the chunks: the barge-in cuts them, the handler runs, and the next run starts after it."""
    gate = asyncio.Event()
    log: list[str] = []

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        log.append(f"run {message.event.content}")
        for word in ("one ", "two ", "three"):
            yield AgentResponse(content=word)

    async def handler() -> None:
        await asyncio.sleep(0)
        log.append("handler")

    bus = Bus()
    consumer = Consumer(bus, gate=gate)
    bridge = Bridge("agent")
    route = bridge.on(UserTranscriptionReceived).interrupt_on(UserStartedSpeaking, handler=handler) \
        .stream(generate).broadcast().route
    bus.register_bridge("agent", bridge)
    records: list[Any] = []
    bus.tracer.attach(records.extend)
    await bus.start()
    await bus.publish(UserTranscriptionReceived(content="a"), source="user")
    await wait_for(lambda: route.active_run is None and route.draining_run is not None, "generated, not yet heard")
    assert not [r for r in records if r.kind == "run.finished"], "not finished while its chunks wait"
    await bus.publish(UserStartedSpeaking(), source="user")
    await bus.publish(UserTranscriptionReceived(content="b"), source="user")
    gate.set()
    await bus.wait_idle()
    await bus.cleanup()
    bus.tracer.flush()

    assert consumer.texts[0] == "one ", "the chunk already inside the speaker was heard"
    assert consumer.texts[1:] == ["one ", "two ", "three"], "then only the next run's reply"
    assert log == ["run a", "handler", "run b"]
    finished = [r for r in records if r.kind == "run.finished" and r.route.startswith("agent")]
    assert [(r.data["status"], r.data["delivered"], r.data["cut"]) for r in finished] == \
        [("interrupted", 1, 2), ("completed", 3, 0)]
