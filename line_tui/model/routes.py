"""Routes and their stages, with live counters and states."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from line.trace import TraceKind, TraceRecord


class StageState(StrEnum):
    IDLE = "idle"
    RUNNING = "running"
    AWAITING = "awaiting"
    CANCELLED = "cancelled"
    SUSPENDED = "suspended"
    FAILED = "failed"


@dataclass
class StageView:
    index: int
    label: str  # "stream:generate"
    items_in: int = 0
    items_out: int = 0
    filtered: int = 0
    errors: int = 0
    state: StageState = StageState.IDLE


@dataclass
class RouteView:
    name: str
    bridge: str
    trigger: str
    policy: str
    broadcast: str | None
    interrupt_on: list[str]
    stages: list[StageView]
    runs: int = 0
    dropped: int = 0
    errors: int = 0
    active_run: int | None = None
    suspended: bool = False
    last_error: str | None = None
    last_status: str | None = None
    #: The stage the last item entered, while no other record changed the stage states since
    #: (lets the next focus change only the stages in between); ``None`` forces a full pass.
    focused: int | None = field(default=None, compare=False, repr=False)

    @property
    def state(self) -> StageState:
        if self.suspended:
            return StageState.SUSPENDED
        if self.active_run is not None:
            return StageState.RUNNING
        return StageState.IDLE


@dataclass
class RoutesModel:
    routes: dict[str, RouteView] = field(default_factory=dict)
    _handlers: dict[TraceKind, Callable[[TraceRecord], None]] | None = field(
        default=None, init=False, repr=False, compare=False)

    def feed(self, record: TraceRecord) -> None:
        """Fold one record (``DebuggerState`` calls the handler of its kind directly)."""
        handlers = self._handlers
        if handlers is None:
            handlers = self._handlers = self.handlers()
        handler = handlers.get(record.kind)
        if handler is not None:
            handler(record)

    def handlers(self) -> dict[TraceKind, Callable[[TraceRecord], None]]:
        """What this model does per record kind; kinds it does not use are absent."""
        return {
            TraceKind.ROUTE_DEFINED: self.define,
            TraceKind.STAGE_IN: self.stage_in,
            TraceKind.STAGE_OUT: self.stage_out,
            TraceKind.STAGE_FILTERED: self.stage_filtered,
            TraceKind.RUN_STARTED: self.run_started,
            TraceKind.RUN_FINISHED: self.run_finished,
            TraceKind.INTERRUPT_LANDED: self.interrupt_landed,
            TraceKind.ERROR: self.error,
            TraceKind.BUS_DROP: self.dropped,
            TraceKind.SUSPENDED: self.suspended,
            TraceKind.RESUMED: self.resumed,
        }

    def _stage(self, record: TraceRecord) -> tuple[RouteView | None, StageView | None]:
        route = self.routes.get(record.route or "")
        if route is None:
            return None, None
        index = record.stage
        stages = route.stages
        return route, stages[index] if index is not None and index < len(stages) else None

    def stage_in(self, record: TraceRecord) -> None:
        route = self.routes.get(record.route or "")
        if route is None:
            return
        index = record.stage
        stages = route.stages
        if index is None or not 0 <= index < len(stages):
            return
        stages[index].items_in += 1
        _focus(route, stages, index)

    def stage_out(self, record: TraceRecord) -> None:
        route = self.routes.get(record.route or "")
        if route is None:
            return
        index = record.stage
        stages = route.stages
        if index is not None and index < len(stages):
            stages[index].items_out += 1

    def stage_filtered(self, record: TraceRecord) -> None:
        _, stage = self._stage(record)
        if stage is not None:
            stage.filtered += 1

    def run_started(self, record: TraceRecord) -> None:
        route = self.routes.get(record.route or "")
        if route is not None:
            route.runs += 1
            route.active_run = record.run_id
            route.last_error = None

    def run_finished(self, record: TraceRecord) -> None:
        route = self.routes.get(record.route or "")
        if route is None:
            return
        route.active_run = None
        route.last_status = record.get("status")
        route.focused = None
        for view in route.stages:
            if view.state not in (StageState.CANCELLED, StageState.FAILED):
                view.state = StageState.IDLE

    def interrupt_landed(self, record: TraceRecord) -> None:
        route, stage = self._stage(record)
        if route is None:
            return
        route.focused = None
        for view in route.stages:
            view.state = StageState.IDLE
        if stage is not None:
            stage.state = StageState.CANCELLED

    def error(self, record: TraceRecord) -> None:
        route, stage = self._stage(record)
        if route is None:
            return
        route.errors += 1
        route.last_error = f"{record.get('exc_type')} in {record.get('where')} " \
                           f"{record.get('stage_name')!r}: {record.get('message')}"
        if stage is not None:
            route.focused = None
            stage.errors += 1
            stage.state = StageState.FAILED

    def dropped(self, record: TraceRecord) -> None:
        route = self.routes.get(record.route or "")
        if route is not None:
            route.dropped += 1

    def suspended(self, record: TraceRecord) -> None:
        route = self.routes.get(record.route or "")
        if route is not None:
            route.suspended = True

    def resumed(self, record: TraceRecord) -> None:
        route = self.routes.get(record.route or "")
        if route is not None:
            route.suspended = False

    def define(self, record: TraceRecord) -> None:
        name = record.route or "?"
        stages = [StageView(i, label) for i, label in enumerate(record.get("stages", []))]
        self.routes[name] = RouteView(
            name=name,
            bridge=record.get("bridge", ""),
            trigger=record.get("trigger", ""),
            policy=record.get("policy", ""),
            broadcast=record.get("broadcast"),
            interrupt_on=list(record.get("interrupt_on", [])),
            stages=stages,
        )


def _focus(route: RouteView, stages: list[StageView], index: int) -> None:
    """The stage an item just entered runs; the stream stages above it wait on it.

    That is: stages above ``index`` await, ``index`` runs, and one below that ran is idle. When
    nothing else changed the states since the last focus (``route.focused``), only the stages
    between the two focuses change, so an item flowing down a long route costs O(1) per stage.
    """
    previous = route.focused
    route.focused = index
    if previous is None:
        for view in stages:
            if view.index == index:
                view.state = StageState.RUNNING
            elif view.index < index:
                view.state = StageState.AWAITING
            elif view.state is StageState.RUNNING:
                view.state = StageState.IDLE
    elif index > previous:
        for view in stages[previous:index]:
            view.state = StageState.AWAITING
        stages[index].state = StageState.RUNNING
    elif index < previous:
        stages[index].state = StageState.RUNNING
        stages[previous].state = StageState.IDLE
