"""Sentence-boundary buffering for speech: emit whole sentences, never split "Dr." or "3.5".

A boundary is a ``.``, ``!`` or ``?`` (optionally followed by closing quotes or brackets) that
is followed by whitespace, unless the word it ends is a common abbreviation ("Dr.", "e.g.",
"a.m."), a single-letter initial ("J. R. R."), or part of an ellipsis ("..." or "…", which never
ends a piece). The whitespace after a boundary belongs to the piece before it. A decision is
made only once the character after the punctuation is known, so "3." at the end of a chunk
waits for the next chunk. When the buffer reaches ``max_chars`` without a boundary it is cut
at its last space (or hard, if there is none). Pieces shorter than ``min_chars`` wait for the
next boundary. The concatenation of every piece and the final ``flush()`` equals the input.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable, AsyncIterator

from line.trace import report_buffer

__all__ = ["ABBREVIATIONS", "SentenceBuffer", "buffer_sentences"]

ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "e.g", "i.e", "inc", "ltd", "co",
    "a.m", "p.m", "u.s", "u.k", "approx", "dept", "est", "fig", "gen", "gov", "mt", "rev", "sgt",
    "capt", "col", "lt", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov",
    "dec", "ave", "blvd", "rd", "corp", "vol", "ph.d", "cf",
})
_TERMINATORS = ".!?"
_CLOSERS = "\"')]}\u2019\u201d\u00bb"  # incl. typographic closing quotes


def _ends_sentence(text: str, end: int) -> bool:
    """Whether ``text[:end]`` (which ends with a terminator or closer) ends a sentence."""
    i = end - 1
    while i >= 0 and text[i] in _CLOSERS:
        i -= 1
    if i < 0 or text[i] not in _TERMINATORS:
        return False
    if text[i] != ".":
        return True
    if i >= 1 and text[i - 1] in ".…":
        return False  # an ellipsis: the speaker trails off, the sentence may go on
    start = i
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    word = text[start:i].lstrip("\"'([{\u201c\u2018\u00ab").lower()
    if not word:
        return True
    if word in ABBREVIATIONS:
        return False
    return not (len(word) == 1 and word.isalpha())  # an initial: "J. R. R. Tolkien"


class SentenceBuffer:
    """Accumulates streamed text and hands out whole sentences; reports its contents to the trace."""

    def __init__(self, min_chars: int = 0, max_chars: int = 200, name: str = "sentences") -> None:
        if max_chars < 1 or min_chars < 0 or min_chars > max_chars:
            raise ValueError(f"SentenceBuffer needs 0 <= min_chars <= max_chars and max_chars >= 1, "
                             f"got min_chars={min_chars}, max_chars={max_chars}")
        self.min_chars = min_chars
        self.max_chars = max_chars
        self.name = name
        self.contents = ""
        self.oldest_ns: int | None = None
        self._scanned = 0  # positions before this were checked and are not boundaries

    def push(self, text: str) -> list[str]:
        """Add ``text``; return the pieces that are complete now (possibly none)."""
        if not text:
            return []
        if not self.contents:
            self.oldest_ns = time.monotonic_ns()
        self.contents += text
        pieces = self._take_pieces()
        self._report()
        return pieces

    def flush(self) -> str:
        """Everything left (the end of the reply), and an empty buffer."""
        rest, self.contents, self.oldest_ns, self._scanned = self.contents, "", None, 0
        if rest:
            self._report()
        return rest

    def clear(self) -> str:
        """Drop the contents (an interrupted reply); returns what was dropped."""
        return self.flush()

    def _take_pieces(self) -> list[str]:
        pieces: list[str] = []
        while True:
            cut = self._next_cut()
            if cut is None:
                return pieces
            pieces.append(self.contents[:cut])
            self.contents = self.contents[cut:]
            self._scanned = 0
            self.oldest_ns = time.monotonic_ns() if self.contents else None

    def _next_cut(self) -> int | None:
        text = self.contents
        n = len(text)
        i = max(self._scanned, 1)
        while i < n:
            if text[i].isspace() and (text[i - 1] in _TERMINATORS or text[i - 1] in _CLOSERS) \
                    and _ends_sentence(text, i) and i >= self.min_chars:
                end = i
                while end < n and text[end].isspace():
                    end += 1
                return end
            if i >= self.max_chars:
                break
            i += 1
        self._scanned = max(1, min(i, n) - 1)
        if n >= self.max_chars:
            window = text[: self.max_chars]
            space = max(window.rfind(" "), window.rfind("\n"))
            return space + 1 if space > 0 else self.max_chars
        return None

    def _report(self) -> None:
        report_buffer(self.name, self.contents, self.oldest_ns)


async def buffer_sentences(
    chunks: AsyncIterable[str], min_chars: int = 0, max_chars: int = 200, name: str = "sentences"
) -> AsyncIterator[str]:
    """Re-chunk a text stream into sentences; the remainder is flushed when the stream ends.

    When the consumer stops early (an interruption), the remainder is dropped, not emitted,
    and the buffer reports itself empty.
    """
    buffer = SentenceBuffer(min_chars=min_chars, max_chars=max_chars, name=name)
    completed = False
    try:
        async for text in chunks:
            for piece in buffer.push(text):
                yield piece
        completed = True
    finally:
        rest = buffer.flush()
    if completed and rest:
        yield rest
