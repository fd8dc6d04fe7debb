"""Shared test fixtures. Every async test is checked for leaked tasks and async generators."""

from __future__ import annotations

import asyncio
import gc
import inspect
from collections.abc import AsyncIterator

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Async tests get the leak check; sync tests that run their own loop check themselves."""
    for item in items:
        function = getattr(item, "function", None)
        if function is not None and inspect.iscoroutinefunction(function):
            item.add_marker(pytest.mark.usefixtures("no_leaks"))


@pytest.fixture
async def no_leaks() -> AsyncIterator[None]:
    """Fail a test that leaves tasks pending or async generators unclosed on its loop."""
    loop = asyncio.get_running_loop()
    before = set(asyncio.all_tasks(loop))
    yield
    current = asyncio.current_task()
    # Give finished tasks' done-callbacks one turn to run; this is not waiting on work.
    await asyncio.sleep(0)
    pending = [t for t in asyncio.all_tasks(loop) if t is not current and t not in before and not t.done()]
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.gather(*pending, return_exceptions=True)
    gc.collect()
    open_generators = [
        agen for agen in list(getattr(loop, "_asyncgens", ())) if agen.ag_frame is not None and not agen.ag_running
    ]
    assert not pending, f"test left tasks pending: {pending}"
    assert not open_generators, f"test left async generators unclosed: {open_generators}"
