"""``python -m bench.split [ROUNDS]``: where figure 1's time per chunk goes, by route variant.

Not a figure (no target, not in results.json): a diagnostic that builds figure 1's routes with
parts left out and prints µs per chunk, best of ROUNDS (default 5), with the plain baseline
measured in the same process:

* 1 stage yielding ready ``AgentResponse`` events, broadcast to nobody, then to a consumer;
* the figure's 3 stages, broadcast to nobody, then to a consumer (figure 1), then observed.

Differences between lines give the cost of a part (the consumer route, the two per-item stages,
the trace records).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

from bench.harness import TOKENS
from bench.throughput import baseline_rate, clean, source, time_route, to_event
from line import Message
from line.events import AgentResponse

CHUNKS = 50_000
EVENTS = [AgentResponse(content=token) for token in TOKENS]


async def ready_events(message: Message) -> AsyncIterator[AgentResponse]:
    events = EVENTS
    k = len(events)
    for i in range(message.event.n):
        yield events[i % k]


async def us_per_chunk(stages: list[Callable[[Message], Any]], consumer: bool, observe: bool) -> float:
    elapsed, _ = await time_route(CHUNKS, stages, consumer, observe)
    return elapsed / CHUNKS / 1000


VARIANTS: dict[str, tuple[list[Callable[[Message], Any]], bool, bool]] = {
    "1 stage (ready events), broadcast to nobody": ([ready_events], False, False),
    "1 stage (ready events) + consumer route": ([ready_events], True, False),
    "3 stages (figure 1's), broadcast to nobody": ([source, clean, to_event], False, False),
    "3 stages + consumer route (figure 1)": ([source, clean, to_event], True, False),
    "figure 1 with one callback observer": ([source, clean, to_event], True, True),
}


async def measure(rounds: int) -> None:
    await us_per_chunk([source, clean, to_event], True, True)  # warm up
    best = {name: float("inf") for name in VARIANTS}
    for _ in range(rounds):
        for name, (stages, consumer, observe) in VARIANTS.items():
            best[name] = min(best[name], await us_per_chunk(stages, consumer, observe))
    baseline = min([1e6 / await baseline_rate(CHUNKS) for _ in range(rounds)])
    print(f"{baseline:6.2f} µs/chunk  plain chained generators (baseline)")
    for name, value in best.items():
        print(f"{value:6.2f} µs/chunk  {name}")


if __name__ == "__main__":
    asyncio.run(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
