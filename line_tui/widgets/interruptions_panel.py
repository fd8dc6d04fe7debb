"""One card per interruption: trigger, where it landed, close/handler latency, delivered vs cut."""

from __future__ import annotations

from rich.text import Text

from line_tui.model import DebuggerState
from line_tui.widgets.format import duration
from line_tui.widgets.panel import Panel

SHOWN_CARDS = 6


class InterruptionsPanel(Panel):
    DEFAULT_CSS = """
    InterruptionsPanel { height: auto; padding: 0 1; }
    """

    def show(self, state: DebuggerState) -> None:
        text = Text()
        cards = list(state.interruptions.cards)[-SHOWN_CARDS:]
        for card in reversed(cards):
            text.append("interrupted", "bold red")
            text.append(f" {state.ids.run(card.run_id)} of {card.route} by {card.trigger}\n")
            where = card.stage_name or (f"stage {card.stage}" if card.stage is not None else "?")
            text.append(f"  landed in {where}", "")
            if card.awaiting and card.awaiting != card.stage_name:  # the stage itself: said already
                text.append(f" (awaiting {card.awaiting})", "dim")
            text.append("\n")
            text.append(f"  closed in {duration(card.closed_ns)}  handler done in {duration(card.handler_ns)}")
            if card.handler_ok is False:
                text.append("  handler failed", "bold red")
            text.append("\n")
            delivered = "?" if card.delivered is None else str(card.delivered)
            cut = "?" if card.cut is None else str(card.cut)
            text.append(f"  delivered {delivered} chunks, cut {cut} queued", "yellow")
            buffered_cut = state.interruptions.buffered_cut(card)
            if buffered_cut:
                text.append(f" + {len(buffered_cut)} chars in buffers", "yellow")
            text.append("\n")
        if not text:
            text.append("no interruptions yet: type while the agent speaks", "dim")
        self.show_text(text)
