"""The conversation as heard: delivered text, and after a barge-in the part that was cut."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from line_tui.model import DebuggerState

SHOWN_TURNS = 40


class ConversationPanel(Static):
    DEFAULT_CSS = """
    ConversationPanel { height: auto; padding: 0 1; }
    """

    def show(self, state: DebuggerState) -> None:
        text = Text()
        turns = list(state.conversation.turns)[-SHOWN_TURNS:]
        for turn in turns:
            if turn.role == "user":
                text.append("you  ", "bold cyan")
                text.append(turn.text or "(no words)", "cyan")
                text.append("\n")
                continue
            text.append("agent ", "bold green")
            text.append(turn.text)
            if turn.cut:
                text.append(turn.cut, "strike dim red")
            if turn.interrupted:
                text.append("  ⟂ interrupted", "bold red")
            elif turn.failed:
                text.append("  ✗ failed", "bold red")
            elif not turn.finished:
                text.append(" ▌", "green")
            text.append("\n")
        if state.conversation.speaking:
            text.append("you  (speaking…)\n", "italic cyan")
        if state.call_ended:
            text.append("\n── call ended ── press F9 for a new call\n", "bold yellow")
        if not text:
            text.append("Type to talk to the agent; Enter ends your turn.", "dim")
        self.update(text)
