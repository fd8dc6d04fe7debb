"""Routes: a trigger, a chain of stages, an optional broadcast, and how runs are interrupted.

A route has one worker task that takes triggers from its bounded inbox in arrival order.
By default runs never interleave and no trigger is dropped (``Policy.SERIAL``); with
``Policy.LATEST`` a new trigger cancels the running one and supersedes queued ones.

Each trigger starts a *run*. Stages are flat-maps executed in the run: every item a stage
produces goes through the rest of the chain before the stage is asked for the next one, so
one run's chunks reach every consumer in order, with no queue between stages.

Interruption (``interrupt_on``) is applied by the bus when it *accepts* the interrupt event:
the run is marked interrupted, its chunks still queued anywhere are purged, and its task is
cancelled. The run closes every generator it opened (their ``finally`` runs) before the
worker calls the handler, and the next run starts only after the handler returned.

A run *finishes* (``run.finished``) when every chunk it published was taken by a consumer or
cut. Until then it stays interruptible even after its generators ended: a reply generated
faster than a slow consumer (a TTS) takes it is still cut by a barge-in, its handler runs,
and ``on_late_cut`` hooks correct whoever recorded the reply as complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from contextvars import Token
from types import AsyncGeneratorType
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from line.bus import Message
from line.callables import call_maybe_async, callable_name
from line.events import AgentError, AgentResponse
from line.inbox import Inbox
from line.llm.errors import LLMError
from line.patterns import EventPattern
from line.route_builder import RouteBuilder
from line.route_run import RouteRun
from line.route_shape import InterruptSpec, Policy, RunStatus, Stage, StageKind
from line.run_context import RunContext, enter_run_context, exit_run_context
from line.trace import TraceKind, Tracer, TraceRecord

if TYPE_CHECKING:
    from line.bridge import Bridge
    from line.bus import Bus

__all__ = ["Policy", "Route", "RouteBuilder", "RouteRun", "RunStatus", "StageKind"]

logger = logging.getLogger("line.routes")

#: A run that produces items without ever awaiting still yields to the loop this often,
#: so an interrupt can be accepted (bounded interrupt latency for tight loops).
YIELD_EVERY = 64


# In Python 3.11 `Enum.MEMBER` costs ~70 ns, four times a plain class attribute (EnumType
# defines __getattr__, which slows every attribute lookup on the class): the per-chunk paths
# use these module names instead.
_RUNNING = RunStatus.RUNNING
_COMPLETED = RunStatus.COMPLETED
_INTERRUPTED = RunStatus.INTERRUPTED
_STREAM = StageKind.STREAM
_FILTER = StageKind.FILTER
_LATEST = Policy.LATEST
_STAGE_IN = TraceKind.STAGE_IN
_STAGE_OUT = TraceKind.STAGE_OUT
_STAGE_FILTERED = TraceKind.STAGE_FILTERED
_BUS_DELIVER = TraceKind.BUS_DELIVER
_RUN_STARTED = TraceKind.RUN_STARTED
_RUN_FINISHED = TraceKind.RUN_FINISHED


class _Interrupted(Exception):
    """Raised inside a run that keeps going after its interrupt (e.g. a stage swallowed the cancel)."""


class Route:
    """The runtime side of a route (``RouteBuilder`` is the chainable front)."""

    def __init__(
        self,
        bridge: Bridge,
        pattern: EventPattern,
        filter_fn: Callable[[Message], Any] | None,
        property_filters: dict[str, Any],
    ) -> None:
        self.bridge = bridge
        self.pattern = pattern
        self.name = f"{bridge.node_id}:{pattern.name.strip(chr(39))}"
        self.filter_fn = filter_fn
        self.property_filters = property_filters
        self.stages: list[Stage] = []
        self.broadcasts = False
        self.broadcast_type: type[BaseModel] | None = None
        self.interrupts: list[InterruptSpec] = []
        self.suspend_patterns: list[EventPattern] = []
        self.resume_patterns: list[EventPattern] = []
        self.policy = Policy.SERIAL
        self.suspended = False
        self.active_run: RouteRun | None = None
        self.draining_run: RouteRun | None = None  # the last run, finished but with chunks still queued
        self._late_handler: asyncio.Task[None] | None = None
        self.bus: Bus | None = None
        # The bus's tracer once attached: an attribute, not a property, as it is read per chunk.
        self.tracer = Tracer()
        self.inbox: Inbox[Message] = Inbox(1)
        self._worker: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._stopping = False

    # -- wiring --------------------------------------------------------------------------

    @property
    def source(self) -> str:
        return self.bridge.node_id

    def attach(self, bus: Bus) -> None:
        self.bus = bus
        self.tracer = bus.tracer
        self.inbox = Inbox(bus.max_queue_size)

    def changed(self) -> None:
        """Controls changed after registration: the bus must recompute who reacts to what."""
        if self.bus is not None:
            self.bus._plans.clear()

    def describe(self) -> dict[str, Any]:
        """The route's shape, as carried by the ``route.defined`` trace record."""
        return {
            "bridge": self.bridge.node_id,
            "trigger": self.pattern.name,
            "policy": str(self.policy),
            "stages": [f"{stage.kind}:{stage.name}" for stage in self.stages],
            "broadcast": (self.broadcast_type.__name__ if self.broadcast_type else "any")
            if self.broadcasts
            else None,
            "interrupt_on": [spec.pattern.name for spec in self.interrupts],
            "suspend_on": [pattern.name for pattern in self.suspend_patterns],
            "resume_on": [pattern.name for pattern in self.resume_patterns],
        }

    def start(self) -> None:
        if self._worker is not None or self.bus is None:
            return
        self._stopping = False
        self.tracer.emit_sticky(
            TraceRecord(TraceKind.ROUTE_DEFINED, time.monotonic_ns(), route=self.name, data=self.describe())
        )
        self._worker = asyncio.get_running_loop().create_task(self._work(), name=f"route {self.name}")

    def request_stop(self) -> None:
        self._stopping = True
        run = self.active_run
        if run is not None and run.task is not None:
            run.task.cancel()
        if self._worker is not None:
            self._worker.cancel()
        for task in self._background:
            task.cancel()

    async def wait_stopped(self) -> None:
        tasks = [t for t in (self._worker,) if t is not None] + list(self._background)
        run = self.active_run
        if run is not None and run.task is not None:
            tasks.append(run.task)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._worker = None
        self._background.clear()
        self.active_run = None
        settled = self.inbox.clear()
        if settled and self.bus is not None:
            unqueue(settled)
            self.bus._settled(len(settled))

    # -- matching (called by the bus) ----------------------------------------------------

    def triggered_by(self, event_type: type) -> bool:
        return self.pattern.matches(event_type)

    def controls_for(self, event_type: type) -> list[Callable[[Message], None]]:
        controls: list[Callable[[Message], None]] = []
        for spec in self.interrupts:
            if spec.pattern.matches(event_type):
                controls.append(functools.partial(self._interrupt_control, spec))
        if any(p.matches(event_type) for p in self.suspend_patterns):
            controls.append(lambda message: self._set_suspended(True, message))
        if any(p.matches(event_type) for p in self.resume_patterns):
            controls.append(lambda message: self._set_suspended(False, message))
        return controls

    def _accepts(self, message: Message) -> bool:
        authorized = self.bridge.authorized_nodes
        if authorized and message.source not in authorized:
            return False
        if message.run is not None and message.run.route is self:
            return False  # a route never re-triggers itself with its own output
        if not self.property_filters and self.filter_fn is None:
            return True  # the common case, decided without the loop below
        event = message.event
        try:
            for key, expected in self.property_filters.items():
                value = getattr(event, key, _MISSING)
                if value is _MISSING:
                    return False
                if callable(expected) and not isinstance(expected, type):
                    if not expected(value):
                        return False
                elif value != expected:
                    return False
            if self.filter_fn is not None and not self.filter_fn(message):
                return False
        except Exception as exc:
            self._report_error(exc, where="filter", stage=None, run=None, caused_by=message.id)
            return False
        return True

    def offer(self, message: Message) -> bool:
        """Take ``message`` as a trigger if this route wants it, queueing it when the inbox has
        room. False when the route took it but the inbox is full: the caller must then
        ``await put_waiting(message)`` (backpressure), which queues it once there is room."""
        if not self._accepts(message):
            return True
        bus = self.bus
        assert bus is not None
        if self.suspended:
            tracer = bus.tracer
            if tracer.enabled:
                tracer.emit(TraceKind.BUS_DROP, route=self.name, message_id=message.id,
                            caused_by=message.caused_by, data={"reason": "suspended"})
            return True
        if self.policy is _LATEST:
            self._supersede(message)
        bus._queued()
        inbox = self.inbox
        if inbox.full():
            return False
        inbox.put_nowait(message)
        run = message.run
        if run is not None:
            run.queued += 1
        return True

    async def put_waiting(self, message: Message) -> None:
        """Queue a message ``offer`` took while the inbox was full, waiting for room."""
        bus = self.bus
        assert bus is not None
        run = message.run
        if run is not None:
            run.awaiting = f"backpressure: inbox of {self.name} is full"
        started = time.monotonic_ns()
        try:
            await self.inbox.put(message)
        except BaseException:
            bus._settled()
            raise
        if run is not None:
            run.queued += 1
        tracer = bus.tracer
        if tracer.enabled:
            tracer.emit(
                TraceKind.BACKPRESSURE,
                route=self.name,
                run_id=run.id if run is not None else None,
                message_id=message.id,
                data={"who": run.route.name if run is not None else message.source,
                      "waited_ns": time.monotonic_ns() - started},
            )

    async def deliver(self, message: Message) -> None:
        """Queue ``message`` as a trigger, waiting while the inbox is full (backpressure)."""
        if not self.offer(message):
            await self.put_waiting(message)

    # -- control (synchronous, at the moment the bus accepts the event) ------------------

    def _interrupt_control(self, spec: InterruptSpec, message: Message) -> None:
        if spec.filter_fn is not None:
            try:
                if not spec.filter_fn(message):
                    return
            except Exception as exc:
                self._report_error(exc, where="interrupt filter", stage=None, run=self.active_run,
                                   caused_by=message.id)
                return
        run = self.interruptible_run
        live = run is not None
        tracer = self.tracer
        if tracer.enabled:
            tracer.emit(
                TraceKind.INTERRUPT_ACCEPTED,
                route=self.name,
                run_id=run.id if live and run is not None else None,
                message_id=message.id,
                caused_by=message.caused_by,
                data={"trigger": type(message.event).__name__, "idle": not live,
                      "stage": run.stage if live and run is not None else None,
                      "awaiting": run.awaiting if live and run is not None else None},
            )
        if live and run is not None:
            self._interrupt(run, message, spec)

    @property
    def interruptible_run(self) -> RouteRun | None:
        """The run an interrupt accepted now would cut: the running one, or the last one while
        chunks of it still wait in some inbox (the caller has not heard them yet)."""
        for run in (self.active_run, self.draining_run):
            if run is not None and self._interruptible(run):
                return run
        return None

    @staticmethod
    def _interruptible(run: RouteRun) -> bool:
        """Running, or done generating (completed or failed) while some of its chunks still wait
        in an inbox: they are not heard yet, so a barge-in must still cut them."""
        if run.interrupted:
            return False
        return run.status is RunStatus.RUNNING or run.queued > 0

    def _interrupt(self, run: RouteRun, message: Message | None, spec: InterruptSpec | None) -> None:
        run.interrupted = True
        run.interrupt_message = message
        run.interrupt_spec = spec
        run.accepted_ns = time.monotonic_ns()
        assert self.bus is not None
        self._cut(run, self.bus.purge_run(run))
        if run.status is not RunStatus.RUNNING:
            # Generation had ended but the worker had not finished the run: its generators are
            # closed already, so the interrupt lands (and closes) at once, on the queued chunks.
            # A failed run stays failed (its error is still published) and gets the handler too.
            if run.status is RunStatus.COMPLETED:
                run.status = RunStatus.INTERRUPTED
            run.awaiting = "delivery of queued chunks"
            run.stage = None
            if self.tracer.enabled:
                self._note_landed(run)
                self.tracer.emit(TraceKind.INTERRUPT_CLOSED, route=self.name, run_id=run.id,
                                 data={"since_accepted_ns": time.monotonic_ns() - run.accepted_ns})
            for hook in run.late_cut_hooks:
                hook()
            if run.settled:  # the worker moved on already: finish it and run its handler now
                self._emit_finished(run)
                self._late_handler = asyncio.get_running_loop().create_task(
                    self._call_handler(run), name=f"handler of run {run.id} {self.name}")
                self._background.add(self._late_handler)
                self._late_handler.add_done_callback(self._background.discard)
        elif run.task is not None and not run.task.done():
            run.task.cancel()

    @staticmethod
    def _cut(run: RouteRun, purged: list[Message]) -> None:
        """Count what an interrupt removed from inboxes. A chunk that reached one consumer was
        heard even if a slower consumer's copy is cut, so only chunks no consumer got are cut."""
        unheard = {message.id for message in purged if not message.reached} - run.cut_ids
        if unheard:
            run.cut_ids = run.cut_ids | unheard
            if run.heard is not None:
                run.heard.cut(unheard)
            run.cut = len(run.cut_ids)

    def _supersede(self, message: Message) -> None:
        run = self.interruptible_run
        if run is not None:
            if self.tracer.enabled:
                self.tracer.emit(TraceKind.INTERRUPT_ACCEPTED, route=self.name, run_id=run.id,
                                 message_id=message.id,
                                 data={"trigger": f"newer {type(message.event).__name__} (latest wins)",
                                       "idle": False, "stage": run.stage, "awaiting": run.awaiting})
            self._interrupt(run, message, None)
        stale = self.inbox.purge(lambda queued: True)
        if stale and self.bus is not None:
            unqueue(stale)
            self.bus._settled(len(stale))
            if self.tracer.enabled:
                for queued in stale:
                    self.tracer.emit(TraceKind.BUS_DROP, route=self.name, message_id=queued.id,
                                     data={"reason": "superseded (latest wins)"})

    def _set_suspended(self, suspended: bool, message: Message) -> None:
        if self.suspended == suspended:
            return
        self.suspended = suspended
        if self.tracer.enabled:
            kind = TraceKind.SUSPENDED if suspended else TraceKind.RESUMED
            self.tracer.emit(kind, route=self.name, message_id=message.id,
                             data={"trigger": type(message.event).__name__})

    # -- the worker ----------------------------------------------------------------------

    @property
    def _runs_in_task(self) -> bool:
        return bool(self.interrupts) or self.policy is _LATEST

    async def _work(self) -> None:
        bus = self.bus
        assert bus is not None
        inbox = self.inbox
        tracer = bus.tracer
        while True:
            # What is queued already is taken without a coroutine; only an empty inbox waits.
            message = inbox.get_nowait() if len(inbox) else await inbox.get()
            produced_by = message.run
            if produced_by is not None:
                message.reached = True
                produced_by.queued -= 1
                if not produced_by.queued and produced_by.settled and not produced_by.interrupted:
                    produced_by.route._emit_finished(produced_by)
            try:
                if tracer.enabled:
                    tracer.emit(_BUS_DELIVER, route=self.name,
                                run_id=produced_by.id if produced_by is not None else None,
                                message_id=message.id, caused_by=message.caused_by)
                if self._late_handler is None and not self._runs_in_task:
                    # The common case (e.g. a consumer's `.map`): the run executes right here,
                    # without the coroutine `_execute` would add per trigger.
                    run = self._begin(message)
                    pending = self._run_now(run)
                    if pending is not None:
                        await pending
                    if self._end(run):
                        await self._aftermath(run)
                else:
                    await self._execute(message)
            finally:
                bus._settled()

    def _begin(self, trigger: Message) -> RouteRun:
        run = RouteRun(self, trigger)
        self.active_run = run
        tracer = self.tracer
        if tracer.enabled:
            tracer.emit(_RUN_STARTED, route=self.name, run_id=run.id,
                        message_id=trigger.id, caused_by=trigger.caused_by,
                        data={"event_type": type(trigger.event).__name__})
        return run

    def _end(self, run: RouteRun) -> bool:
        """The worker is done with ``run``; True if it needs ``_aftermath`` (error, handler)."""
        self.active_run = None
        self._settle(run)
        return run.error is not None or run.interrupted

    async def _execute(self, trigger: Message) -> None:
        if self._late_handler is not None:  # the next run starts after the handler returned
            handler, self._late_handler = self._late_handler, None
            await handler
        run = self._begin(trigger)
        if self._runs_in_task:
            run.task = asyncio.get_running_loop().create_task(self._run(run), name=f"run {run.id} {self.name}")
            try:
                await run.task
            except asyncio.CancelledError:
                worker = asyncio.current_task()
                if self._stopping or (worker is not None and worker.cancelling()) or not run.interrupted:
                    raise
                # Interrupted before its first step: nothing ran, nothing to close.
                run.status = RunStatus.INTERRUPTED
                if self.tracer.enabled:
                    self._note_landed(run)
                    self.tracer.emit(TraceKind.INTERRUPT_CLOSED, route=self.name, run_id=run.id,
                                     data={"since_accepted_ns": time.monotonic_ns() - run.accepted_ns})
        else:
            await self._run(run)
        if self._end(run):
            await self._aftermath(run)

    async def _run(self, run: RouteRun) -> None:
        pending = self._run_now(run)
        if pending is not None:
            await pending

    def _run_now(self, run: RouteRun) -> Coroutine[Any, Any, None] | None:
        """Execute ``run`` as far as it goes without waiting; returns the coroutine that does
        the rest, or None when the run ended already (a consumer's ``.map`` of a plain
        function: no coroutine per trigger)."""
        # Not kept on the run: a run <-> context cycle would leave every run to the garbage
        # collector (~0.4 µs per run of a consumer route).
        context = RunContext(self.tracer, self.name, run.id, run)
        token = enter_run_context(context)
        try:
            pending = self._feed_now(run, 0, run.trigger)
        except BaseException as exc:
            self._conclude(run, context, token, exc)
            return None
        if pending is None:
            self._conclude(run, context, token, None)
            return None
        return self._run_rest(run, context, token, pending)

    async def _run_rest(self, run: RouteRun, context: RunContext, token: Token[RunContext | None],
                        pending: Coroutine[Any, Any, None]) -> None:
        try:
            await pending
        except BaseException as exc:
            self._conclude(run, context, token, exc)
        else:
            self._conclude(run, context, token, None)

    def _conclude(self, run: RouteRun, context: RunContext, token: Token[RunContext | None],
                  exc: BaseException | None) -> None:
        """Set the status of a run whose stages are done (``exc``: how they ended), run its
        cleanups; re-raises a cancellation that is not this run's interrupt."""
        try:
            if exc is None:
                run.status = _INTERRUPTED if run.interrupted else _COMPLETED
            elif isinstance(exc, asyncio.CancelledError):
                run.status = _INTERRUPTED
                if not run.interrupted or self._stopping:
                    raise exc
            elif isinstance(exc, _Interrupted):
                run.status = _INTERRUPTED
            elif not isinstance(exc, Exception):
                raise exc  # KeyboardInterrupt, SystemExit, GeneratorExit: not a stage failure
            elif run.interrupted:
                run.status = _INTERRUPTED
            else:
                run.status = RunStatus.FAILED
                run.error = exc
                run.error_stage = run.stage
        finally:
            context.run_cleanups()
            exit_run_context(token)
        if run.interrupted and self.tracer.enabled:
            self._note_landed(run)
            self.tracer.emit(TraceKind.INTERRUPT_CLOSED, route=self.name, run_id=run.id,
                             data={"since_accepted_ns": time.monotonic_ns() - run.accepted_ns})

    def _settle(self, run: RouteRun) -> None:
        """The worker is done with ``run``: it finishes now, or once its queued chunks drain."""
        run.settled = True
        if run.queued and not run.interrupted:
            # Its last chunks still wait for a consumer: it finishes when they are taken (the
            # consumer's worker emits the record) or when a barge-in cuts them.
            self.draining_run = run
        else:
            self._emit_finished(run)

    async def _aftermath(self, run: RouteRun) -> None:
        """After a settled run that failed or was interrupted: publish its error, call its handler."""
        if run.status is RunStatus.FAILED and run.error is not None:
            await self._publish_error(run.error, where="stage", stage=run.error_stage, run=run)
        if run.interrupted:
            await self._call_handler(run)

    def _emit_finished(self, run: RouteRun) -> None:
        if self.draining_run is run:
            self.draining_run = None
        tracer = self.tracer
        if tracer.enabled:
            tracer.emit(
                _RUN_FINISHED, route=self.name, run_id=run.id, message_id=run.trigger.id,
                data={"status": str(run.status), "chunks_out": run.chunks_out, "cut": run.cut,
                      "delivered": run.chunks_out - run.cut,
                      "duration_ns": time.monotonic_ns() - run.started_ns},
            )

    async def _call_handler(self, run: RouteRun) -> None:
        spec = run.interrupt_spec
        if spec is None or spec.handler is None:
            return
        tracer = self.tracer
        if tracer.enabled:
            tracer.emit(TraceKind.HANDLER_STARTED, route=self.name, run_id=run.id,
                        data={"handler": callable_name(spec.handler)})
        ok = True
        try:
            if spec.handler_takes_message:
                await call_maybe_async(spec.handler, run.interrupt_message)
            else:
                await call_maybe_async(spec.handler)
        except Exception as exc:
            ok = False
            await self._publish_error(exc, where="handler", stage=None, run=run,
                                      label=callable_name(spec.handler))
        if tracer.enabled:
            tracer.emit(TraceKind.HANDLER_FINISHED, route=self.name, run_id=run.id,
                        data={"ok": ok, "since_accepted_ns": time.monotonic_ns() - run.accepted_ns})

    # -- executing stages ----------------------------------------------------------------

    def _note_landed(self, run: RouteRun) -> None:
        if run.landed:
            return
        run.landed = True
        if self.tracer.enabled:
            self.tracer.emit(
                TraceKind.INTERRUPT_LANDED, route=self.name, run_id=run.id, stage=run.stage,
                data={"awaiting": run.awaiting,
                      "stage_name": self.stages[run.stage].name
                      if run.stage is not None and run.stage < len(self.stages) else "broadcast",
                      "since_accepted_ns": time.monotonic_ns() - run.accepted_ns},
            )

    def _enter(self, run: RouteRun, index: int, message: Message) -> Any:
        """Hand ``message`` to stage ``index``; returns what the stage function returned."""
        stage = self.stages[index]
        tracer = self.tracer
        if tracer.enabled:
            tracer.emit(_STAGE_IN, route=self.name, run_id=run.id, stage=index,
                        message_id=message.id, caused_by=message.caused_by)
        run.stage = index
        run.awaiting = stage.name
        return stage.fn(message)

    async def _feed(self, run: RouteRun, index: int, message: Message) -> None:
        """Push one item into stage ``index`` and everything it produces down the chain."""
        pending = self._feed_now(run, index, message)
        if pending is not None:
            await pending

    def _feed_now(self, run: RouteRun, index: int, message: Message) -> Coroutine[Any, Any, None] | None:
        """``_feed`` as far as it goes without waiting; returns the coroutine that does the rest.

        ``map`` and ``filter`` stages pass at most one item on: they are a loop here, not a
        recursion, and a chain of plain functions ending in a broadcast the bus can queue at
        once runs without any coroutine."""
        stages = self.stages
        while index < len(stages):
            result = self._enter(run, index, message)
            if stages[index].kind is _STREAM:
                return self._stream(run, index, message, result)
            if result is not None and inspect.isawaitable(result):
                return self._feed_awaited(run, index, message, result)
            passed = self._passed(run, index, message, result)
            if passed is None:
                return None
            message = passed
            index += 1
        if self._sink_now(run, message):
            return None
        return self._sink(run, message)

    async def _feed_awaited(self, run: RouteRun, index: int, message: Message, result: Awaitable[Any]) -> None:
        """The rest of ``_feed`` after a ``map``/``filter`` function returned an awaitable."""
        passed = self._passed(run, index, message, await result)
        if passed is not None:
            await self._feed(run, index + 1, passed)

    def _passed(self, run: RouteRun, index: int, message: Message, result: Any) -> Message | None:
        """What a ``map``/``filter`` stage that returned ``result`` passes on: None for nothing."""
        if self.stages[index].kind is _FILTER:
            passed = bool(result)  # and the same message goes on
        else:  # a map: its result is the next item, None drops it
            passed = result is not None
            if passed:
                message = Message(self.bridge.node_id, result, None, message.id, run)  # positional: see Message
        tracer = self.tracer
        if not passed:
            if tracer.enabled:
                tracer.emit(_STAGE_FILTERED, route=self.name, run_id=run.id, stage=index, message_id=message.id)
            return None
        if tracer.enabled:
            tracer.emit(_STAGE_OUT, route=self.name, run_id=run.id, stage=index,
                        message_id=message.id, caused_by=message.caused_by)
        return message

    async def _stream(self, run: RouteRun, index: int, message: Message, result: Any, nested: bool = False) -> None:
        """Flat-map a stage result, deciding by what it *is* (so partials and lambdas work)."""
        if hasattr(result, "__aiter__"):
            await self._stream_async(run, index, message, result.__aiter__())
            return
        if isinstance(result, str | bytes | BaseModel | dict):
            await self._emit(run, index, message, result)
            return
        if isinstance(result, Iterable):
            try:
                for item in result:
                    if item is not None:
                        await self._emit(run, index, message, item)
                    run.stage = index
                    run.ticks += 1
                    if not run.ticks % YIELD_EVERY:
                        await asyncio.sleep(0)
            finally:
                if run.interrupted:
                    self._note_landed(run)
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            return
        if inspect.isawaitable(result) and not nested:
            await self._stream(run, index, message, await result, nested=True)
            return
        if result is None:
            if self.tracer.enabled:
                self.tracer.emit(_STAGE_FILTERED, route=self.name, run_id=run.id, stage=index,
                                 message_id=message.id)
            return
        await self._emit(run, index, message, result)

    async def _stream_async(self, run: RouteRun, index: int, message: Message, iterator: Any) -> None:
        """Push every item of an async iterator (stage ``index``'s result) down the chain.

        This loop carries every chunk of a streaming route, so it does what ``_emit`` and
        ``_feed`` do inline, with what they look up held in locals: a coroutine per item and
        stage less (a following ``stream`` stage costs one ``_stream_async``, the sink none).
        """
        stages = self.stages
        name = stages[index].name
        following = stages[index + 1] if index + 1 < len(stages) else None
        into_stream = following is not None and following.kind is _STREAM
        source = self.bridge.node_id
        tracer = self.tracer
        exhausted = False
        try:
            async for item in iterator:
                if item is not None:
                    out = Message(source, item, None, message.id, run)  # positional: see Message
                    if tracer.enabled:
                        tracer.emit(_STAGE_OUT, route=self.name, run_id=run.id, stage=index,
                                    message_id=out.id, caused_by=message.id)
                    if following is None:
                        if not self._sink_now(run, out):
                            await self._sink(run, out)
                    elif into_stream:
                        result = self._enter(run, index + 1, out)
                        if hasattr(result, "__aiter__"):
                            await self._stream_async(run, index + 1, out, result.__aiter__())
                        else:
                            await self._stream(run, index + 1, out, result)
                    else:  # a map or filter: a coroutine only if it must wait
                        pending = self._feed_now(run, index + 1, out)
                        if pending is not None:
                            await pending
                run.stage = index
                run.awaiting = name
                run.ticks += 1
                if not run.ticks % YIELD_EVERY:
                    await asyncio.sleep(0)
            exhausted = True
        finally:
            if run.interrupted:
                self._note_landed(run)
            # An async generator that ran to its end is closed already (its `finally` ran):
            # `aclose` would be a no-op costing ~0.2 µs per item of a per-item stage.
            if not (exhausted and type(iterator) is AsyncGeneratorType):
                aclose = getattr(iterator, "aclose", None)
                if aclose is not None:
                    await aclose()

    async def _emit(self, run: RouteRun, index: int, parent: Message, item: Any) -> None:
        """Wrap ``item``, produced by stage ``index`` from ``parent``, and push it down the chain."""
        out = Message(self.bridge.node_id, item, None, parent.id, run)  # positional: see Message
        tracer = self.tracer
        if tracer.enabled:
            tracer.emit(_STAGE_OUT, route=self.name, run_id=run.id, stage=index,
                        message_id=out.id, caused_by=parent.id)
        await self._feed(run, index + 1, out)

    def _sink_now(self, run: RouteRun, message: Message) -> bool:
        """The end of the chain in the common case, without a coroutine: nothing to broadcast,
        or an event of the wanted type that the bus can queue at once. Returns False, having
        done nothing, when the chunk needs ``await _sink`` (coercion, errors, a full inbox,
        a paused bus)."""
        if run.interrupted:
            raise _Interrupted
        if not self.broadcasts:
            return True
        event = message.event
        wanted = self.broadcast_type
        if not isinstance(event, BaseModel) or (wanted is not None and not isinstance(event, wanted)):
            return False
        bus = self.bus
        assert bus is not None
        plan = bus.plan_now(message)
        if plan is None:
            return False
        run.chunks_out += 1
        if type(event) is AgentResponse or isinstance(event, AgentResponse):
            run.hear(message, event.content)
        run.awaiting = "bus"  # what an interrupt accepted by this very broadcast would report
        bus.broadcast_now(message, plan)
        return True

    async def _sink(self, run: RouteRun, message: Message) -> None:
        if run.interrupted:
            raise _Interrupted
        if not self.broadcasts:
            return
        event = message.event
        wanted = self.broadcast_type
        if wanted is not None and not isinstance(event, wanted):
            try:
                if isinstance(event, dict):
                    event = wanted.model_validate(event)
                elif isinstance(event, BaseModel):
                    event = wanted.model_validate(event.model_dump())
                else:
                    event = wanted.model_validate(event)
            except ValidationError as exc:
                await self._publish_error(
                    TypeError(f"broadcast(event_type={wanted.__name__}) got {type(message.event).__name__} "
                              f"{message.event!r:.120} that does not fit it: {exc.errors()[0]['msg']}"),
                    where="broadcast", stage=len(self.stages), run=run,
                )
                return
            message = Message(message.source, event, caused_by=message.caused_by, run=run)
        elif not isinstance(event, BaseModel):
            stage = self.stages[-1].name if self.stages else "trigger"
            await self._publish_error(
                TypeError(f"broadcast got {type(event).__name__} {event!r:.120} from stage {stage!r}; "
                          f"only events (pydantic models such as AgentResponse) can be broadcast"),
                where="broadcast", stage=len(self.stages), run=run,
            )
            return
        run.chunks_out += 1
        if type(event) is AgentResponse or isinstance(event, AgentResponse):
            run.hear(message, event.content)
        run.awaiting = "bus"
        assert self.bus is not None
        try:
            await self.bus.broadcast(message)
        except BaseException:
            if run.interrupted:  # cancelled while waiting for room: this chunk was cut too
                Route._cut(run, [message])
            raise

    # -- errors --------------------------------------------------------------------------

    def _error_event(self, exc: BaseException, where: str, stage: int | None, label: str | None) -> AgentError:
        if label is None:
            label = (self.stages[stage].name if stage is not None and stage < len(self.stages)
                     else where)
        return AgentError(
            error=f"{type(exc).__name__} in {where} {label!r} of route {self.name}: {exc}",
            code=exc.code if isinstance(exc, LLMError) else where,  # e.g. "rate_limited", "stream_dropped"
            error_type=type(exc).__name__,
            route=self.name,
            stage=label,
        )

    async def _publish_error(self, exc: BaseException, where: str, stage: int | None, run: RouteRun | None,
                             label: str | None = None) -> None:
        event = self._error_event(exc, where, stage, label)
        self._trace_error(exc, event, where, stage, run)
        logger.error("%s", event.error, exc_info=exc)
        assert self.bus is not None
        await self.bus.broadcast(Message(self.source, event, caused_by=run.trigger.id if run else None))

    def _trace_error(self, exc: BaseException, event: AgentError, where: str, stage: int | None,
                     run: RouteRun | None) -> None:
        if self.tracer.enabled:
            self.tracer.emit(TraceKind.ERROR, route=self.name, run_id=run.id if run else None, stage=stage,
                             data={"where": where, "stage_name": event.stage, "exc_type": type(exc).__name__,
                                   "message": str(exc)})

    def _report_error(self, exc: BaseException, where: str, stage: int | None, run: RouteRun | None,
                      caused_by: int | None) -> None:
        """Report an error raised in synchronous control code (filters) without blocking it."""
        if self._stopping or self.bus is None:
            return
        event = self._error_event(exc, where, stage, callable_name(self.filter_fn) if where == "filter"
                                  else where)
        self._trace_error(exc, event, where, stage, run)
        logger.error("%s", event.error, exc_info=exc)
        task = asyncio.get_running_loop().create_task(
            self.bus.broadcast(Message(self.source, event, caused_by=caused_by)))
        self._background.add(task)
        task.add_done_callback(self._background.discard)


_MISSING = object()


def unqueue(messages: list[Message]) -> None:
    """Messages taken out of an inbox without being delivered no longer hold their run open."""
    for message in messages:
        if message.run is not None:
            message.run.queued -= 1
