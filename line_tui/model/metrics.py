"""The numbers the metrics and routes panels show: :class:`line.trace_stats.TraceStats` itself.

The TUI computes nothing of its own here, so what it shows (time to first chunk, chunks/s,
per-stage and interrupt latency) is exactly what a user's tooling gets from ``line`` alone.
"""

from __future__ import annotations

from line.trace_stats import TraceStats

__all__ = ["Metrics"]


class Metrics(TraceStats):
    """The debugger's fold of the trace into numbers; see ``line.trace_stats`` for definitions."""
