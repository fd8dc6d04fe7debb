"""Text that grows piece by piece, cheaply: used for what a caller heard of a long reply
(``line.heard``) and by the debugger's conversation view."""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["BLOCK", "GrowingText"]

#: Appended pieces joined into one block (bounds the per-turn list of small strings).
BLOCK = 256


class GrowingText:
    """Text that grows chunk by chunk: appends are O(1) and the tail is read without joining
    it all (a 10 s reply at 10,000 chunks/s is 600 KB; ``str +=`` would copy it per chunk)."""

    __slots__ = ("_blocks", "_parts", "length")

    def __init__(self, text: str = "") -> None:
        self._blocks: list[str] = [text] if text else []  # joined runs of BLOCK parts
        self._parts: list[str] = []
        self.length = len(text)

    def append(self, piece: str) -> None:
        if not piece:
            return
        parts = self._parts
        parts.append(piece)
        self.length += len(piece)
        if len(parts) >= BLOCK:
            self._blocks.append("".join(parts))
            parts.clear()

    def extend(self, pieces: Iterable[str]) -> None:
        """``append`` each piece (in one C-level step: this is on the router's per-chunk path)."""
        parts = self._parts
        start = len(parts)
        parts.extend(pieces)
        self.length += sum(map(len, parts[start:]))
        if len(parts) >= BLOCK:
            self._blocks.append("".join(parts))
            parts.clear()

    @property
    def value(self) -> str:
        if self._parts or len(self._blocks) > 1:
            joined = "".join(self._blocks) + "".join(self._parts)
            self._blocks = [joined] if joined else []
            self._parts = []
        return self._blocks[0] if self._blocks else ""

    def tail(self, chars: int) -> str:
        """The last ``chars`` characters (all of it when shorter)."""
        if chars <= 0:
            return ""
        if self.length <= chars:
            return self.value
        pieces: list[str] = []
        taken = 0
        for source in (self._parts, self._blocks):
            for piece in reversed(source):
                pieces.append(piece)
                taken += len(piece)
                if taken >= chars:
                    return "".join(reversed(pieces))[-chars:]
        return "".join(reversed(pieces))[-chars:]  # not reached: length > chars

    def __len__(self) -> int:
        return self.length
