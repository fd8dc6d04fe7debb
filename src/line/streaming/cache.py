"""A bounded response cache keyed on the conversation that never stores a cut reply."""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Sequence
from typing import Any

from line.run_context import current_run_context

__all__ = ["ResponseCache", "cached_stream", "conversation_key"]


def conversation_key(messages: Sequence[dict[str, Any]]) -> str:
    """A stable key for a list of chat messages."""
    encoded = json.dumps(list(messages), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


class ResponseCache:
    """LRU of complete replies (lists of chunks)."""

    def __init__(self, max_entries: int = 128) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, got {max_entries}")
        self.max_entries = max_entries
        self._entries: OrderedDict[str, list[str]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, messages: Sequence[dict[str, Any]]) -> list[str] | None:
        key = conversation_key(messages)
        chunks = self._entries.get(key)
        if chunks is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return list(chunks)

    def put(self, messages: Sequence[dict[str, Any]], chunks: Sequence[str]) -> None:
        key = conversation_key(messages)
        self._entries[key] = list(chunks)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


async def cached_stream(
    cache: ResponseCache,
    messages: Sequence[dict[str, Any]],
    produce: Callable[[], AsyncIterable[str]],
) -> AsyncGenerator[str, None]:
    """Replay a cached reply, or stream ``produce()`` and cache it only if it completed.

    A reply cut by a barge-in (the generator is closed early, or the route run is marked
    interrupted) or that failed is never stored: the next identical question would otherwise
    get half an answer.
    """
    cached = cache.get(messages)
    if cached is not None:
        for chunk in cached:
            yield chunk
        return
    chunks: list[str] = []
    source = produce().__aiter__()
    try:
        async for chunk in source:
            chunks.append(chunk)
            yield chunk
    finally:
        # Closed early (a barge-in): close the producer now, inside the run, not later from the GC.
        aclose = getattr(source, "aclose", None)
        if aclose is not None:
            await aclose()
    context = current_run_context()
    run = context.run if context is not None else None
    if run is None or not getattr(run, "interrupted", False):
        cache.put(messages, chunks)
