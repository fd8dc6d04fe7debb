"""The numbers the metrics and routes panels show, read from ``line.trace_stats.TraceStats``."""

from __future__ import annotations

from collections.abc import Iterable

from line.trace import TraceKind, TraceRecord


def percentile(samples: list[int], p: float) -> int | None:
    if not samples:
        return None
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


class Metrics:
    """Temporary fold until TraceStats lands."""

    def __init__(self) -> None:
        self._stage_in: dict[tuple[str, int, int], int] = {}
        self._stage: dict[tuple[str, int], list[int]] = {}
        self._runs: dict[int, int] = {}
        self._first: list[int] = []
        self._close: list[int] = []
        self._handler: list[int] = []
        self._chunks: list[int] = []

    def feed(self, records: Iterable[TraceRecord]) -> None:
        for r in records:
            if r.kind is TraceKind.STAGE_IN and r.route and r.stage is not None and r.message_id is not None:
                self._stage_in[(r.route, r.stage, r.message_id)] = r.t_ns
            elif r.kind is TraceKind.STAGE_OUT and r.route and r.stage is not None and r.caused_by is not None:
                start = self._stage_in.get((r.route, r.stage, r.caused_by))
                if start is not None:
                    self._stage.setdefault((r.route, r.stage), []).append(r.t_ns - start)
            elif r.kind is TraceKind.RUN_STARTED and r.run_id is not None:
                self._runs[r.run_id] = r.t_ns
            elif r.kind is TraceKind.BUS_PUBLISH and r.run_id in self._runs and r.get("event_type") == "AgentResponse":
                self._first.append(r.t_ns - self._runs.pop(r.run_id))  # type: ignore[arg-type]
            elif r.kind is TraceKind.INTERRUPT_CLOSED:
                self._close.append(r.get("since_accepted_ns", 0))
            elif r.kind is TraceKind.HANDLER_FINISHED:
                self._handler.append(r.get("since_accepted_ns", 0))
            if r.kind is TraceKind.BUS_PUBLISH and r.get("event_type") == "AgentResponse":
                self._chunks.append(r.t_ns)
                del self._chunks[:-5000]

    def stage_latency(self, route: str, index: int) -> tuple[int | None, int | None]:
        samples = self._stage.get((route, index), [])
        return percentile(samples, 50), percentile(samples, 95)

    def first_chunk_percentile(self, p: float) -> int | None:
        return percentile(self._first, p)

    def interrupt_close_percentile(self, p: float) -> int | None:
        return percentile(self._close, p)

    def interrupt_handler_percentile(self, p: float) -> int | None:
        return percentile(self._handler, p)

    def chunks_per_second(self) -> float:
        if len(self._chunks) < 2:
            return 0.0
        span = self._chunks[-1] - self._chunks[0]
        return (len(self._chunks) - 1) / (span / 1e9) if span else 0.0
