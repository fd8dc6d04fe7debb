"""A three-stage route (stream → stream → map → broadcast) that can be stopped mid-word, and a
consumer that holds one chunk, so an interruption lands at a known stage with chunks queued."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from line import Bridge, Bus, Message
from line.events import AgentResponse, UserStartedSpeaking, UserStoppedSpeaking
from line.trace import TraceRecord

WORDS = ("alpha", "beta", "gamma", "delta")
AGENT_ROUTE = "agent:UserStoppedSpeaking"
SPEAKER_ROUTE = "speaker:AgentResponse"


class HoldingConsumer:
    """Records every ``AgentResponse`` it gets; holds the ``hold_at``-th until ``release`` is set."""

    def __init__(self, bus: Bus, hold_at: int | None = None) -> None:
        self.hold_at = hold_at
        self.received: list[str] = []
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self._seen = 0
        bridge = Bridge("speaker")
        bridge.on(AgentResponse).map(self._receive)
        bus.register_bridge("speaker", bridge)

    async def _receive(self, message: Message) -> None:
        self._seen += 1
        if self._seen == self.hold_at:
            self.holding.set()
            await self.release.wait()
        self.received.append(message.event.content)


@dataclass
class Pipeline:
    """``generate`` yields words, ``split`` cuts each in two (and stalls after "ga" when
    ``stall`` is set), ``shout`` upper-cases into an ``AgentResponse``."""

    bus: Bus
    consumer: HoldingConsumer
    stall: bool = True
    log: list[str] = field(default_factory=list)
    stalled: asyncio.Event = field(default_factory=asyncio.Event)
    records: list[TraceRecord] = field(default_factory=list)

    async def generate(self, message: Message) -> AsyncIterator[str]:
        try:
            for word in WORDS:
                yield word
        finally:
            self.log.append("generate closed")

    async def split(self, message: Message) -> AsyncIterator[str]:
        word: str = message.event
        try:
            yield word[:2]
            if self.stall and word == "gamma":
                self.stalled.set()
                await asyncio.Event().wait()  # an upstream that stops answering mid-word
            yield word[2:]
        finally:
            self.log.append(f"split {word} closed")

    def shout(self, message: Message) -> AgentResponse:
        return AgentResponse(content=message.event.upper())

    def on_interrupt(self) -> None:
        self.log.append("handler")


def build_pipeline(*, hold_at: int | None = 3, stall: bool = True, queue: int = 1024) -> Pipeline:
    """Wire the pipeline on a fresh bus; ``pipeline.records`` collects every trace record."""
    bus = Bus(max_queue_size=queue)
    pipeline = Pipeline(bus, HoldingConsumer(bus, hold_at), stall=stall)
    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).interrupt_on(UserStartedSpeaking, handler=pipeline.on_interrupt) \
        .stream(pipeline.generate).stream(pipeline.split).map(pipeline.shout).broadcast()
    bus.register_bridge("agent", bridge)
    return pipeline


async def run_until_stalled(pipeline: Pipeline) -> None:
    """Start a reply and wait until split stalls on "gamma" while the consumer holds its third
    chunk ("BE"), with "TA" and "GA" queued behind it."""
    bus = pipeline.bus
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    async with asyncio.timeout(5):
        await pipeline.stalled.wait()
        await pipeline.consumer.holding.wait()


async def barge_in_and_settle(pipeline: Pipeline) -> None:
    """The user starts speaking; then the consumer lets its held chunk go; wait for quiet."""
    await pipeline.bus.publish(UserStartedSpeaking(), source="user")
    pipeline.consumer.release.set()
    async with asyncio.timeout(5):
        await pipeline.bus.wait_idle()
