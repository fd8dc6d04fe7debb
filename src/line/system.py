"""VoiceAgentSystem: nodes, bridges and a bus wired together for one call.

Matches the Line 0.1.x shape (``with_speaking_node``, ``start``, ``send_initial_message``,
``wait_for_shutdown``) so agent modules written for it run here, with ``system.user`` as the
caller (driven by the TUI's keyboard or by tests).

Decisions:
* A speaking node that is a ``ReasoningNode`` hears the caller's transcriptions even if its
  bridge has no ``on(UserTranscriptionReceived).map(node.add_event)`` route: ``start()`` adds
  that route when it is missing (it shows in the trace like any other).
* No ``AgentSpeechSent`` is published: a ``ReasoningNode`` records its own turns with exactly
  what was delivered, so routes mapping ``AgentSpeechSent`` to ``add_event`` are harmless.
"""

from __future__ import annotations

import asyncio
from typing import Any

from line.bridge import Bridge
from line.bus import DEFAULT_QUEUE_SIZE, Bus
from line.events import AgentResponse, AgentSpeechSent, EndCall, UserTranscriptionReceived
from line.llm.base import LLMClient
from line.llm.scripted import ScriptedLLM
from line.nodes.reasoning import ReasoningNode
from line.trace import Tracer
from line.user import UserEndpoint

__all__ = ["VoiceAgentSystem"]


class VoiceAgentSystem:
    def __init__(
        self,
        bus: Bus | None = None,
        *,
        tracer: Tracer | None = None,
        max_queue_size: int = DEFAULT_QUEUE_SIZE,
        llm: LLMClient | None = None,
    ) -> None:
        #: The LLM client the harness chose (``line-tui --base-url/--model`` or the embedded
        #: scripted LLM); agents use ``system.llm`` so one module runs against either.
        self.llm: LLMClient = llm if llm is not None else ScriptedLLM()
        self.bus = bus if bus is not None else Bus(max_queue_size=max_queue_size, tracer=tracer)
        self.nodes: list[Any] = []
        self.bridges: list[Bridge] = []
        self.speaking_nodes: list[Any] = []
        self.speaking_node_ids: set[str] = set()
        self.call_ended: EndCall | None = None
        self._shutdown: asyncio.Event | None = None
        self._started = False
        self._started_event: asyncio.Event | None = None
        self.user = UserEndpoint(self)
        self._add_bridge(self.user.bridge)

    @property
    def tracer(self) -> Tracer:
        return self.bus.tracer

    def _add_bridge(self, bridge: Bridge) -> None:
        if bridge not in self.bridges:
            taken = {other.node_id for other in self.bridges}
            if bridge.node_id in taken and bridge.bus is None:
                base, number = bridge.node_id, 2
                while f"{base}-{number}" in taken:
                    number += 1
                bridge.node_id = f"{base}-{number}"
                for route in bridge.routes:
                    route.name = bridge.node_id + route.name[len(base):]
                if bridge.node is not None and getattr(bridge.node, "id", None) == base:
                    bridge.node.id = bridge.node_id
            self.bridges.append(bridge)
            self.bus.register_bridge(bridge.node_id, bridge)

    def with_node(self, node: Any, bridge: Bridge | None = None) -> Bridge:
        """Add a node; returns its bridge (created if not given)."""
        bridge = bridge if bridge is not None else getattr(node, "_bridge", None) or Bridge(node)
        if node not in self.nodes:
            self.nodes.append(node)
        self._add_bridge(bridge)
        return bridge

    def with_speaking_node(self, node: Any, bridge: Bridge | None = None) -> Bridge:
        """Add a node whose ``AgentResponse`` chunks reach the caller."""
        bridge = self.with_node(node, bridge)
        if node not in self.speaking_nodes:
            self.speaking_nodes.append(node)
            self.speaking_node_ids.add(bridge.node_id)
        return bridge

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self._shutdown = asyncio.Event()
        for node in self.speaking_nodes:
            bridge = getattr(node, "_bridge", None)
            if isinstance(node, ReasoningNode) and bridge is not None and not any(
                route.triggered_by(UserTranscriptionReceived) for route in bridge.routes
            ):
                bridge.on(UserTranscriptionReceived).map(node.add_event)
        await self.bus.start()
        self._started_flag().set()

    def _started_flag(self) -> asyncio.Event:
        if self._started_event is None:
            self._started_event = asyncio.Event()
        return self._started_event

    @property
    def started(self) -> bool:
        return self._started

    async def wait_started(self) -> None:
        """Return once ``start()`` has run (a harness waits on this while the agent sets up)."""
        await self._started_flag().wait()

    async def send_initial_message(self, text: str) -> None:
        """The agent speaks first (e.g. a greeting); it becomes the first agent turn."""
        if not self.speaking_nodes:
            raise RuntimeError("send_initial_message needs a speaking node (with_speaking_node)")
        node = self.speaking_nodes[0]
        if isinstance(node, ReasoningNode):
            node._append(AgentSpeechSent(content=text))
        await self.bus.publish(AgentResponse(content=text), source=node._bridge.node_id)

    def mark_call_ended(self, event: EndCall) -> None:
        self.call_ended = event
        if self._shutdown is not None:
            self._shutdown.set()

    @property
    def ended(self) -> bool:
        return self.call_ended is not None

    async def wait_for_shutdown(self) -> None:
        """Return when the call ends (``EndCall``) or ``cleanup()`` is called."""
        if self._shutdown is None:
            self._shutdown = asyncio.Event()
        await self._shutdown.wait()

    async def wait_idle(self) -> None:
        """Wait until every queued event has been processed (tests wait on this, not on sleeps)."""
        await self.bus.wait_idle()

    async def cleanup(self) -> None:
        """Stop every route and run; nothing is left pending."""
        await self.bus.cleanup()
        if self._shutdown is not None:
            self._shutdown.set()
