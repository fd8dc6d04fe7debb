"""What the caller heard of one route run: the text of its ``AgentResponse`` chunks not cut.

A run keeps it so that ``RouteRun.heard_text`` is exact after a barge-in, however long the
reply. Only a chunk still waiting in some inbox can be cut (``Bus.purge_run``), and a chunk a
consumer took (``Message.reached``) never is. So the text of chunks that can no longer be cut
is kept joined, in memory proportional to the text, and only the recent chunks that may still
be cut are kept one by one (a few per consumer inbox slot, not one per chunk of the reply).
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

from line.growing_text import GrowingText

if TYPE_CHECKING:
    from line.bus import Message

__all__ = ["HeardChunks"]

#: Chunks kept one by one before the final ones among them are joined (amortizes the check).
SETTLE_EVERY = 64


class HeardChunks:
    """The ``AgentResponse`` chunks a run published, minus those cut; ``len()`` counts them."""

    __slots__ = ("_count", "_final", "_messages", "_texts")

    def __init__(self) -> None:
        self._final = GrowingText()  # the text of chunks that can no longer be cut
        # The chunks that may still be cut, in order: their messages and (in step) their texts.
        self._messages: deque[Message] = deque()
        self._texts: deque[str] = deque()
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, message: Message, text: str, queued: int) -> None:
        """Note a chunk the run is about to publish. ``queued``: how many of the run's messages
        wait in inboxes right now (none: every chunk published before is final)."""
        if len(self._texts) >= SETTLE_EVERY:
            self._settle(everything=not queued)
        self._messages.append(message)
        self._texts.append(text)
        self._count += 1

    def _settle(self, everything: bool) -> None:
        """Join the text of the chunks that can no longer be cut: the oldest ones a consumer
        took, or all of them when none of the run's messages waits in an inbox."""
        messages = self._messages
        texts = self._texts
        if everything:
            self._final.extend(texts)
            texts.clear()
            messages.clear()
        else:
            final = self._final
            while messages and messages[0].reached:
                messages.popleft()
                final.append(texts.popleft())

    def cut(self, message_ids: set[int]) -> None:
        """Forget the chunks with these message ids: an interrupt removed them unheard."""
        kept = [(message, text) for message, text in zip(self._messages, self._texts, strict=True)
                if message.id not in message_ids]
        self._count -= len(self._messages) - len(kept)
        self._messages = deque(message for message, _ in kept)
        self._texts = deque(text for _, text in kept)

    @property
    def text(self) -> str:
        return self._final.value + "".join(self._texts)

    @property
    def pending(self) -> int:
        """How many chunks are kept one by one (for tests: bounded, whatever the reply's length)."""
        return len(self._texts)
