"""Keep the objects that live as long as the app out of the garbage collector's full passes.

A full (generation 2) collection visits every tracked object. After start-up that is ~70,000
objects that never die (modules, classes, Textual's DOM and styles), and visiting them made
each full pass ~50 ms: at 10,000 chunks/s there are two or three such passes a second, each
a visible stall. ``gc.freeze()`` moves the objects alive at mount to a permanent generation
that collections skip (pauses drop to ~15 ms); objects made later are collected as usual.
Garbage is collected first so none is frozen, and the heap is unfrozen when the last app
unmounts (tests run many apps in one process).
"""

from __future__ import annotations

import gc


class FrozenHeap:
    """Reference-counted ``gc.freeze()``/``gc.unfreeze()`` around the apps' lifetimes."""

    def __init__(self) -> None:
        self.holders = 0

    def hold(self) -> None:
        if self.holders == 0:
            gc.collect()
            gc.freeze()
        self.holders += 1

    def release(self) -> None:
        if self.holders == 0:
            return
        self.holders -= 1
        if self.holders == 0:
            gc.unfreeze()


FROZEN_HEAP = FrozenHeap()
