"""Numbers about a traced pipeline, folded from its trace records.

:class:`TraceStats` is a pure fold: feed it records in the order they were emitted (from
``tracer.attach(stats.feed)``, a subscription, or a loaded recording), as often as you like,
and read the numbers at any time. It depends on nothing but ``line``, so CI checks and custom
tools use it without the TUI; the TUI's metrics panel is this object. Memory is bounded:
samples keep the latest ``max_samples`` values; per-run and per-interruption bookkeeping
keeps the latest few thousand.

What the numbers mean (durations are nanoseconds of ``time.monotonic_ns``):

* **counters** per route and stage: ``items_in``/``items_out``/``filtered``/``dropped``/``errors``
  (see :class:`RouteStats` and :class:`StageStats` for what each counts there).
* **stage latency**: for every item a stage outputs, how long the stage itself took to produce
  it — from the run's previous record (the item entering the stage, or the rest of the chain
  finishing with the previous output: stages are flat-maps) to the ``stage.out``. A slow stage
  downstream is therefore not blamed on the LLM stage above it.
* **time to first chunk**: ``run.started`` → the run's first published ``AgentResponse``.
* **interrupt latency**: accepted → landed / generators closed / handler finished, from the
  ``since_accepted_ns`` the records carry; one :class:`InterruptionStats` per interruption with
  where it landed and the chunks delivered vs cut.
* **chunks/s**: ``AgentResponse`` publishes in the last second of chunks (a window ending at the
  latest chunk, so it shows the latest burst rather than decaying while idle).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from line.events import AgentResponse, event_type_named
from line.trace import TraceKind, TraceRecord

__all__ = [
    "MAX_SAMPLES",
    "InterruptionStats",
    "RouteStats",
    "Samples",
    "StageStats",
    "TraceStats",
]

#: Latency samples (and chunk timestamps) kept per series.
MAX_SAMPLES = 10_000
#: Runs and interruptions tracked while open; older ones are forgotten (never unbounded).
MAX_OPEN = 10_000
#: Finished interruptions kept for inspection.
MAX_INTERRUPTIONS = 1_000

_SECOND = 1_000_000_000


class Samples:
    """The latest ``maxlen`` values of one series, with nearest-rank percentiles.

    The sorted copy is cached until the next ``add``, so a UI asking for p50 and p95 of an
    unchanged series every frame sorts it at most once.
    """

    __slots__ = ("_sorted", "_values", "count")

    def __init__(self, maxlen: int = MAX_SAMPLES) -> None:
        self._values: deque[int] = deque(maxlen=maxlen)
        self._sorted: list[int] | None = None
        self.count = 0
        """Values ever added (not bounded, unlike the values kept)."""

    def add(self, value: int) -> None:
        self._values.append(value)
        self._sorted = None
        self.count += 1

    def __len__(self) -> int:
        return len(self._values)

    def __iter__(self) -> Iterator[int]:
        return iter(self._values)

    def percentile(self, p: float) -> int | None:
        """The nearest-rank ``p``-th percentile (0-100) of the kept values; ``None`` when empty."""
        if not 0 <= p <= 100:
            raise ValueError(f"percentile must be between 0 and 100, got {p}")
        if not self._values:
            return None
        ordered = self._sorted
        if ordered is None:
            ordered = self._sorted = sorted(self._values)
        rank = math.ceil(p / 100 * len(ordered))
        return ordered[max(rank, 1) - 1]

    def __repr__(self) -> str:
        return f"Samples(n={len(self)}, p50={self.percentile(50)}, p95={self.percentile(95)})"


@dataclass(slots=True)
class StageStats:
    """Counters of one stage of a route."""

    index: int
    label: str
    """``"kind:name"`` as in the ``route.defined`` record (``"?"`` until it was seen)."""
    items_in: int = 0
    items_out: int = 0
    filtered: int = 0
    """Items a filter rejected or a map/stream turned into ``None``."""
    dropped: int = 0
    """Items abandoned in this stage because an interrupt landed here."""
    errors: int = 0
    latency: Samples = field(default_factory=Samples)
    """Time the stage took per output item (see the module docstring)."""


@dataclass(slots=True)
class RouteStats:
    """Counters of one route, summed over its runs."""

    name: str
    stages: list[StageStats] = field(default_factory=list)
    defined: bool = False
    """A ``route.defined`` record was seen (so the stage list is known, not guessed)."""
    items_in: int = 0
    """Triggers delivered to the route (``bus.deliver``)."""
    items_out: int = 0
    """Events its runs published."""
    filtered: int = 0
    dropped: int = 0
    """Messages dropped at its inbox: chunks of an interrupted run, superseded or suspended triggers."""
    errors: int = 0
    runs: int = 0
    completed: int = 0
    interrupted: int = 0
    failed: int = 0
    delivered: int = 0
    """Chunks its runs published that reached consumers (``run.finished`` ``delivered``)."""
    cut: int = 0
    """Chunks its runs published that an interrupt removed from queues."""
    first_chunk: Samples = field(default_factory=Samples)


@dataclass(slots=True)
class InterruptionStats:
    """One interruption of a running run, filled in as its records arrive."""

    route: str
    run_id: int
    trigger: str
    accepted_ns: int
    """``t_ns`` of the ``interrupt.accepted`` record; the latencies below count from it."""
    stage: int | None = None
    """Stage index where the cancellation landed (``None``: on chunks already queued)."""
    stage_name: str | None = None
    awaiting: str | None = None
    landed_ns: int | None = None
    closed_ns: int | None = None
    handler: str | None = None
    handler_ns: int | None = None
    handler_ok: bool | None = None
    status: str | None = None
    delivered: int | None = None
    cut: int | None = None


class _Run:
    """What the fold remembers about a run while it is open."""

    __slots__ = ("first_chunk_due", "last_ns", "route", "started_ns")

    def __init__(self, route: RouteStats | None, started_ns: int | None, last_ns: int) -> None:
        self.route = route
        self.started_ns = started_ns
        self.last_ns = last_ns
        self.first_chunk_due = started_ns is not None


# Records emitted from inside the run's own task: the time between two of them is time the
# run spent in its stages. (bus.deliver/bus.drop/interrupt.accepted carry a run id too but are
# emitted by other tasks.)
_IN_RUN = frozenset({
    TraceKind.STAGE_IN,
    TraceKind.STAGE_FILTERED,
    TraceKind.BUFFER,
    TraceKind.BUS_PUBLISH,
    TraceKind.BACKPRESSURE,
    TraceKind.PIPELINE_STEP,
    TraceKind.ERROR,
})


class TraceStats:
    """Counters, latencies and interruptions of a pipeline, folded from its trace records."""

    def __init__(self, max_samples: int = MAX_SAMPLES) -> None:
        self.max_samples = max_samples
        self.routes: dict[str, RouteStats] = {}
        self.first_chunk = Samples(max_samples)
        self.interrupt_landed = Samples(max_samples)
        self.interrupt_closed = Samples(max_samples)
        self.interrupt_handler = Samples(max_samples)
        self.interruptions: deque[InterruptionStats] = deque(maxlen=MAX_INTERRUPTIONS)
        self.interruptions_total = 0
        self.chunks_total = 0
        self.errors_total = 0
        self.records_seen = 0
        self.records_dropped = 0
        """Records an observer lost (sum of ``observer.overflow`` ``dropped``)."""
        self._chunk_times: deque[int] = deque(maxlen=max_samples)
        self._runs: dict[int, _Run] = {}
        self._open: dict[int, InterruptionStats] = {}
        self._is_chunk: dict[str, bool] = {"AgentResponse": True}

    # -- reading -------------------------------------------------------------------------

    def stage(self, route: str, index: int) -> StageStats | None:
        stats = self.routes.get(route)
        if stats is None or not 0 <= index < len(stats.stages):
            return None
        return stats.stages[index]

    def stage_latency(self, route: str, index: int) -> tuple[int | None, int | None]:
        """(p50, p95) of a stage's latency; ``(None, None)`` without samples."""
        stage = self.stage(route, index)
        if stage is None:
            return None, None
        return stage.latency.percentile(50), stage.latency.percentile(95)

    def first_chunk_percentile(self, p: float) -> int | None:
        return self.first_chunk.percentile(p)

    def interrupt_landed_percentile(self, p: float) -> int | None:
        return self.interrupt_landed.percentile(p)

    def interrupt_close_percentile(self, p: float) -> int | None:
        return self.interrupt_closed.percentile(p)

    def interrupt_handler_percentile(self, p: float) -> int | None:
        return self.interrupt_handler.percentile(p)

    def chunks_per_second(self, window_ns: int = _SECOND) -> float:
        """Rate of the chunks published in the ``window_ns`` ending at the latest chunk."""
        times = self._chunk_times
        if len(times) < 2:
            return 0.0
        last = times[-1]
        first_index = bisect_left(times, last - window_ns)
        span = last - times[first_index]
        if span <= 0:
            return 0.0
        return (len(times) - 1 - first_index) / (span / _SECOND)

    # -- folding -------------------------------------------------------------------------

    def feed(self, records: Iterable[TraceRecord]) -> None:
        """Fold ``records`` (in emission order) into the numbers. Cheap per record."""
        runs = self._runs
        seen = 0
        for record in records:
            seen += 1
            kind = record.kind
            if kind is TraceKind.STAGE_OUT:
                self._stage_out(record)
            elif kind in _IN_RUN:
                run_id = record.run_id
                run = runs.get(run_id) if run_id is not None else None
                if kind is TraceKind.STAGE_IN:
                    if run is None and run_id is not None:  # observing from the middle of a run
                        run = self._open_run(run_id, record.route, None, record.t_ns)
                    stage = self._stage_of(record)
                    if stage is not None:
                        stage.items_in += 1
                elif kind is TraceKind.BUS_PUBLISH:
                    self._publish(record, run)
                elif kind is TraceKind.STAGE_FILTERED:
                    stage = self._stage_of(record)
                    if stage is not None:
                        stage.filtered += 1
                        self.routes[record.route or ""].filtered += 1
                elif kind is TraceKind.ERROR:
                    self._error(record)
                if run is not None:
                    run.last_ns = record.t_ns
            elif kind is TraceKind.BUS_DELIVER:
                if record.route is not None:
                    self._route(record.route).items_in += 1
            elif kind is TraceKind.BUS_DROP:
                if record.route is not None:
                    self._route(record.route).dropped += 1
            elif kind is TraceKind.RUN_STARTED:
                if record.run_id is not None:
                    route = self._route(record.route) if record.route is not None else None
                    if route is not None:
                        route.runs += 1
                    self._open_run(record.run_id, record.route, record.t_ns, record.t_ns)
            elif kind is TraceKind.RUN_FINISHED:
                self._run_finished(record)
            elif kind is TraceKind.ROUTE_DEFINED:
                self._define(record)
            elif kind is TraceKind.OBSERVER_OVERFLOW:
                self.records_dropped += record.get("dropped", 0)
            else:
                self._interrupt(record)
        self.records_seen += seen

    def _route(self, name: str) -> RouteStats:
        stats = self.routes.get(name)
        if stats is None:
            stats = self.routes[name] = RouteStats(name)
        return stats

    def _stage_of(self, record: TraceRecord) -> StageStats | None:
        """The stage a record names; stages of a route never defined are created as seen."""
        index = record.stage
        if index is None or record.route is None or index < 0:
            return None
        route = self._route(record.route)
        stages = route.stages
        if index < len(stages):
            return stages[index]
        if route.defined:
            return None  # the broadcast step (index == number of stages)
        while len(stages) <= index:
            stages.append(StageStats(len(stages), "?", latency=Samples(self.max_samples)))
        return stages[index]

    def _define(self, record: TraceRecord) -> None:
        route = self._route(record.route or "?")
        labels = [str(label) for label in record.get("stages", [])]
        if [stage.label for stage in route.stages] != labels:
            kept = {stage.index: stage for stage in route.stages} if not route.defined else {}
            route.stages = []
            for index, label in enumerate(labels):
                stage = kept.get(index) or StageStats(index, label, latency=Samples(self.max_samples))
                stage.label = label
                route.stages.append(stage)
        route.defined = True

    def _open_run(self, run_id: int, route: str | None, started_ns: int | None, t_ns: int) -> _Run:
        runs = self._runs
        run = runs[run_id] = _Run(self._route(route) if route is not None else None, started_ns, t_ns)
        if len(runs) > MAX_OPEN:
            del runs[next(iter(runs))]
        return run

    def _stage_out(self, record: TraceRecord) -> None:
        stage = self._stage_of(record)
        if stage is not None:
            stage.items_out += 1
        run_id = record.run_id
        if run_id is None:
            return
        run = self._runs.get(run_id)
        if run is None:
            self._open_run(run_id, record.route, None, record.t_ns)
            return
        if stage is not None:
            stage.latency.add(record.t_ns - run.last_ns)
        run.last_ns = record.t_ns

    def _publish(self, record: TraceRecord, run: _Run | None) -> None:
        if record.route is not None and record.run_id is not None:
            self._route(record.route).items_out += 1
        event_type = record.get("event_type")
        is_chunk = self._is_chunk.get(event_type)
        if is_chunk is None:
            known = event_type_named(event_type) if isinstance(event_type, str) else None
            is_chunk = known is not None and issubclass(known, AgentResponse)
            if isinstance(event_type, str):
                self._is_chunk[event_type] = is_chunk
        if not is_chunk:
            return
        self.chunks_total += 1
        self._chunk_times.append(record.t_ns)
        if run is not None and run.first_chunk_due and run.started_ns is not None:
            run.first_chunk_due = False
            delay = record.t_ns - run.started_ns
            self.first_chunk.add(delay)
            if run.route is not None:
                run.route.first_chunk.add(delay)

    def _error(self, record: TraceRecord) -> None:
        self.errors_total += 1
        if record.route is None:
            return
        self._route(record.route).errors += 1
        stage = self._stage_of(record)
        if stage is not None:
            stage.errors += 1

    def _run_finished(self, record: TraceRecord) -> None:
        run_id = record.run_id
        if run_id is not None:
            self._runs.pop(run_id, None)
        status = record.get("status")
        delivered = record.get("delivered")
        cut = record.get("cut")
        if record.route is not None:
            route = self._route(record.route)
            if status == "completed":
                route.completed += 1
            elif status == "interrupted":
                route.interrupted += 1
            elif status == "failed":
                route.failed += 1
            route.delivered += delivered or 0
            route.cut += cut or 0
        card = self._open.get(run_id) if run_id is not None else None
        if card is not None:
            card.status = status
            card.delivered = delivered
            card.cut = cut

    def _interrupt(self, record: TraceRecord) -> None:
        kind = record.kind
        run_id = record.run_id
        if kind is TraceKind.INTERRUPT_ACCEPTED:
            if run_id is None or record.get("idle"):
                return  # nothing was running: not an interruption
            accepted = InterruptionStats(record.route or "?", run_id, str(record.get("trigger", "?")),
                                         record.t_ns, stage=record.get("stage"), awaiting=record.get("awaiting"))
            self.interruptions.append(accepted)
            self.interruptions_total += 1
            opened = self._open
            opened[run_id] = accepted
            if len(opened) > MAX_OPEN:
                del opened[next(iter(opened))]
            return
        if kind not in _INTERRUPT_PHASES:
            return
        since = record.get("since_accepted_ns")
        card = self._open.get(run_id) if run_id is not None else None
        if kind is TraceKind.INTERRUPT_LANDED:
            stage = self._stage_of(record)
            if stage is not None:
                stage.dropped += 1
            if since is not None:
                self.interrupt_landed.add(since)
            if card is not None:
                card.stage = record.stage
                card.stage_name = record.get("stage_name")
                card.awaiting = record.get("awaiting")
                card.landed_ns = since
        elif kind is TraceKind.INTERRUPT_CLOSED:
            if since is not None:
                self.interrupt_closed.add(since)
            if card is not None:
                card.closed_ns = since
        elif kind is TraceKind.HANDLER_STARTED:
            if card is not None:
                card.handler = record.get("handler")
        else:  # HANDLER_FINISHED
            if since is not None:
                self.interrupt_handler.add(since)
            if card is not None:
                card.handler_ns = since
                card.handler_ok = record.get("ok")
                del self._open[card.run_id]


_INTERRUPT_PHASES = frozenset({
    TraceKind.INTERRUPT_LANDED,
    TraceKind.INTERRUPT_CLOSED,
    TraceKind.HANDLER_STARTED,
    TraceKind.HANDLER_FINISHED,
})
