"""An observer that never keeps up costs the pipeline nothing but its bounded buffer, and what it
lost is counted and reported to it (observer.overflow), never silent."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator

import pytest

from line import Bridge, Bus, Message
from line.events import AgentResponse, UserStoppedSpeaking
from line.trace import TraceKind, TraceRecord, TraceSubscription
from line.trace_stats import TraceStats

from .helpers import HoldingConsumer

CHUNKS = 500
BUFFER = 16


class Listener(HoldingConsumer):
    """A consumer that notes, at every chunk, how many records wait for the slow observer."""

    def __init__(self, bus: Bus, slow: TraceSubscription) -> None:
        super().__init__(bus)
        self.slow = slow
        self.waiting: list[int] = []

    async def _receive(self, message: Message) -> None:
        self.waiting.append(len(self.slow.pending))
        await super()._receive(message)


def talk(message: Message) -> Iterator[AgentResponse]:
    for i in range(CHUNKS):
        yield AgentResponse(content=f"c{i}")


async def test_an_unread_subscription_stays_bounded_and_reports_exactly_what_it_lost() -> None:
    bus = Bus()
    everything: list[TraceRecord] = []
    bus.tracer.attach(everything.extend)
    slow = bus.tracer.subscribe(max_buffer=BUFFER)  # never read while the pipeline runs
    listener = Listener(bus, slow)
    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).stream(talk).broadcast()
    bus.register_bridge("agent", bridge)

    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    # The pipeline runs to the end although nobody reads the subscription.
    async with asyncio.timeout(5):
        await bus.wait_idle()
    await bus.cleanup()
    bus.tracer.flush()
    assert len(listener.received) == CHUNKS

    # What waited for the slow reader never exceeded its bound, at any chunk.
    assert len(listener.waiting) == CHUNKS and max(listener.waiting) == BUFFER
    assert len(slow.pending) == BUFFER
    assert len(everything) > 10 * BUFFER

    batch = await slow.next_batch()
    overflow, kept = batch[0], batch[1:]
    assert overflow.kind is TraceKind.OBSERVER_OVERFLOW
    lost = len(everything) - BUFFER
    assert overflow.get("dropped") == overflow.get("total_dropped") == slow.dropped == lost
    assert kept == everything[-BUFFER:]  # the newest records survive, in order

    stats = TraceStats()
    stats.feed(batch)
    assert stats.records_dropped == lost

    slow.close()
    assert await slow.next_batch() == []


async def test_a_burst_emitted_without_the_loop_turning_stays_bounded_and_counted() -> None:
    """Records are delivered once per loop iteration; code that emits many without awaiting
    still holds at most the largest observer's buffer, and the rest is counted as dropped."""
    bus = Bus()
    batches: list[list[TraceRecord]] = []
    observer = bus.tracer.attach(batches.append, max_buffer=BUFFER)
    for i in range(1_000):
        bus.tracer.emit(TraceKind.BUFFER, route="r", data={"name": "b", "contents": str(i), "age_ns": 0})
    assert len(observer.pending) <= BUFFER
    await asyncio.sleep(0)  # the loop turns: the batch is delivered

    (batch,) = batches
    overflow, kept = batch[0], batch[1:]
    assert overflow.kind is TraceKind.OBSERVER_OVERFLOW and overflow.get("dropped") == 1_000 - BUFFER
    assert [record.get("contents") for record in kept] == [str(i) for i in range(1_000 - BUFFER, 1_000)]


def _route_with_chunks(bus: Bus, produced: asyncio.Event) -> None:
    async def talk_then_note(message: Message) -> AsyncIterator[AgentResponse]:
        for i in range(CHUNKS):
            yield AgentResponse(content=f"c{i}")
        produced.set()

    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).stream(talk_then_note).broadcast()
    bus.register_bridge("agent", bridge)


async def test_a_raising_callback_observer_neither_breaks_nor_stops_the_pipeline(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = Bus()
    calls: list[int] = []

    def broken(batch: list[TraceRecord]) -> None:
        calls.append(len(batch))
        raise RuntimeError("observer bug")

    everything: list[TraceRecord] = []
    failing = bus.tracer.attach(broken)
    bus.tracer.attach(everything.extend)
    consumer = HoldingConsumer(bus)
    _route_with_chunks(bus, asyncio.Event())
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    async with asyncio.timeout(5):
        await bus.wait_idle()
    await bus.cleanup()
    bus.tracer.flush()

    # The run completed and every chunk reached the consumer; no AgentError was published.
    assert consumer.received == [f"c{i}" for i in range(CHUNKS)]
    [finished] = [r for r in everything if r.kind is TraceKind.RUN_FINISHED and r.route == "agent:UserStoppedSpeaking"]
    assert finished.get("status") == "completed" and finished.get("delivered") == CHUNKS
    assert not [r for r in everything if r.kind is TraceKind.ERROR]
    # The failing observer stayed attached (it got every batch, not just the first) ...
    assert len(calls) > 1 and sum(calls) == len(everything)
    # ... and every failure was counted on it and logged with its traceback, naming it.
    assert failing.errors == len(calls)
    logged = [r for r in caplog.records if r.name == "line.trace"]
    assert len(logged) == len(calls)
    assert all(r.levelno == logging.ERROR and "broken" in r.getMessage() and r.exc_info is not None
               and isinstance(r.exc_info[1], RuntimeError) for r in logged)


async def test_an_unread_subscription_makes_the_producer_neither_wait_nor_drop_chunks() -> None:
    """Nobody reads the subscription and the consumer holds the first chunk until the producer
    has yielded every chunk: the producer gets to the end (it waited for nobody), no chunk is
    lost, and only the subscription loses records, counted."""
    bus = Bus(max_queue_size=CHUNKS)  # room for the whole reply: nothing downstream makes it wait
    everything: list[TraceRecord] = []
    bus.tracer.attach(everything.extend, max_buffer=100 * CHUNKS)
    unread = bus.tracer.subscribe(max_buffer=BUFFER)
    consumer = HoldingConsumer(bus, hold_at=1)
    produced = asyncio.Event()
    _route_with_chunks(bus, produced)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    async with asyncio.timeout(5):
        await consumer.holding.wait()
        await produced.wait()  # every chunk yielded while the subscription was never read
    consumer.release.set()
    async with asyncio.timeout(5):
        await bus.wait_idle()
    await bus.cleanup()
    bus.tracer.flush()

    assert consumer.received == [f"c{i}" for i in range(CHUNKS)]
    assert not [r for r in everything if r.kind in (TraceKind.BACKPRESSURE, TraceKind.BUS_DROP)]
    assert unread.dropped == len(everything) - BUFFER > 0
    assert len(unread.pending) == BUFFER and unread.pending[-1] is everything[-1]
    unread.close()
