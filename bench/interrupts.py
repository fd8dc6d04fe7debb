"""Figure 2: interrupt latency, and chunks leaked after the interrupt (must be 0).

Route: ``agent.on(UserStoppedSpeaking).interrupt_on(UserStartedSpeaking, handler=handler)
.stream(generate).stream(clean).stream(to_event).broadcast()``, consumer ``speaker``.
Per turn: publish ``UserStoppedSpeaking``, wait until the generator is in the wanted state,
take ``t0`` and publish ``UserStartedSpeaking``. Measured from ``t0`` to (a) the generator's
``finally`` and (b) the end of the handler. Three generators:

* idle: yields one chunk, then awaits an event nobody sets;
* streaming: yields a chunk, ``await asyncio.sleep(0)``, forever;
* tight loop: yields chunks forever without awaiting (``line`` yields to the loop for it).

Every chunk the consumer receives after ``t0`` is counted as leaked. The baseline (idle and
streaming) is the same generator chain run by a plain asyncio task, interrupted by
``task.cancel()``, the "handler" being the code after ``await task``; a plain task running
a tight loop cannot be interrupted at all, so that case has no baseline.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from dataclasses import dataclass, field

from bench.harness import TOKENS, Consumer, GcPhase, clean_text, now_ns, prepare
from bench.report import Result, percentile
from line import Bridge, Bus, Message
from line.events import AgentResponse, UserStartedSpeaking, UserStoppedSpeaking

TURNS = 1_000
QUICK_TURNS = 1_000
#: Chunks the consumer must have received before the interrupt (streaming and tight loop).
WARM_CHUNKS = 20


@dataclass
class Probe:
    """What the generators and the handler report to the measuring task."""

    ready: asyncio.Event = field(default_factory=asyncio.Event)
    handled: asyncio.Event = field(default_factory=asyncio.Event)
    never: asyncio.Event = field(default_factory=asyncio.Event)
    received: int = 0
    interrupted: bool = False  # set right before the interrupt is published
    leaked: int = 0
    t_closed: int = 0
    t_handled: int = 0
    gc_phase: GcPhase = field(default_factory=GcPhase)

    def on_chunk(self, _: object) -> None:
        self.received += 1
        if self.interrupted:
            self.leaked += 1
        elif self.received == WARM_CHUNKS:
            self.ready.set()

    def handler(self) -> None:
        self.t_handled = now_ns()
        self.handled.set()


async def idle(probe: Probe) -> AsyncIterator[str]:
    try:
        yield TOKENS[0]
        probe.ready.set()
        await probe.never.wait()
    finally:
        probe.t_closed = now_ns()


async def streaming(probe: Probe) -> AsyncIterator[str]:
    tokens = TOKENS
    i = 0
    try:
        while True:
            yield tokens[i % 13]
            i += 1
            await asyncio.sleep(0)
    finally:
        probe.t_closed = now_ns()


async def tight(probe: Probe) -> AsyncIterator[str]:
    tokens = TOKENS
    i = 0
    try:
        while True:
            yield tokens[i % 13]
            i += 1
    finally:
        probe.t_closed = now_ns()


Generator = Callable[[Probe], AsyncIterator[str]]
CASES: dict[str, tuple[Generator, float]] = {  # case: (generator, p99 target in µs)
    "idle": (idle, 200.0),
    "streaming": (streaming, 200.0),
    "tight_loop": (tight, 1000.0),
}


@dataclass
class Samples:
    closed_us: list[float] = field(default_factory=list)
    handled_us: list[float] = field(default_factory=list)
    leaked: int = 0


def build(bus: Bus, probe: Probe, generator: Generator) -> None:
    """The interruptible route and the consumer on ``bus`` (shared with the stability figure)."""

    def generate(_: Message) -> AsyncIterator[str]:
        return generator(probe)

    async def clean(message: Message) -> AsyncIterator[str]:
        yield clean_text(message.event)

    async def to_event(message: Message) -> AsyncIterator[AgentResponse]:
        yield AgentResponse(content=message.event)

    agent = Bridge("agent")
    (
        agent.on(UserStoppedSpeaking)
        .interrupt_on(UserStartedSpeaking, handler=probe.handler)
        .stream(generate)
        .stream(clean)
        .stream(to_event)
        .broadcast()
    )
    bus.register_bridge("agent", agent)
    Consumer(bus, probe.on_chunk)


async def turn(bus: Bus, probe: Probe, samples: Samples) -> None:
    """One reply interrupted by a barge-in; appends its latencies to ``samples``."""
    probe.ready.clear()
    probe.handled.clear()
    probe.received = 0
    probe.gc_phase.shift()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await probe.ready.wait()
    probe.interrupted = True
    started = now_ns()
    await bus.publish(UserStartedSpeaking(), source="user")
    await probe.handled.wait()
    await bus.wait_idle()  # any chunk still on its way would reach the consumer now
    probe.interrupted = False
    samples.closed_us.append((probe.t_closed - started) / 1000)
    samples.handled_us.append((probe.t_handled - started) / 1000)


async def line_samples(generator: Generator, turns: int) -> Samples:
    bus = Bus()
    probe = Probe()
    build(bus, probe, generator)
    samples = Samples()
    try:
        await bus.start()
        for _ in range(20):  # warm-up turns, not counted
            await turn(bus, probe, Samples())
        probe.leaked = 0
        prepare()
        for _ in range(turns):
            await turn(bus, probe, samples)
        samples.leaked = probe.leaked
    finally:
        await bus.cleanup()
    return samples


async def plain_samples(generator: Generator, turns: int) -> Samples:
    """The same chain in a plain task, cancelled with ``task.cancel()``."""
    probe = Probe()
    samples = Samples()

    async def clean(items: AsyncIterator[str]) -> AsyncIterator[str]:
        async for text in items:
            yield clean_text(text)

    async def to_event(items: AsyncIterator[str]) -> AsyncGenerator[AgentResponse, None]:
        async for text in items:
            yield AgentResponse(content=text)

    async def reply() -> None:
        chain = to_event(clean(generator(probe)))
        try:
            async for event in chain:
                probe.on_chunk(event)
        finally:
            await chain.aclose()

    prepare()
    for _ in range(turns + 20):
        probe.gc_phase.shift()
        probe.ready.clear()
        probe.received = 0
        task = asyncio.get_running_loop().create_task(reply())
        await probe.ready.wait()
        probe.interrupted = True
        started = now_ns()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        probe.handler()
        probe.interrupted = False
        samples.closed_us.append((probe.t_closed - started) / 1000)
        samples.handled_us.append((probe.t_handled - started) / 1000)
    del samples.closed_us[:20], samples.handled_us[:20]
    samples.leaked = probe.leaked
    return samples


def _stats(values: list[float]) -> tuple[float, float]:
    return percentile(values, 50), percentile(values, 99)


async def measure(quick: bool) -> list[Result]:
    turns = QUICK_TURNS if quick else TURNS
    results: list[Result] = []
    for case, (generator, target) in CASES.items():
        line = await line_samples(generator, turns)
        plain = await plain_samples(generator, turns) if case != "tight_loop" else None
        for what, values, base_values in (
            ("cancel", line.closed_us, plain.closed_us if plain else None),
            ("handler", line.handled_us, plain.handled_us if plain else None),
        ):
            p50, p99 = _stats(values)
            base_p99 = _stats(base_values)[1] if base_values else None
            seen = "generator's finally" if what == "cancel" else "handler finished"
            results.append(Result(
                f"interrupt_{case}_{what}_p99", p99, "µs", f"<= {target:g} µs", p99 <= target,
                baseline=base_p99,
                detail=f"p50 {p50:.1f} µs; publish -> {seen}; {turns:,} interrupts",
                extra={"p50": round(p50, 2)},
            ))
        results.append(Result(
            f"interrupt_{case}_leaked", line.leaked, "chunks", "= 0", line.leaked == 0,
            detail=f"chunks the consumer received after the interrupt was published, over {turns:,} interrupts",
        ))
    return results


def run(quick: bool) -> list[Result]:
    return asyncio.run(measure(quick))
