"""merge_streams loses and duplicates nothing and closes every source; the cache never keeps a
cut reply; validation reports what it filtered; limits stop and close the source."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from line.events import AgentGenerationComplete, AgentResponse
from line.streaming import (
    ChunkValidator,
    ResponseCache,
    cached_stream,
    limit_chunks,
    merge_streams,
    rate_limit,
    with_completion,
)


async def source(name: str, items: list[int], pauses: list[int], closed: list[str]) -> AsyncIterator[tuple[str, int]]:
    try:
        for index, item in enumerate(items):
            for _ in range(pauses[index % len(pauses)] if pauses else 0):
                await asyncio.sleep(0)  # scheduling noise: how long this source takes per item
            yield (name, item)
    finally:
        closed.append(name)


def merged(plan: list[tuple[list[int], list[int]]]) -> tuple[list[tuple[str, int]], list[str]]:
    async def main() -> tuple[list[tuple[str, int]], list[str]]:
        closed: list[str] = []
        streams = [source(f"s{i}", items, pauses, closed) for i, (items, pauses) in enumerate(plan)]
        async with contextlib.aclosing(merge_streams(*streams)) as stream:
            out = [item async for item in stream]
        assert asyncio.all_tasks() == {asyncio.current_task()}
        return out, closed

    return asyncio.run(main())


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(), max_size=15), st.lists(st.integers(0, 4), max_size=5)),
                min_size=1, max_size=5))
def test_merge_emits_exactly_the_inputs_keeping_each_source_order(plan: list[tuple[list[int], list[int]]]) -> None:
    out, closed = merged(plan)
    expected = Counter((f"s{i}", item) for i, (items, _) in enumerate(plan) for item in items)
    assert Counter(out) == expected
    for i, (items, _) in enumerate(plan):
        assert [item for name, item in out if name == f"s{i}"] == items
    assert sorted(closed) == sorted(f"s{i}" for i in range(len(plan)))


async def test_merge_error_propagates_and_closes_the_others() -> None:
    closed: list[str] = []

    async def broken() -> AsyncIterator[tuple[str, int]]:
        yield ("bad", 0)
        raise RuntimeError("source failed")

    never_ending = source("slow", list(range(1000)), [3], closed)
    with pytest.raises(RuntimeError, match="source failed"):
        async with contextlib.aclosing(merge_streams(broken(), never_ending)) as stream:
            async for _ in stream:
                pass
    assert closed == ["slow"]


async def test_consumer_break_closes_every_source() -> None:
    closed: list[str] = []
    streams = [source(f"s{i}", list(range(100)), [i], closed) for i in range(3)]
    async with contextlib.aclosing(merge_streams(*streams)) as stream:
        async for _ in stream:
            break
    assert sorted(closed) == ["s0", "s1", "s2"]


async def test_cancelling_the_consuming_task_closes_every_source() -> None:
    """The consumer neither breaks nor calls aclose: its task is cancelled while the merge waits
    for its sources (one finished, two stalled in an ``await``, one busy). Every source is closed
    and every read cancelled by the time that task has ended.

    (A task cancelled in the body of its ``async for`` leaves the merge suspended at ``yield``,
    like any async generator: only the loop's finalizer closes it then; ``contextlib.aclosing``
    closes it at once. The route closes a stage's stream itself.)"""
    closed: list[str] = []
    got: list[str] = []
    taken = asyncio.Event()

    async def stalls_after(name: str, items: int) -> AsyncIterator[str]:
        try:
            for i in range(items):
                yield f"{name}-{i}"
            await asyncio.Event().wait()
            yield "never"
        finally:
            closed.append(name)

    async def busy(name: str) -> AsyncIterator[str]:
        try:
            yield f"{name}-0"
            while True:  # noqa: ASYNC110 - never stalls: its read is always running
                await asyncio.sleep(0)
        finally:
            closed.append(name)

    async def finite(name: str) -> AsyncIterator[str]:
        try:
            yield f"{name}-0"
        finally:
            closed.append(name)

    async def consume() -> None:
        async for item in merge_streams(stalls_after("a", 1), stalls_after("b", 0), busy("c"), finite("d")):
            got.append(item)
            if len(got) == 3:
                taken.set()

    task = asyncio.get_running_loop().create_task(consume())
    async with asyncio.timeout(5):
        await taken.wait()
    task.cancel()
    await asyncio.wait({task}, timeout=5)  # the timeout only turns a hang into a failure
    assert task.cancelled(), "the consuming task did not end when cancelled"
    assert sorted(got) == ["a-0", "c-0", "d-0"]
    assert sorted(closed) == ["a", "b", "c", "d"]
    assert asyncio.all_tasks() == {asyncio.current_task()}  # no read of any source left running


async def test_cache_replays_complete_replies_and_never_stores_cut_ones() -> None:
    cache = ResponseCache(max_entries=2)
    messages = [{"role": "user", "content": "hi"}]
    produced = 0

    async def produce() -> AsyncIterator[str]:
        nonlocal produced
        produced += 1
        for chunk in ("a", "b", "c"):
            yield chunk

    async with contextlib.aclosing(cached_stream(cache, messages, produce)) as stream:
        async for _ in stream:
            break  # interrupted after one chunk
    assert len(cache) == 0
    assert [c async for c in cached_stream(cache, messages, produce)] == ["a", "b", "c"]
    assert [c async for c in cached_stream(cache, messages, produce)] == ["a", "b", "c"]
    assert produced == 2 and cache.hits == 1

    async def failing() -> AsyncIterator[str]:
        yield "x"
        raise ConnectionError("dropped")

    other = [{"role": "user", "content": "other"}]
    with pytest.raises(ConnectionError):
        async for _ in cached_stream(cache, other, failing):
            pass
    assert cache.get(other) is None
    for n in range(3):
        cache.put([{"role": "user", "content": str(n)}], ["x"])
    assert len(cache) == 2


async def test_validator_reports_filtered_chunks_and_completion_only_when_complete(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="line.streaming")
    validator = ChunkValidator(blocked_words=frozenset({"darn"}), max_chunk_chars=10)
    assert validator.check("fine ") == "fine "
    assert validator.check("   ") is None
    assert validator.check("oh darn") is None
    assert validator.check("x" * 11) is None
    assert [reason for reason, _ in validator.filtered] == ["empty", "blocked word 'darn'", "longer than 10 chars"]

    async def replies() -> AsyncIterator[AgentResponse]:
        yield AgentResponse(content="ab")
        yield AgentResponse(content="cde")

    assert caplog.record_tuples == [
        ("line.streaming", logging.WARNING, "validate filtered a chunk (empty): '   '"),
        ("line.streaming", logging.WARNING, "validate filtered a chunk (blocked word 'darn'): 'oh darn'"),
        ("line.streaming", logging.WARNING, "validate filtered a chunk (longer than 10 chars): 'xxxxxxxxxxx'"),
    ]  # one warning per filtered chunk, naming the validator, the reason and the text; none for "fine "
    named = ChunkValidator(name="speech-check")
    assert named.check("x" * 3000) is None
    assert caplog.records[-1].getMessage() == (
        f"speech-check filtered a chunk (longer than 2000 chars): {'x' * 200!r}")  # the text, cut to 200

    out = [item async for item in with_completion(replies())]
    assert out[-1] == AgentGenerationComplete(total_length=5, chunk_count=2)
    async with contextlib.aclosing(with_completion(replies())) as stream:
        first = [item async for item in _take(stream, 1)]
    assert not any(isinstance(item, AgentGenerationComplete) for item in first)


async def _take(stream: AsyncIterator[Any], n: int) -> AsyncIterator[Any]:
    for _ in range(n):
        yield await stream.__anext__()


async def test_limit_chunks_stops_and_closes_the_source() -> None:
    closed: list[str] = []
    out = [x async for x in limit_chunks(source("s", list(range(100)), [], closed), max_chunks=3)]
    assert [item for _, item in out] == [0, 1, 2] and closed == ["s"]


async def test_rate_limit_paces_with_an_injected_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    async def items() -> AsyncIterator[int]:
        for i in range(5):
            yield i

    out = [x async for x in rate_limit(items(), chunks_per_second=10, clock=lambda: now[0], sleep=fake_sleep)]
    assert out == [0, 1, 2, 3, 4]
    assert slept == pytest.approx([0.1, 0.1, 0.1, 0.1])
