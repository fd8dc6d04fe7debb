"""Routes: trigger, policy and each stage with live counts, state and latency."""

from __future__ import annotations

from rich.text import Text

from line_tui.model import DebuggerState
from line_tui.model.routes import StageState
from line_tui.widgets.format import duration
from line_tui.widgets.panel import Panel

STATE_STYLES = {
    StageState.IDLE: "dim",
    StageState.RUNNING: "bold green",
    StageState.AWAITING: "yellow",
    StageState.CANCELLED: "bold red",
    StageState.SUSPENDED: "magenta",
    StageState.FAILED: "bold white on red",
}


#: A stage's counts and latency, one row under its name: right-aligned columns under one header
#: per route, so the row fits the left column at 160x48 (41 cells; a row is 39 with four-digit
#: counts and durations like "123.4ms").
COLUMNS = (("in", 6), ("out", 6), ("filt", 5), ("err", 4), ("p50", 8), ("p95", 8))
ROW_INDENT = "  "
HEADER = ROW_INDENT + "".join(f"{name:>{width}}" for name, width in COLUMNS)


def stage_row(text: Text, items_in: int, items_out: int, filtered: int, errors: int,
              p50: int | None, p95: int | None) -> None:
    """One stage's row of numbers, aligned under ``HEADER``."""
    (_, w_in), (_, w_out), (_, w_filt), (_, w_err), (_, w_p50), (_, w_p95) = COLUMNS
    text.append(f"{ROW_INDENT}{items_in:>{w_in}}{items_out:>{w_out}}")
    text.append(f"{filtered:>{w_filt}}", "yellow" if filtered else "dim")
    text.append(f"{errors:>{w_err}}", "bold red" if errors else "dim")
    text.append(f"{duration(p50):>{w_p50}}{duration(p95):>{w_p95}}\n", "dim")


class RoutesPanel(Panel):
    DEFAULT_CSS = """
    RoutesPanel { height: auto; padding: 0 1; }
    """

    def show(self, state: DebuggerState) -> None:
        text = Text()
        stats = state.stats
        for route in state.routes.routes.values():
            if route.bridge == "user":
                continue  # the caller's own routes are the conversation panel's business
            text.append(route.name, "bold")
            text.append(f"  {route.state}", STATE_STYLES.get(route.state, ""))
            text.append(f"\n  policy {route.policy}", "cyan")
            if route.interrupt_on:
                text.append(f"  interrupt_on {', '.join(route.interrupt_on)}", "cyan")
            text.append(f"\n  runs {route.runs}")
            if route.dropped:
                text.append(f"  dropped {route.dropped}", "yellow")
            if route.last_status:
                text.append(f"  last: {route.last_status}", "dim")
            text.append("\n")
            if route.stages:
                text.append(HEADER + "\n", "dim")
            for stage in route.stages:
                text.append(f"  {stage.index} {stage.label} ")
                text.append(str(stage.state), STATE_STYLES.get(stage.state, ""))
                text.append("\n")
                stage_row(text, stage.items_in, stage.items_out, stage.filtered, stage.errors,
                          *stats.stage_latency(route.name, stage.index))
            if route.broadcast is not None:
                text.append(f"  → broadcast({route.broadcast})\n", "dim")
            if route.last_error:
                text.append("  error: ", "bold red")
                text.append(route.last_error + "\n", "red")
        if not text:
            text.append("no routes yet", "dim")
        self.show_text(text)
