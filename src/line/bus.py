"""The bus: every message goes through it, so it is where interrupts take effect.

``broadcast`` applies control events (interrupt, suspend, resume) synchronously, at the
moment it accepts them, before any data is queued: a barge-in never waits behind chunks.
Data goes into one bounded :class:`~line.inbox.Inbox` per route; a full inbox makes the
publisher wait (backpressure), so a slow consumer slows its producer and nothing is dropped.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from line.trace import TraceKind, Tracer

if TYPE_CHECKING:
    from line.bridge import Bridge
    from line.routes import Route, RouteRun

__all__ = ["DEFAULT_QUEUE_SIZE", "Bus", "Message"]

DEFAULT_QUEUE_SIZE = 1024

_message_ids = itertools.count(1)
_monotonic_ns = time.monotonic_ns
# Looked up once: `TraceKind.BUS_PUBLISH` costs ~70 ns in Python 3.11 (see routes.py).
_BUS_PUBLISH = TraceKind.BUS_PUBLISH
# Wall-clock time of monotonic zero, so ``Message.timestamp`` costs nothing at creation.
_WALL_OFFSET = time.time() - time.monotonic()


class Message:
    """The envelope a stage receives: ``.event`` is the item, the rest says where it came from.

    ``caused_by`` is the id of the message that led to this one (lineage); ``run`` the route
    run that produced it (the bus uses it to cut an interrupted run's chunks).
    Treat messages as read-only.
    """

    # A hand-written class rather than a dataclass: the router builds one per chunk and stage,
    # and ``default_factory`` fields cost a lambda call each (408 -> 242 ns per message when
    # called positionally, as the router does).
    __slots__ = ("caused_by", "created_ns", "event", "id", "reached", "run", "source")

    def __init__(
        self,
        source: str = "",
        event: Any = None,
        id: int | None = None,
        caused_by: int | None = None,
        run: RouteRun | None = None,
        reached: bool = False,
        created_ns: int | None = None,
    ) -> None:
        self.source = source
        self.event = event
        self.id: int = next(_message_ids) if id is None else id
        self.caused_by = caused_by
        self.run = run
        self.reached = reached  # a consumer's worker took it from its inbox (it was heard)
        self.created_ns: int = _monotonic_ns() if created_ns is None else created_ns

    @property
    def timestamp(self) -> float:
        """Wall-clock creation time (seconds since the epoch)."""
        return _WALL_OFFSET + self.created_ns / 1e9

    @property
    def run_id(self) -> int | None:
        return self.run.id if self.run is not None else None

    def __repr__(self) -> str:
        caused = f" caused_by={self.caused_by}" if self.caused_by is not None else ""
        return f"Message(#{self.id} from {self.source!r}{caused}: {self.event!r})"


@dataclass(slots=True)
class _Plan:
    """Who reacts to one event type: controls run at accept time, routes get the data."""

    controls: list[Any]
    routes: list[Route]


class Bus:
    """Connects bridges. ``max_queue_size`` bounds each route's inbox."""

    def __init__(self, max_queue_size: int = DEFAULT_QUEUE_SIZE, tracer: Tracer | None = None) -> None:
        if max_queue_size < 1:
            raise ValueError(f"max_queue_size must be at least 1, got {max_queue_size}")
        self.max_queue_size = max_queue_size
        self.tracer = tracer if tracer is not None else Tracer()
        self.bridges: dict[str, Bridge] = {}
        self.routes: list[Route] = []
        self._plans: dict[type, _Plan] = {}
        self._started = False
        self._closed = False
        self._outstanding = 0
        self._idle: asyncio.Event | None = None
        self._paused = False
        self._steps = 0
        self._pause_waiters: list[asyncio.Future[None]] = []

    # -- wiring --------------------------------------------------------------------------

    def register_bridge(self, node_id: str, bridge: Bridge) -> None:
        """Connect ``bridge`` (and every route it has or will have) to this bus."""
        if node_id in self.bridges and self.bridges[node_id] is not bridge:
            raise ValueError(f"a different bridge is already registered as {node_id!r}")
        self.bridges[node_id] = bridge
        bridge.set_bus(self)

    def add_route(self, route: Route) -> None:
        """Called by bridges; a route added after ``start()`` starts at once."""
        if route in self.routes:
            return
        route.name = self._unique_route_name(route.name)
        self.routes.append(route)
        self._plans.clear()
        route.attach(self)
        if self._started:
            # The builder chain (`.stream(...).broadcast()`) is completed right after `on()`
            # returns; start on the next loop turn so the route is traced with its stages.
            asyncio.get_running_loop().call_soon(route.start)

    def _unique_route_name(self, name: str) -> str:
        taken = {route.name for route in self.routes}
        if name not in taken:
            return name
        for n in itertools.count(2):
            candidate = f"{name}#{n}"
            if candidate not in taken:
                return candidate
        raise AssertionError("unreachable")

    async def start(self) -> None:
        """Start every route's worker. Idempotent."""
        if self._started:
            return
        self._started = True
        for route in self.routes:
            route.start()
        # Let every worker reach its inbox before anyone publishes: from then on routes wake
        # in publish order, so a transcription is added to the context before the
        # UserStoppedSpeaking published after it starts a reply.
        await asyncio.sleep(0)

    async def cleanup(self) -> None:
        """Cancel every run and worker and wait for them: nothing is left pending."""
        self._closed = True
        routes = list(self.routes)
        for route in routes:
            route.request_stop()
        for route in routes:
            await route.wait_stopped()
        self._started = False

    # -- publishing ----------------------------------------------------------------------

    async def broadcast(self, message: Message) -> None:
        """Accept ``message``: apply controls at once, then queue it for every matching route."""
        event = message.event
        if not isinstance(event, BaseModel):
            raise TypeError(
                f"bus.broadcast from {message.source!r}: message.event must be an event "
                f"(a pydantic model such as line.events.AgentResponse), got {type(event).__name__}: "
                f"{event!r:.80}"
            )
        if self._closed:
            return
        if self._paused and message.run is not None:
            await self._wait_unpaused(message)
        plan = self._plan_of(type(event))
        self._announce(message, plan)
        for route in plan.routes:
            await route.deliver(message)

    def plan_now(self, message: Message) -> _Plan | None:
        """Whether ``message`` (an event) can be broadcast at once, without a coroutine: the bus
        is neither closed nor paused and every receiving route's inbox has room. Returns the
        plan to pass to ``broadcast_now``, or None when the caller must ``await broadcast``.
        The router takes this path once per chunk."""
        if self._closed or self._paused:
            return None
        plan = self._plan_of(type(message.event))
        for route in plan.routes:
            if route.inbox.full():
                return None
        return plan

    def broadcast_now(self, message: Message, plan: _Plan) -> None:
        """``broadcast`` with the plan ``plan_now`` just returned, without waiting."""
        self._announce(message, plan)
        for route in plan.routes:
            # Controls and offers only ever free room in an inbox, so every offer succeeds.
            queued = route.offer(message)
            assert queued, "an inbox filled up while a message was being broadcast"

    def _plan_of(self, event_type: type) -> _Plan:
        return self._plans.get(event_type) or self._plan_for(event_type)

    def _announce(self, message: Message, plan: _Plan) -> None:
        """What accepting ``message`` does before it is queued: trace it, apply its controls."""
        tracer = self.tracer
        if tracer.enabled:
            run = message.run
            event = message.event
            tracer.emit(
                _BUS_PUBLISH,
                route=run.route.name if run is not None else None,
                run_id=run.id if run is not None else None,
                message_id=message.id,
                caused_by=message.caused_by,
                data={"source": message.source, "event_type": type(event).__name__, "event": event},
            )
        for control in plan.controls:
            control(message)

    async def publish(self, event: BaseModel, source: str = "", caused_by: int | None = None) -> Message:
        """Wrap ``event`` in a :class:`Message` and broadcast it; returns the message."""
        message = Message(source=source, event=event, caused_by=caused_by)
        await self.broadcast(message)
        return message

    # -- pause / single-step (debugging) ------------------------------------------------

    @property
    def paused(self) -> bool:
        return self._paused

    def pause(self) -> None:
        """Hold every chunk produced by a route run at the bus until ``resume``/``step``.

        Events from outside runs (the caller's speech) still flow, so interrupts work while
        paused: a held chunk of an interrupted run is never delivered.
        """
        if not self._paused:
            self._paused = True
            self._steps = 0
            if self.tracer.enabled:
                self.tracer.emit(TraceKind.PIPELINE_PAUSED)

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            if self.tracer.enabled:
                self.tracer.emit(TraceKind.PIPELINE_RESUMED)
            waiters, self._pause_waiters = self._pause_waiters, []
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def step(self) -> bool:
        """While paused, let exactly one held (or the next) chunk through. False if not paused."""
        if not self._paused:
            return False
        while self._pause_waiters:
            waiter = self._pause_waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return True
        self._steps += 1
        return True

    async def _wait_unpaused(self, message: Message) -> None:
        if message.run is not None:
            message.run.awaiting = "pipeline paused"
        if self._steps:
            self._steps -= 1
        else:
            waiter = asyncio.get_running_loop().create_future()
            self._pause_waiters.append(waiter)
            try:
                await waiter
            finally:
                if waiter in self._pause_waiters:
                    self._pause_waiters.remove(waiter)
        if self._paused and self.tracer.enabled:
            self.tracer.emit(TraceKind.PIPELINE_STEP, message_id=message.id, caused_by=message.caused_by,
                             run_id=message.run_id)

    def _plan_for(self, event_type: type) -> _Plan:
        controls: list[Any] = []
        routes: list[Route] = []
        for route in self.routes:
            controls.extend(route.controls_for(event_type))
            if route.triggered_by(event_type):
                routes.append(route)
        plan = _Plan(controls, routes)
        self._plans[event_type] = plan
        return plan

    def purge_run(self, run: RouteRun) -> list[Message]:
        """Remove every queued message produced by ``run`` from every inbox (interrupts use it)."""
        purged: list[Message] = []
        for route in self.routes:
            removed = route.inbox.purge(lambda message: message.run is run)
            if removed:
                run.queued -= len(removed)
                purged.extend(removed)
                self._settled(len(removed))
                if self.tracer.enabled:
                    for message in removed:
                        self.tracer.emit(
                            TraceKind.BUS_DROP,
                            route=route.name,
                            run_id=run.id,
                            message_id=message.id,
                            caused_by=message.caused_by,
                            data={"reason": "interrupted", "producer": run.route.name},
                        )
        return purged

    # -- idleness (tests and the TUI wait on it instead of sleeping) ---------------------

    def _queued(self) -> None:
        self._outstanding += 1

    def _settled(self, count: int = 1) -> None:
        self._outstanding -= count
        if self._outstanding <= 0:
            self._outstanding = 0
            if self._idle is not None:
                self._idle.set()

    @property
    def idle(self) -> bool:
        """True when no message is queued or being processed by any route."""
        return self._outstanding == 0

    async def wait_idle(self) -> None:
        """Wait until every queued message has been processed (runs, handlers, cascades).

        Wrap it in ``asyncio.timeout`` to bound the wait.
        """
        while self._outstanding:
            if self._idle is None:
                self._idle = asyncio.Event()
            self._idle.clear()
            await self._idle.wait()

    def routes_of(self, bridges: Iterable[Bridge]) -> list[Route]:
        wanted = set(map(id, bridges))
        return [route for route in self.routes if id(route.bridge) in wanted]
