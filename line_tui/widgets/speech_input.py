"""Where the developer speaks as the caller: typing is speaking, Enter ends the turn."""

from __future__ import annotations

from dataclasses import dataclass

from textual import events
from textual.message import Message
from textual.widgets import Input


class SpeechInput(Input):
    """An ``Input`` that reports the first keystroke of a turn (the caller starts speaking)."""

    DEFAULT_CSS = """
    SpeechInput { dock: bottom; }
    """

    @dataclass
    class StartedTyping(Message):
        """The first character of a turn was typed."""

    def __init__(self) -> None:
        super().__init__(placeholder="type to speak as the caller — Enter sends (typing over the agent barges in)",
                         id="speech")
        self.cursor_blink = False

    def read_only(self, prompt: str) -> None:
        """Nothing to speak to (a replay): say so where the prompt was, and take no input."""
        self.placeholder = prompt
        self.disabled = True

    async def _on_key(self, event: events.Key) -> None:
        if event.is_printable and not self.value:
            self.post_message(self.StartedTyping())
        await super()._on_key(event)
