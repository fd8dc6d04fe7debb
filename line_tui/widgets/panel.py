"""The base of the six panels: content replaced only when it changed.

A panel whose text is the same as last frame is left alone, so Textual neither lays it out
nor renders it again (under load that is most of the small panels, most of the time).
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class Panel(Static):
    """A ``Static`` showing a rich ``Text`` that each frame rebuilds from the state."""

    _shown: Text | None = None

    def show_text(self, text: Text) -> bool:
        """Show ``text`` unless it equals what is shown; True when the panel changed."""
        if self._shown is not None and text == self._shown:
            return False
        self._shown = text
        self.update(text)
        return True
