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
            for stage in route.stages:
                latency = stats.stage_latency(route.name, stage.index)
                text.append(f"  {stage.index} {stage.label} ")
                text.append(str(stage.state), STATE_STYLES.get(stage.state, ""))
                text.append(f"\n      in {stage.items_in}  out {stage.items_out}  ")
                text.append(f"filt {stage.filtered}  ", "yellow" if stage.filtered else "dim")
                text.append(f"err {stage.errors}  ", "bold red" if stage.errors else "dim")
                text.append(f"p50 {duration(latency[0])} p95 {duration(latency[1])}\n", "dim")
            if route.broadcast is not None:
                text.append(f"  → broadcast({route.broadcast})\n", "dim")
            if route.last_error:
                text.append("  error: ", "bold red")
                text.append(route.last_error + "\n", "red")
        if not text:
            text.append("no routes yet", "dim")
        self.show_text(text)
