"""An observer that never keeps up costs the pipeline nothing but its bounded buffer, and what it
lost is counted and reported to it (observer.overflow), never silent."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

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
