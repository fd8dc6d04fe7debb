"""Buffers: what each one holds right now and how old its oldest byte is."""

from __future__ import annotations

import time

from rich.text import Text

from line_tui.model import DebuggerState
from line_tui.widgets.format import duration, visible_whitespace
from line_tui.widgets.panel import Panel


class BuffersPanel(Panel):
    DEFAULT_CSS = """
    BuffersPanel { height: auto; padding: 0 1; }
    """

    def show(self, state: DebuggerState, now_ns: int | None = None) -> None:
        now = time.monotonic_ns() if now_ns is None else now_ns
        text = Text()
        for view in state.buffers.buffers.values():
            text.append(f"{view.name}", "bold")
            text.append(f" ({view.route}) {len(view.contents)} chars, age {duration(view.age_at(now))}\n", "dim")
            text.append("  ")
            text.append(visible_whitespace(view.contents) or "(empty)", "" if view.contents else "dim")
            text.append("\n")
        if not text:
            text.append("no buffers reported (see line.trace.report_buffer)", "dim")
        self.show_text(text)
