"""An agent that failed to load or build: the message, and the traceback in a scrollable panel."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class ErrorScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ErrorScreen { align: center middle; }
    ErrorScreen > VerticalScroll { width: 90%; height: 80%; border: round $error; background: $surface;
                                   padding: 1 2; }
    """
    BINDINGS = [Binding("escape", "dismiss", "close")]

    def __init__(self, title: str, details: str) -> None:
        super().__init__()
        self.title_text = title
        self.details = details

    def compose(self) -> ComposeResult:
        text = Text()
        text.append(self.title_text + "\n\n", "bold red")
        text.append(self.details or "(no traceback)")
        text.append("\n\nEsc closes this panel; F5 picks a scenario, Ctrl+Q quits.", "dim")
        with VerticalScroll():
            yield Static(text, id="error-details")
