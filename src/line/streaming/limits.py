"""Bounds on a reply: chunk/character limits (memory) and a pace limit (rate)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import TypeVar

__all__ = ["limit_chunks", "rate_limit"]

logger = logging.getLogger("line.streaming")

T = TypeVar("T")


async def limit_chunks(
    stream: AsyncIterable[T], max_chunks: int | None = None, max_chars: int | None = None
) -> AsyncIterator[T]:
    """Stop (and close the source) once ``max_chunks`` items or ``max_chars`` characters passed."""
    count = 0
    chars = 0
    iterator = stream.__aiter__()
    try:
        async for item in iterator:
            size = len(str(getattr(item, "content", item)))
            if (max_chunks is not None and count >= max_chunks) or (
                max_chars is not None and chars + size > max_chars
            ):
                logger.warning("reply truncated at %d chunks / %d chars (limits %s / %s)",
                               count, chars, max_chunks, max_chars)
                return
            count += 1
            chars += size
            yield item
    finally:
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()


async def rate_limit(
    stream: AsyncIterable[T],
    chunks_per_second: float,
    burst: int = 1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> AsyncIterator[T]:
    """Pace items to at most ``chunks_per_second`` (token bucket of ``burst``)."""
    if chunks_per_second <= 0:
        raise ValueError(f"chunks_per_second must be positive, got {chunks_per_second}")
    interval = 1.0 / chunks_per_second
    tokens = float(burst)
    last = clock()
    async for item in stream:
        now = clock()
        tokens = min(float(burst), tokens + (now - last) / interval)
        last = now
        if tokens < 1.0:
            wait = (1.0 - tokens) * interval
            await sleep(wait)
            tokens = 1.0
            last = clock()
        tokens -= 1.0
        yield item
