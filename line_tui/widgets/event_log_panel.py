"""The bus event log (newest last), filterable by type; the selected entry shows its lineage."""

from __future__ import annotations

from rich.text import Text

from line_tui.model import DebuggerState
from line_tui.model.event_log import LogEntry
from line_tui.widgets.format import Timings
from line_tui.widgets.panel import Panel

SHOWN_ENTRIES = 40
CAUSED_BY = "  caused by "
LED_TO = "  led to    "
REPLY_TO = "  reply to  "


def _line(text: Text, state: DebuggerState, entry: LogEntry, origin_ns: int, width: int, style: str = "",
          indent: int = 0) -> None:
    """One entry on one line (after ``indent`` characters already on it): time, number, source,
    type, and as much payload as fits."""
    seconds = f"{(entry.t_ns - origin_ns) / 1e9:7.3f} " if Timings.visible else "      · "
    who = f"{state.ids.message(entry.message_id):<5} {entry.source:<10.10} "
    what = f"{entry.event_type:<22.22} "
    used = indent + len(seconds) + len(who) + len(what)
    room = max(0, width - used)
    if len(entry.payload) <= room:
        payload = entry.payload
    else:
        payload = entry.payload[: room - 1] + "…" if room > 4 else ""
    text.append(seconds, "dim")
    text.append(who, style or "cyan")
    text.append(what, style or "bold")
    text.append(payload, style)
    text.append("\n")


class EventLogPanel(Panel):
    DEFAULT_CSS = """
    EventLogPanel { height: auto; padding: 0 1; }
    """

    def show(self, state: DebuggerState, selected: int | None) -> None:
        log = state.log
        origin_ns = state.origin_ns or 0
        width = max(40, self.content_region.width or 100)
        text = Text()
        header = f"filter: {log.filter_type or 'all types'} (F6)   select: F7/F8"
        text.append(header + "\n", "dim")
        visible = log.visible(last=SHOWN_ENTRIES)
        for entry in visible:
            _line(text, state, entry, origin_ns, width, "reverse" if entry.message_id == selected else "")
        if selected is not None and selected in log.by_id:
            text.append("\nlineage of ", "bold")
            text.append(f"{state.ids.message(selected)}\n", "bold")
            causes = log.causes(selected)
            effects = log.effects(selected)
            for entry in causes:
                text.append(CAUSED_BY, "dim")
                _line(text, state, entry, origin_ns, width, indent=len(CAUSED_BY))
            if not causes:
                text.append("  (no recorded cause: it came from outside the routes)\n", "dim")
            words = log.in_reply_to(selected)
            if words is not None:
                text.append(REPLY_TO, "dim")
                _line(text, state, words, origin_ns, width, indent=len(REPLY_TO))
            for entry in effects:
                text.append(LED_TO, "dim")
                _line(text, state, entry, origin_ns, width, indent=len(LED_TO))
        self.show_text(text)
