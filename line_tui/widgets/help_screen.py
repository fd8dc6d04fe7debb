"""Every key binding, with what it does to the pipeline."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = [
    ("typing", "speak as the caller; the first key sends UserStartedSpeaking (a barge-in while the agent talks)"),
    ("Enter", "end the turn: UserTranscriptionReceived(text) then UserStoppedSpeaking"),
    ("F1", "this help"),
    ("F2", "speak without words: toggles UserStartedSpeaking / UserStoppedSpeaking"),
    ("F3", "pause / resume the pipeline (chunks from routes wait at the bus; your speech still flows)"),
    ("F4", "single-step: let one waiting chunk through while paused"),
    ("F5", "pick a scenario (starts a new call)"),
    ("F6", "event log: cycle the type filter"),
    ("F7 / F8", "event log: select the previous / next entry to see its lineage"),
    ("F9", "new call (after the call ended, or any time)"),
    ("Ctrl+L", "clear the conversation, cards and log"),
    ("Ctrl+Q", "quit"),
]


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90; height: auto; max-height: 80%; border: round $accent;
                                  background: $surface; padding: 1 2; }
    """
    BINDINGS = [Binding("escape,f1,q", "dismiss", "close")]

    def __init__(self, replaying: bool = False) -> None:
        super().__init__()
        self.replaying = replaying

    def compose(self) -> ComposeResult:
        text = Text()
        text.append("line-tui keys\n\n", "bold")
        for key, what in HELP:
            text.append(f"{key:<10}", "bold cyan")
            text.append(f" {what}\n")
        if self.replaying:
            text.append("\nThis is a replay: typing, F2-F5 and F9 need a live call and do nothing here.\n",
                        "yellow")
        text.append("\nEsc closes this screen.", "dim")
        with VerticalScroll():
            yield Static(text)
