"""Metrics from the trace: time to first chunk, chunks/s, interrupt latency."""

from __future__ import annotations

from rich.text import Text

from line_tui.model import DebuggerState
from line_tui.widgets.format import Timings, duration
from line_tui.widgets.panel import Panel


class MetricsPanel(Panel):
    DEFAULT_CSS = """
    MetricsPanel { height: auto; padding: 0 1; }
    """

    def show(self, state: DebuggerState) -> None:
        stats = state.stats
        text = Text()
        text.append("first chunk ", "bold")
        first_p50, first_p95 = stats.first_chunk_percentile(50), stats.first_chunk_percentile(95)
        text.append(f"p50 {duration(first_p50)} p95 {duration(first_p95)}")
        text.append("   chunks/s ", "bold")
        text.append(f"{stats.chunks_per_second():.0f}\n" if Timings.visible else "·\n")
        text.append("interrupt  ", "bold")
        text.append(f"close p50 {duration(stats.interrupt_close_percentile(50))} "
                    f"handler p50 {duration(stats.interrupt_handler_percentile(50))}"
                    f"   count {state.interruptions.total}\n")
        text.append(f"trace records {state.records_seen}", "dim")
        if state.records_dropped:
            text.append(f"  dropped by the UI observer: {state.records_dropped}", "bold yellow")
        if state.paused:
            text.append("   PIPELINE PAUSED (F3 resume, F4 step)", "bold magenta")
        self.show_text(text)
