"""The conversation as heard: delivered text, and after a barge-in the part that was cut."""

from __future__ import annotations

from rich.text import Text

from line_tui.model import DebuggerState
from line_tui.widgets.panel import Panel

SHOWN_TURNS = 40
#: Characters shown of one agent turn (heard + cut): an endless reply is shown by its end, with
#: how much came before it, so a frame never re-wraps the whole reply.
TURN_TAIL_CHARS = 2000


class ConversationPanel(Panel):
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
            heard, cut = turn.heard, turn.unheard
            shown_cut = min(len(cut), TURN_TAIL_CHARS)
            shown_heard = min(len(heard), TURN_TAIL_CHARS - shown_cut)
            earlier = len(heard) + len(cut) - shown_heard - shown_cut
            if earlier:
                text.append(f"… {earlier:,} earlier characters … ", "dim italic")
            text.append(heard.tail(shown_heard))
            if shown_cut:
                text.append(cut.tail(shown_cut), "strike dim red")
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
        self.show_text(text)
