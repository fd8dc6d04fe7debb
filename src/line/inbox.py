"""A bounded FIFO between the bus and one route, which an interrupt can purge.

``asyncio.Queue`` cannot remove queued items; an interrupt must, so that chunks of the
interrupted run that are still waiting never reach the consumer. This is that queue, with
the same backpressure (``put`` waits while full) and FIFO fairness for waiting putters.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Inbox(Generic[T]):
    __slots__ = ("_getters", "_items", "_maxsize", "_putters")

    def __init__(self, maxsize: int) -> None:
        if maxsize < 1:
            raise ValueError(f"queue size must be at least 1, got {maxsize}")
        self._maxsize = maxsize
        self._items: deque[T] = deque()
        self._getters: deque[asyncio.Future[None]] = deque()
        self._putters: deque[asyncio.Future[None]] = deque()

    def __len__(self) -> int:
        return len(self._items)

    @property
    def maxsize(self) -> int:
        return self._maxsize

    def full(self) -> bool:
        return len(self._items) >= self._maxsize

    def put_nowait(self, item: T) -> None:
        """Append regardless of the bound; for control messages that must never wait."""
        self._items.append(item)
        self._wake(self._getters)

    async def put(self, item: T) -> bool:
        """Append, waiting while full. Returns True if it had to wait (backpressure)."""
        waited = False
        while len(self._items) >= self._maxsize:
            waited = True
            future = asyncio.get_running_loop().create_future()
            self._putters.append(future)
            try:
                await future
            except BaseException:
                future.cancel()
                if future in self._putters:
                    self._putters.remove(future)
                elif len(self._items) < self._maxsize:
                    self._wake(self._putters)  # pass the slot we were given to the next putter
                raise
        self._items.append(item)
        self._wake(self._getters)
        return waited

    def get_nowait(self) -> T:
        """Take the oldest item; the inbox must not be empty (check ``len`` first)."""
        item = self._items.popleft()
        if self._putters:
            self._wake(self._putters)
        return item

    async def get(self) -> T:
        items = self._items
        while not items:
            future = asyncio.get_running_loop().create_future()
            self._getters.append(future)
            try:
                await future
            except BaseException:
                future.cancel()
                if future in self._getters:
                    self._getters.remove(future)
                elif items:
                    self._wake(self._getters)
                raise
        return self.get_nowait()

    def purge(self, predicate: Callable[[T], bool]) -> list[T]:
        """Remove and return every queued item matching ``predicate`` (order kept)."""
        removed = [item for item in self._items if predicate(item)]
        if removed:
            kept = [item for item in self._items if not predicate(item)]
            self._items.clear()
            self._items.extend(kept)
            for _ in removed:
                if not self._putters:
                    break
                self._wake(self._putters)
        return removed

    def clear(self) -> list[T]:
        items = list(self._items)
        self._items.clear()
        return items

    @staticmethod
    def _wake(waiters: deque[asyncio.Future[None]]) -> None:
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
