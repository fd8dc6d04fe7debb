"""Merge async streams: each item as soon as any source has one, none lost or duplicated.

Unlike the spec's sketch, each source keeps exactly one pending ``__anext__`` task across
iterations (re-creating them would lose items), finished sources are removed by identity,
and closing the merged stream cancels the pending reads and closes every source.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import Any, TypeVar

__all__ = ["merge_streams"]

T = TypeVar("T")


async def merge_streams(*streams: AsyncIterable[T]) -> AsyncGenerator[T, None]:
    """Yield items of all ``streams`` in arrival order; each source's own order is kept.

    If a source raises, the others are closed and the exception propagates to the consumer.
    """
    iterators: list[AsyncIterator[T]] = [stream.__aiter__() for stream in streams]
    pending: dict[asyncio.Task[T], AsyncIterator[T]] = {}
    loop = asyncio.get_running_loop()

    def read(iterator: AsyncIterator[T]) -> None:
        pending[loop.create_task(_next(iterator))] = iterator

    try:
        for iterator in iterators:
            read(iterator)
        while pending:
            done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            # Deliver in the order the sources were given when several finished together.
            for task in sorted(done, key=lambda t: iterators.index(pending[t])):
                iterator = pending.pop(task)
                try:
                    item = task.result()
                except StopAsyncIteration:
                    continue
                yield item
                read(iterator)
    finally:
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                await task
        for iterator in iterators:
            aclose: Any = getattr(iterator, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()


async def _next(iterator: AsyncIterator[T]) -> T:
    return await iterator.__anext__()
