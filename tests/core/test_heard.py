"""What a run remembers as heard stays exact after a barge-in, in bounded memory however long
the reply: only chunks that may still be cut are kept one by one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from line import Bridge, Bus, Message
from line.events import AgentResponse, UserStartedSpeaking, UserStoppedSpeaking
from line.heard import SETTLE_EVERY
from line.routes import RouteRun
from line.run_context import current_run_context

from .helpers import Consumer

CHUNKS = 5_000


def reply(runs: list[RouteRun], most_kept: list[int]) -> object:
    """A stage yielding CHUNKS numbered words; it records its run and how many chunks the run
    kept one by one at most."""

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        context = current_run_context()
        assert context is not None
        run: RouteRun = context.run
        runs.append(run)
        for i in range(CHUNKS):
            if run.heard is not None:
                most_kept[0] = max(most_kept[0], run.heard.pending)
            yield AgentResponse(content=f"{i} ")
            if i % 7 == 0:
                await asyncio.sleep(0)  # let the consumer take some

    return generate


async def test_a_long_reply_cut_by_a_barge_in_keeps_exactly_what_was_heard_in_bounded_memory() -> None:
    bus = Bus(max_queue_size=16)
    runs: list[RouteRun] = []
    most_kept = [0]

    def barge_in_at_3000(_: Message) -> None:
        if len(consumer.received) == 3_000:
            asyncio.get_running_loop().create_task(bus.publish(UserStartedSpeaking(), source="user"))

    consumer = Consumer(bus, on_receive=barge_in_at_3000)
    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).interrupt_on(UserStartedSpeaking).stream(reply(runs, most_kept)).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await bus.wait_idle()
    await bus.cleanup()

    (run,) = runs
    assert run.interrupted
    heard = "".join(consumer.texts)
    assert 3_000 <= len(consumer.texts) < CHUNKS
    assert run.heard_text == heard, "exactly what reached the consumer"
    assert len(run.heard or []) == len(consumer.texts)
    assert run.cut == run.chunks_out - len(consumer.texts)
    assert most_kept[0] <= SETTLE_EVERY, f"kept {most_kept[0]} chunks one by one, not O(reply)"


async def test_a_reply_nobody_consumes_is_heard_whole_in_bounded_memory() -> None:
    bus = Bus()
    runs: list[RouteRun] = []
    most_kept = [0]
    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).stream(reply(runs, most_kept)).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await bus.wait_idle()
    await bus.cleanup()

    (run,) = runs
    assert run.heard_text == "".join(f"{i} " for i in range(CHUNKS))
    assert most_kept[0] <= SETTLE_EVERY
