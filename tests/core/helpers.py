"""Small building blocks for core tests: a consumer that records what reached it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from line import Bridge, Bus, Message
from line.events import AgentResponse


@dataclass
class Consumer:
    """A node on the bus that records every ``AgentResponse`` it receives.

    ``gate`` (when set) makes it slow: it holds each chunk until the gate opens.
    """

    bus: Bus
    node_id: str = "speaker"
    gate: asyncio.Event | None = None
    received: list[Message] = field(default_factory=list)
    receiving: asyncio.Event = field(default_factory=asyncio.Event)
    on_receive: Callable[[Message], Any] | None = None

    def __post_init__(self) -> None:
        self.bridge = Bridge(self.node_id)
        self.bridge.on(AgentResponse).map(self._receive)
        self.bus.register_bridge(self.node_id, self.bridge)

    async def _receive(self, message: Message) -> None:
        self.receiving.set()
        if self.gate is not None:
            await self.gate.wait()
        self.received.append(message)
        if self.on_receive is not None:
            self.on_receive(message)

    @property
    def texts(self) -> list[str]:
        return [m.event.content for m in self.received]


async def wait_for(predicate: Callable[[], bool], what: str, limit: float = 5.0) -> None:
    """Wait until ``predicate()`` holds, re-checking after every loop turn; fail clearly after ``limit``."""
    try:
        async with asyncio.timeout(limit):
            while not predicate():  # noqa: ASYNC110 - the condition has no event to wait on
                await asyncio.sleep(0)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for: {what}") from None
