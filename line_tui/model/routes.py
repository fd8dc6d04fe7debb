"""Routes and their stages, with live counters and states."""

from __future__ import annotations

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

    def feed(self, record: TraceRecord) -> None:
        kind = record.kind
        if kind is TraceKind.ROUTE_DEFINED:
            self._define(record)
            return
        route = self.routes.get(record.route or "")
        if route is None:
            return
        stage = route.stages[record.stage] if record.stage is not None and record.stage < len(route.stages) else None
        if kind is TraceKind.STAGE_IN and stage is not None:
            stage.items_in += 1
            self._focus(route, stage.index)
        elif kind is TraceKind.STAGE_OUT and stage is not None:
            stage.items_out += 1
        elif kind is TraceKind.STAGE_FILTERED and stage is not None:
            stage.filtered += 1
        elif kind is TraceKind.RUN_STARTED:
            route.runs += 1
            route.active_run = record.run_id
            route.last_error = None
        elif kind is TraceKind.RUN_FINISHED:
            route.active_run = None
            route.last_status = record.get("status")
            for view in route.stages:
                if view.state not in (StageState.CANCELLED, StageState.FAILED):
                    view.state = StageState.IDLE
        elif kind is TraceKind.INTERRUPT_LANDED:
            for view in route.stages:
                view.state = StageState.IDLE
            if stage is not None:
                stage.state = StageState.CANCELLED
        elif kind is TraceKind.ERROR:
            route.errors += 1
            route.last_error = f"{record.get('exc_type')} in {record.get('where')} " \
                               f"{record.get('stage_name')!r}: {record.get('message')}"
            if stage is not None:
                stage.errors += 1
                stage.state = StageState.FAILED
        elif kind is TraceKind.BUS_DROP:
            route.dropped += 1
        elif kind is TraceKind.SUSPENDED:
            route.suspended = True
        elif kind is TraceKind.RESUMED:
            route.suspended = False

    def _define(self, record: TraceRecord) -> None:
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

    @staticmethod
    def _focus(route: RouteView, index: int) -> None:
        """The stage an item just entered runs; the stream stages above it wait on it."""
        for view in route.stages:
            if view.index == index:
                view.state = StageState.RUNNING
            elif view.index < index:
                view.state = StageState.AWAITING
            elif view.state is StageState.RUNNING:
                view.state = StageState.IDLE
