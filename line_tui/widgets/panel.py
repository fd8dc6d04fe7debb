"""The base of the six panels: content replaced only when it changed, and render time measured.

A panel whose text is the same as last frame is left alone, so Textual neither lays it out
nor renders it again (under load that is most of the small panels, most of the time). The
time panels spend rendering is summed in :data:`RENDER_TIME` for the app's frame pacing.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widgets import Static


class RenderTime:
    """Seconds the panels spent in Textual's rendering (wrapping, strips) since the last ``take``."""

    __slots__ = ("seconds",)

    def __init__(self) -> None:
        self.seconds = 0.0

    def take(self) -> float:
        seconds, self.seconds = self.seconds, 0.0
        return seconds


RENDER_TIME = RenderTime()


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

    def render_lines(self, crop: Region) -> list[Strip]:
        started = time.perf_counter()
        try:
            return super().render_lines(crop)
        finally:
            RENDER_TIME.seconds += time.perf_counter() - started

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        started = time.perf_counter()
        try:
            return super().get_content_height(container, viewport, width)
        finally:
            RENDER_TIME.seconds += time.perf_counter() - started
