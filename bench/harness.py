"""Shared pieces of the benchmarks: a consumer node, events, clocks and process memory."""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from line import Bridge, Bus, Message
from line.events import AgentResponse, Event

__all__ = ["TOKENS", "Consumer", "GcPhase", "Go", "clean_text", "now_ns", "prepare", "rss_mb"]

now_ns = time.perf_counter_ns

#: What the source stage yields, round-robin: word-ish tokens, some with markdown to clean.
TOKENS: tuple[str, ...] = ("Sure, ", "I ", "can ", "*help* ", "with ", "that. ", "The ", "**rate** ",
                           "is ", "3.5 ", "percent. ", "Anything ", "else? ")


class Go(Event):
    """The trigger of a benchmark run: how many chunks the source stage should produce."""

    n: int = 0


def clean_text(text: str) -> str:
    """The per-chunk work of the middle stage (same in ``line`` and in the baseline)."""
    return text.replace("*", "")


class Consumer:
    """Another node on the bus: ``Bridge(node_id).on(AgentResponse).map(on_chunk)``.

    ``on_chunk(message)`` runs for each chunk that reaches it (a plain function, no awaits).
    """

    def __init__(self, bus: Bus, on_chunk: Callable[[Message], Any], node_id: str = "speaker") -> None:
        self.bridge = Bridge(node_id)
        self.bridge.on(AgentResponse).map(on_chunk)
        bus.register_bridge(node_id, self.bridge)


def prepare() -> None:
    """Before every timed section: collect garbage so a previous section's debt is not paid here."""
    gc.collect()


def rss_mb() -> float:
    """This process's resident set size (``VmRSS`` in ``/proc/self/status``), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmRSS not found in /proc/self/status")


class GcPhase:
    """Call :meth:`shift` before each repeated measurement (turn, reply) to de-alias the GC."""

    def __init__(self, seed: int = 8) -> None:
        self.rng = random.Random(seed)
        self.pad: list[list[None]] = []

    def shift(self) -> None:
        """Start the turn with a uniformly random generation-0 allocation count.

        Every turn leaves about the same number of young objects (an interrupt leaves its
        cancellation's exception, traceback and frames as cyclic garbage), so the collector's
        generation-0 passes (~0.1 ms each here) would land on the same point of every turn:
        either always inside the measured interval or never, decided by allocation counts and
        not by ``line``. Holding a padding of fresh objects until the next turn sets the count
        to a random value (a pass the padding triggers happens here, outside the measurement),
        so passes land inside the interval at their natural rate.
        """
        self.pad = []
        threshold = gc.get_threshold()[0]
        target = self.rng.randrange(threshold)
        count = gc.get_count()[0]
        size = target - count if target >= count else threshold - count + target + 1
        self.pad = [[] for _ in range(size)]
