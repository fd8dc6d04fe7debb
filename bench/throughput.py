"""Figure 1: chunks/s through one route (three ``stream`` stages, ``broadcast``) to a consumer.

The route is ``agent.on(Go).stream(source).stream(clean).stream(to_event).broadcast()`` and the
consumer is another bridge's route, ``speaker.on(AgentResponse).map(count)``. The baseline is
the same three stages written as plain async generators chained into each other and consumed
by an ``async for``, in the same process, interleaved with the ``line`` runs (best of N each).
Both do the same per-chunk work: pick a token, ``str.replace``, build an ``AgentResponse``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from bench.harness import TOKENS, Consumer, Go, clean_text, now_ns, prepare
from bench.report import Result
from line import Bridge, Bus, Message
from line.events import AgentResponse
from line.trace import TraceRecord

CHUNKS = 100_000
QUICK_CHUNKS = 20_000
ROUNDS = 3
QUICK_ROUNDS = 2

# -- baseline: three plain async generators -----------------------------------------------


async def plain_source(n: int) -> AsyncIterator[str]:
    tokens = TOKENS
    k = len(tokens)
    for i in range(n):
        yield tokens[i % k]


async def plain_clean(items: AsyncIterator[str]) -> AsyncIterator[str]:
    async for text in items:
        yield clean_text(text)


async def plain_to_event(items: AsyncIterator[str]) -> AsyncIterator[AgentResponse]:
    async for text in items:
        yield AgentResponse(content=text)


async def baseline_rate(n: int) -> float:
    prepare()
    count = 0
    started = now_ns()
    async for _ in plain_to_event(plain_clean(plain_source(n))):
        count += 1
    elapsed = now_ns() - started
    assert count == n
    return n / (elapsed / 1e9)


# -- line: the same stages as route stages ------------------------------------------------


async def source(message: Message) -> AsyncIterator[str]:
    tokens = TOKENS
    k = len(tokens)
    for i in range(message.event.n):
        yield tokens[i % k]


async def clean(message: Message) -> AsyncIterator[str]:
    yield clean_text(message.event)


async def to_event(message: Message) -> AsyncIterator[AgentResponse]:
    yield AgentResponse(content=message.event)


async def floor_rate(n: int) -> float:
    """The contract's own cost: the same stage functions, called as the route calls them, with
    nothing of ``line`` but the ``Message`` envelopes (no bus, no queue, no runs, no trace).

    Each stage gets a ``Message`` whose ``.event`` is the item, the per-item stages return a new
    async generator per chunk, and the consumer function gets the broadcast ``Message``: what
    any router with this stage API must do at least. ``line`` cannot be faster than this.
    """
    prepare()
    count = 0

    def on_chunk(_: Message) -> None:
        nonlocal count
        count += 1

    started = now_ns()
    trigger = Message("user", Go(n=n))
    async for token in source(trigger):
        cleaning = Message("agent", token, None, trigger.id)
        async for text in clean(cleaning):
            converting = Message("agent", text, None, cleaning.id)
            async for event in to_event(converting):
                on_chunk(Message("agent", event, None, converting.id))
    elapsed = now_ns() - started
    assert count == n
    return n / (elapsed / 1e9)


STAGES: tuple[Callable[[Message], Any], ...] = (source, clean, to_event)


def build(bus: Bus, stages: Sequence[Callable[[Message], Any]] = STAGES) -> None:
    """The benchmark route on ``bus``, ``agent.on(Go).stream(stage)...broadcast()`` (shared
    with the stability figure and ``bench.split``)."""
    agent = Bridge("agent")
    route = agent.on(Go)
    for stage in stages:
        route = route.stream(stage)
    route.broadcast()
    bus.register_bridge("agent", agent)


async def time_route(n: int, stages: Sequence[Callable[[Message], Any]] = STAGES, consumer: bool = True,
                     observe: bool = False) -> tuple[int, int]:
    """Nanoseconds to push ``n`` chunks through the route to a consumer (without one: until the
    bus is idle), and the trace records a cheap counting observer saw (with ``observe``)."""
    bus = Bus()
    build(bus, stages)
    received = 0
    done = asyncio.Event()

    def on_chunk(_: Message) -> None:
        nonlocal received
        received += 1
        if received == n:
            done.set()

    if consumer:
        Consumer(bus, on_chunk)
    records = 0

    def count_records(batch: list[TraceRecord]) -> None:
        nonlocal records
        records += len(batch)

    if observe:
        bus.tracer.attach(count_records)
    try:
        await bus.start()
        prepare()
        started = now_ns()
        await bus.publish(Go(n=n), source="user")
        await (done.wait() if consumer else bus.wait_idle())
        elapsed = now_ns() - started
    finally:
        await bus.cleanup()
    return elapsed, records


async def line_rate(n: int, observe: bool) -> tuple[float, int]:
    """Chunks/s of figure 1 through ``line``, and the trace records an observer saw."""
    elapsed, records = await time_route(n, observe=observe)
    return n / (elapsed / 1e9), records


async def measure(quick: bool) -> list[Result]:
    n = QUICK_CHUNKS if quick else CHUNKS
    rounds = QUICK_ROUNDS if quick else ROUNDS
    await line_rate(2_000, observe=True)  # warm up code paths and pydantic
    await baseline_rate(2_000)
    await floor_rate(2_000)
    baseline: list[float] = []
    floor: list[float] = []
    plain: list[float] = []
    observed: list[float] = []
    records = 0
    for _ in range(rounds):
        baseline.append(await baseline_rate(n))
        floor.append(await floor_rate(n))
        plain.append((await line_rate(n, observe=False))[0])
        rate, records = await line_rate(n, observe=True)
        observed.append(rate)
    base = max(baseline)
    no_obs = max(plain)
    with_obs = max(observed)
    least = max(floor)
    how = (f"{n:,} chunks, best of {rounds} interleaved rounds; {1e6 / no_obs:.2f} µs/chunk with line, "
           f"{1e6 / with_obs:.2f} with an observer, {1e6 / base:.2f} plain")
    return [
        Result("throughput_no_observer", no_obs, "chunks/s", ">= 0.5 x baseline", no_obs >= 0.5 * base,
               baseline=base, detail=how),
        Result("throughput_one_observer", with_obs, "chunks/s", ">= 0.33 x baseline", with_obs >= 0.33 * base,
               baseline=base, detail=f"{how}; {records / n:.1f} trace records per chunk"),
        Result("throughput_contract_floor", least, "chunks/s", "none (information)", None, baseline=base,
               detail=f"the same stage functions and Message envelopes chained by hand, no router: "
                      f"{1e6 / least:.2f} µs/chunk, the most any router with this stage API can do; "
                      f"line reaches {no_obs / least:.2f} x of it"),
    ]


def run(quick: bool) -> list[Result]:
    return asyncio.run(measure(quick))
