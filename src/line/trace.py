"""Structured trace of everything the router does, for debuggers and CI assertions.

The router calls :meth:`Tracer.emit` only behind an ``if tracer.enabled`` check, so with no
observer attached no record object is built and no string is formatted.

Observers come in two forms:

* ``tracer.attach(callback)``: the callback receives lists of records, called from the event
  loop at most once per loop iteration (records are batched). Keep it cheap: it runs on the loop.
* ``tracer.subscribe()``: an async iterator over records with a bounded buffer, for consumers
  that may be slow (writers, UIs). It never slows the pipeline: when it falls behind, the oldest
  records are dropped and an ``observer.overflow`` record saying how many is delivered first.

Both forms are bounded; every drop is counted on the observer (``dropped``) and reported.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextvars import Token
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from line.run_context import RunContext, current_run_context, enter_run_context, exit_run_context

__all__ = [
    "BoundedRecords",
    "TraceKind",
    "TraceObserver",
    "TraceRecord",
    "TraceSubscription",
    "Tracer",
    "current_tracer",
    "report_buffer",
]

logger = logging.getLogger("line.trace")

_monotonic_ns = time.monotonic_ns

DEFAULT_OBSERVER_BUFFER = 100_000


class TraceKind(StrEnum):
    """What a record says happened. The ``data`` keys each kind carries are listed here."""

    ROUTE_DEFINED = "route.defined"
    """data: trigger, policy, stages (list of names), interrupt_on (list), suspend_on, resume_on,
    bridge, broadcast (event type name or None)."""
    BUS_PUBLISH = "bus.publish"
    """message_id, caused_by, run_id (run that produced it, if any); data: source, event_type, event."""
    BUS_DELIVER = "bus.deliver"
    """A message reached a route (route, message_id)."""
    BUS_DROP = "bus.drop"
    """A message was not delivered: data: reason ("interrupted" for a chunk of an interrupted
    run still queued, "suspended", "validation"), route, message_id."""
    RUN_STARTED = "run.started"
    """route, run_id, message_id (the trigger)."""
    RUN_FINISHED = "run.finished"
    """route, run_id; data: status (completed|interrupted|failed), chunks_out, cut, delivered,
    duration_ns. Emitted once every chunk of the run was taken by a consumer or cut."""
    STAGE_IN = "stage.in"
    """route, run_id, stage (index), message_id of the item entering the stage."""
    STAGE_OUT = "stage.out"
    """route, run_id, stage, message_id of the item the stage produced (if published), caused_by."""
    STAGE_FILTERED = "stage.filtered"
    """route, run_id, stage; an item was dropped by a filter stage or a ``None`` result."""
    BUFFER = "buffer"
    """data: name, contents, age_ns (age of the oldest byte, 0 when empty)."""
    INTERRUPT_ACCEPTED = "interrupt.accepted"
    """route, run_id (None if the route was idle), message_id of the interrupt event; data: trigger."""
    INTERRUPT_LANDED = "interrupt.landed"
    """route, run_id, stage where the cancellation landed; data: awaiting (what it waited on)."""
    INTERRUPT_CLOSED = "interrupt.generators_closed"
    """route, run_id; every generator of the run has been closed (its ``finally`` ran)."""
    HANDLER_STARTED = "interrupt.handler_started"
    HANDLER_FINISHED = "interrupt.handler_finished"
    """route, run_id; data: ok (bool)."""
    ERROR = "error"
    """route, run_id, stage; data: where (stage|handler|filter|broadcast|observer), exc_type, message."""
    BACKPRESSURE = "backpressure"
    """route; data: who, waited_ns. A producer waited for room in a full queue."""
    SUSPENDED = "route.suspended"
    RESUMED = "route.resumed"
    PIPELINE_PAUSED = "pipeline.paused"
    """Chunks produced by runs wait at the bus until resumed or stepped (a debugger feature)."""
    PIPELINE_RESUMED = "pipeline.resumed"
    PIPELINE_STEP = "pipeline.step"
    """One waiting chunk was let through while paused; message_id says which."""
    OBSERVER_OVERFLOW = "observer.overflow"
    """data: dropped (since the last report), total_dropped."""


# Looked up once: `TraceKind.ROUTE_DEFINED` costs ~70 ns in Python 3.11 (see routes.py).
_ROUTE_DEFINED = TraceKind.ROUTE_DEFINED

#: A record's fields in TraceRecord's order, as queued by ``Tracer.emit``.
_Fields = tuple[TraceKind, int, str | None, int | None, int | None, int | None, int | None,
                dict[str, Any] | None]


@dataclass(slots=True)
class TraceRecord:
    """One fact, stamped with ``time.monotonic_ns()`` and the lineage of the message involved."""

    kind: TraceKind
    t_ns: int
    route: str | None = None
    run_id: int | None = None
    stage: int | None = None
    message_id: int | None = None
    caused_by: int | None = None
    data: dict[str, Any] | None = field(default=None)

    def get(self, key: str, default: Any = None) -> Any:
        """Read a ``data`` field without caring whether ``data`` is set."""
        data = self.data
        if data is None:
            return default
        return data.get(key, default)


class BoundedRecords:
    """A bounded buffer of records that drops the oldest, counts every drop, and reports the
    drops in the next batch it hands out. Both observer forms and the recorder use it."""

    def __init__(self, max_buffer: int, label: str | None = None) -> None:
        if max_buffer < 1:
            raise ValueError(f"max_buffer must be at least 1, got {max_buffer}")
        self.max_buffer = max_buffer
        self.pending: deque[TraceRecord] = deque()
        self.dropped = 0
        self.label = label  # who dropped records, named in the overflow record
        self._unreported = 0

    @property
    def has_pending(self) -> bool:
        """Records, or a drop report, are waiting to be taken."""
        return bool(self.pending) or bool(self._unreported)

    def push(self, record: TraceRecord) -> None:
        self.extend([record])

    def extend(self, records: list[TraceRecord]) -> None:
        """``push`` each record in turn (the oldest are dropped, counted, past the bound)."""
        pending = self.pending
        pending.extend(records)
        excess = len(pending) - self.max_buffer
        if excess > 0:
            for _ in range(excess):
                pending.popleft()
            self.dropped += excess
            self._unreported += excess

    def take(self) -> list[TraceRecord]:
        batch = list(self.pending)
        self.pending.clear()
        if self._unreported:
            data: dict[str, Any] = {"dropped": self._unreported, "total_dropped": self.dropped}
            if self.label is not None:
                data["observer"] = self.label
            overflow = TraceRecord(TraceKind.OBSERVER_OVERFLOW, time.monotonic_ns(), data=data)
            self._unreported = 0
            batch.insert(0, overflow)
        return batch


class TraceObserver(BoundedRecords):
    """A callback observer; ``callback`` receives batches (lists) of records."""

    def __init__(self, callback: Callable[[list[TraceRecord]], object], max_buffer: int) -> None:
        super().__init__(max_buffer)
        self.callback = callback
        self.errors = 0


class TraceSubscription(BoundedRecords):
    """Async iterator over records; see the module docstring. Close it with ``close()``."""

    def __init__(self, tracer: Tracer, max_buffer: int) -> None:
        super().__init__(max_buffer)
        self._tracer = tracer
        self._wakeup: asyncio.Event | None = None
        self._closed = False

    def extend(self, records: list[TraceRecord]) -> None:
        BoundedRecords.extend(self, records)
        wakeup = self._wakeup
        if wakeup is not None and not wakeup.is_set():
            wakeup.set()

    def close(self) -> None:
        """Stop receiving; a pending ``__anext__``/``batches`` wait ends."""
        if not self._closed:
            self._closed = True
            self._tracer.detach(self)
            if self._wakeup is not None:
                self._wakeup.set()

    async def next_batch(self) -> list[TraceRecord]:
        """Wait until records are available and take them all (with an overflow record first
        if any were dropped). Returns ``[]`` once closed and drained."""
        while not self.has_pending:
            if self._closed:
                return []
            if self._wakeup is None:
                self._wakeup = asyncio.Event()
            self._wakeup.clear()
            await self._wakeup.wait()
        return self.take()

    def __aiter__(self) -> AsyncIterator[TraceRecord]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[TraceRecord]:
        while True:
            batch = await self.next_batch()
            if not batch:
                return
            for record in batch:
                yield record

    async def __aenter__(self) -> TraceSubscription:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


class Tracer:
    """Fans trace records out to observers. One per :class:`~line.bus.Bus` (``bus.tracer``)."""

    def __init__(self) -> None:
        self.enabled = False
        self._callbacks: list[TraceObserver] = []
        self._subscriptions: list[TraceSubscription] = []
        self._sticky: list[TraceRecord] = []
        # Records emitted since the last flush, as tuples of TraceRecord's fields (see `emit`).
        self._queued: list[_Fields] = []
        self._queue_limit = 0  # the largest observer buffer: more queued would be dropped anyway
        self._flush_scheduled = False

    # -- observers -----------------------------------------------------------------------

    def attach(
        self,
        callback: Callable[[list[TraceRecord]], object],
        *,
        max_buffer: int = DEFAULT_OBSERVER_BUFFER,
    ) -> TraceObserver:
        """Call ``callback(batch)`` with each batch of records; returns a handle for ``detach``.

        Route definitions emitted before the attach are delivered first, so a late observer
        still knows every route.
        """
        self._distribute()  # what was emitted before the attach is not for this observer
        observer = TraceObserver(callback, max_buffer)
        observer.extend(self._sticky)
        self._callbacks.append(observer)
        self._update_enabled()
        if observer.pending:
            self._schedule_flush()
        return observer

    def subscribe(self, *, max_buffer: int = DEFAULT_OBSERVER_BUFFER) -> TraceSubscription:
        """An async iterator of records with a bounded buffer (drops oldest, counted)."""
        self._distribute()
        subscription = TraceSubscription(self, max_buffer)
        subscription.extend(self._sticky)
        self._subscriptions.append(subscription)
        self._update_enabled()
        return subscription

    def detach(self, observer: TraceObserver | TraceSubscription) -> None:
        """Stop delivering to ``observer``; records still pending for a callback are flushed."""
        self._distribute()
        if isinstance(observer, TraceObserver):
            if observer in self._callbacks:
                self._deliver(observer)
                self._callbacks.remove(observer)
        elif observer in self._subscriptions:
            self._subscriptions.remove(observer)
            observer.close()
        self._update_enabled()

    def _update_enabled(self) -> None:
        observers: list[BoundedRecords] = [*self._callbacks, *self._subscriptions]
        self.enabled = bool(observers)
        self._queue_limit = max((observer.max_buffer for observer in observers), default=0)

    # -- emitting ------------------------------------------------------------------------

    def emit(
        self,
        kind: TraceKind,
        route: str | None = None,
        run_id: int | None = None,
        stage: int | None = None,
        message_id: int | None = None,
        caused_by: int | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Record one fact for every observer. Call only when ``enabled``.

        An observed route emits about ten records per chunk, so this only queues the fields
        (stamped now): the records are built once per loop iteration, when ``flush`` hands
        them to the observers, instead of one at a time through the fan-out.
        """
        if kind is _ROUTE_DEFINED:
            self.emit_record(TraceRecord(kind, _monotonic_ns(), route, run_id, stage, message_id, caused_by, data))
            return
        queued = self._queued
        queued.append((kind, _monotonic_ns(), route, run_id, stage, message_id, caused_by, data))
        if len(queued) >= self._queue_limit:
            self._distribute()  # the loop has not turned for a long while: keep memory bounded
        if not self._flush_scheduled:
            self._schedule_flush()

    def emit_sticky(self, record: TraceRecord) -> None:
        """Remember a definition record (replayed to every later observer) and emit it now if
        anyone is observing. Called whether or not the tracer is enabled."""
        self._sticky.append(record)
        if self.enabled:
            self._fan_out([record])

    def emit_record(self, record: TraceRecord) -> None:
        if record.kind is _ROUTE_DEFINED:
            self._sticky.append(record)
        self._fan_out([record])

    def _distribute(self) -> None:
        """Build the queued records and put them in every observer's bounded buffer."""
        queued = self._queued
        if queued:
            self._queued = []
            self._fan_out([TraceRecord(*fields) for fields in queued])

    def _fan_out(self, records: list[TraceRecord]) -> None:
        self._distribute()  # records queued before these go first
        for subscription in self._subscriptions:
            subscription.extend(records)
        if self._callbacks:
            for observer in self._callbacks:
                observer.extend(records)
            if not self._flush_scheduled:
                self._schedule_flush()

    def _schedule_flush(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_scheduled = True
        loop.call_soon(self.flush)

    def flush(self) -> None:
        """Deliver pending records to observers now (the loop does it once per iteration)."""
        self._flush_scheduled = False
        self._distribute()
        for observer in list(self._callbacks):
            self._deliver(observer)

    def _deliver(self, observer: TraceObserver) -> None:
        if not observer.has_pending:
            return
        batch = observer.take()
        try:
            observer.callback(batch)
        except Exception:  # an observer must never break the pipeline, but is never silent
            observer.errors += 1
            logger.exception("trace observer %r raised; records of this batch are lost to it",
                             observer.callback)


# -- ambient context: which route run is executing (see line.run_context) ----------------


def current_tracer() -> Tracer | None:
    """The tracer of the route run executing in this task, if any."""
    context = current_run_context()
    return context.tracer if context is not None else None


def set_trace_context(tracer: Tracer, route: str | None, run_id: int | None) -> Token[RunContext | None]:
    """Mark the current task as running ``route``/``run_id`` (the router does this; tests may)."""
    return enter_run_context(RunContext(tracer, route, run_id))


def reset_trace_context(token: Token[RunContext | None]) -> None:
    exit_run_context(token)


def report_buffer(name: str, contents: str, oldest_ns: int | None = None) -> None:
    """Report a buffer's current contents from inside a route stage.

    Call it whenever the buffer changes (``""`` when flushed); ``oldest_ns`` is the
    ``time.monotonic_ns()`` at which the oldest byte still in the buffer arrived. Costs one
    context-variable lookup when nothing observes the trace. Outside a route run it does nothing.
    """
    context = current_run_context()
    if context is None or not context.tracer.enabled:
        return
    age = 0 if not contents or oldest_ns is None else time.monotonic_ns() - oldest_ns
    context.tracer.emit(
        TraceKind.BUFFER,
        route=context.route,
        run_id=context.run_id,
        data={"name": name, "contents": contents, "age_ns": age},
    )
