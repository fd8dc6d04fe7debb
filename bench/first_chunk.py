"""Figure 4: latency added to the first chunk of a reply, LLM token -> consumer.

``ScriptedLLM`` with zero delays (every token still goes through ``await asyncio.sleep(0)``).
Route: ``agent.on(UserStoppedSpeaking).stream(generate).stream(clean).stream(to_event)
.broadcast()``, consumer ``speaker``. ``generate`` iterates ``llm.generate_stream(...)`` and
notes the time it gets the first chunk; the consumer notes the time the first ``AgentResponse``
of the reply reaches it. Baseline: the same three stages as plain chained async generators,
the consumer being the ``async for`` over the last one. One sample per reply.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bench.harness import Consumer, GcPhase, clean_text, now_ns, prepare
from bench.report import Result, percentile
from bench.throughput import plain_clean, plain_to_event
from line import Bridge, Bus, Message
from line.events import AgentResponse, UserStoppedSpeaking
from line.llm import ScriptedLLM, ScriptRule

REPLIES = 1_000
QUICK_REPLIES = 1_000
REPLY = "Sure, I can *help* with that right away."
PROMPT = [{"role": "user", "content": "hello"}]
TARGET_US = 100.0


@dataclass
class Clock:
    t_token: int = 0
    t_received: int = 0
    first: bool = True
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    gc_phase: GcPhase = field(default_factory=GcPhase)

    def token(self) -> None:
        if not self.t_token:
            self.t_token = now_ns()

    def received(self) -> None:
        if self.first:
            self.first = False
            self.t_received = now_ns()
            self.arrived.set()

    def reset(self) -> None:
        self.gc_phase.shift()
        self.t_token = self.t_received = 0
        self.first = True
        self.arrived.clear()

    def sample_us(self) -> float:
        return (self.t_received - self.t_token) / 1000


def scripted() -> ScriptedLLM:
    return ScriptedLLM(rules=[ScriptRule(match=".*", reply=REPLY)])


async def line_samples(replies: int) -> list[float]:
    llm = scripted()
    clock = Clock()

    async def generate(_: Message) -> AsyncIterator[str]:
        async for chunk in llm.generate_stream(PROMPT):
            clock.token()
            if chunk.text:
                yield chunk.text

    async def clean(message: Message) -> AsyncIterator[str]:
        yield clean_text(message.event)

    async def to_event(message: Message) -> AsyncIterator[AgentResponse]:
        yield AgentResponse(content=message.event)

    bus = Bus()
    agent = Bridge("agent")
    agent.on(UserStoppedSpeaking).stream(generate).stream(clean).stream(to_event).broadcast()
    bus.register_bridge("agent", agent)
    Consumer(bus, lambda _: clock.received())
    samples: list[float] = []
    try:
        await bus.start()
        prepare()
        for index in range(replies + 20):
            clock.reset()
            await bus.publish(UserStoppedSpeaking(), source="user")
            await clock.arrived.wait()
            await bus.wait_idle()
            if index >= 20:  # the first replies warm up code paths
                samples.append(clock.sample_us())
    finally:
        await bus.cleanup()
    return samples


async def plain_samples(replies: int) -> list[float]:
    llm = scripted()
    clock = Clock()

    async def generate() -> AsyncIterator[str]:
        async for chunk in llm.generate_stream(PROMPT):
            clock.token()
            if chunk.text:
                yield chunk.text

    samples: list[float] = []
    prepare()
    for index in range(replies + 20):
        clock.reset()
        async for _ in plain_to_event(plain_clean(generate())):
            clock.received()
        if index >= 20:
            samples.append(clock.sample_us())
    return samples


async def measure(quick: bool) -> list[Result]:
    replies = QUICK_REPLIES if quick else REPLIES
    line = await line_samples(replies)
    plain = await plain_samples(replies)
    p50, p99 = percentile(line, 50), percentile(line, 99)
    b50, b99 = percentile(plain, 50), percentile(plain, 99)
    return [
        Result("first_chunk_latency_p99", p99, "µs", f"<= {TARGET_US:g} µs", p99 <= TARGET_US, baseline=b99,
               detail=f"p50 {p50:.1f} µs (baseline p50 {b50:.1f} µs); LLM first token -> consumer, "
                      f"3 stages, {replies:,} replies; added by line: p50 {p50 - b50:.1f}, p99 {p99 - b99:.1f} µs",
               extra={"p50": round(p50, 2), "baseline_p50": round(b50, 2)}),
    ]


def run(quick: bool) -> list[Result]:
    return asyncio.run(measure(quick))
