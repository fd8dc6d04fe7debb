"""The pure state model (no Textual): trace records of a real call folded into view state."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from line.llm import ScriptedLLM, ScriptRule
from line.trace import TraceKind, TraceRecord
from line_tui.loader import load_agent
from line_tui.model import DebuggerState
from line_tui.model.event_log import MAX_ENTRIES
from line_tui.session import AgentSession

STORY = "Once upon a time, Dr. Lee found 3.5 coins. She kept them. Then a [bold]dragon[/] came by."


async def record_a_barge_in() -> tuple[list[TraceRecord], ScriptedLLM]:
    """A real call on the buffered scenario: one turn, interrupted after 11 chunks."""
    llm = ScriptedLLM(rules=[ScriptRule(match=".*", reply=STORY, stall_after=11)])
    session = AgentSession(load_agent("buffered"), llm)
    records: list[TraceRecord] = []
    await session.start(records.extend)
    try:
        bus = session.system.bus
        await session.typing_started()
        await session.submit("tell me a story")
        async with asyncio.timeout(5):
            while not (llm.streams and llm.streams[-1].chunks_delivered == 11):  # noqa: ASYNC110
                await asyncio.sleep(0)
        await session.typing_started()  # the barge-in
        await bus.wait_idle()
        session.system.tracer.flush()
    finally:
        await session.stop()
    return records, llm


@pytest.fixture
async def barge_in() -> tuple[list[TraceRecord], ScriptedLLM]:
    return await record_a_barge_in()


async def test_counters_equal_the_records(barge_in: tuple[list[TraceRecord], ScriptedLLM]) -> None:
    records, _ = barge_in
    state = DebuggerState()
    state.feed(records)
    counted = Counter((r.route, r.stage, r.kind) for r in records)
    for route in state.routes.routes.values():
        for stage in route.stages:
            assert stage.items_in == counted[(route.name, stage.index, TraceKind.STAGE_IN)]
            assert stage.items_out == counted[(route.name, stage.index, TraceKind.STAGE_OUT)]
            assert stage.filtered == counted[(route.name, stage.index, TraceKind.STAGE_FILTERED)]
    generate = state.routes.routes["TokenNode:UserStoppedSpeaking"].stages[0]
    assert (generate.items_in, generate.items_out) == (1, 11)


async def test_batching_does_not_change_the_result(barge_in: tuple[list[TraceRecord], ScriptedLLM]) -> None:
    records, _ = barge_in
    whole, piecewise = DebuggerState(), DebuggerState()
    whole.feed(records)
    for start in range(0, len(records), 7):
        piecewise.feed(records[start:start + 7])
    assert [(t.role, t.text, t.cut, t.interrupted) for t in whole.conversation.turns] == \
        [(t.role, t.text, t.cut, t.interrupted) for t in piecewise.conversation.turns]
    assert whole.interruptions.cards == piecewise.interruptions.cards
    assert whole.routes.routes == piecewise.routes.routes


async def test_barge_in_splits_delivered_and_cut(barge_in: tuple[list[TraceRecord], ScriptedLLM]) -> None:
    records, llm = barge_in
    state = DebuggerState()
    state.feed(records)
    agent = [t for t in state.conversation.turns if t.role == "agent"][-1]
    assert agent.interrupted and agent.finished
    assert agent.text == "Once upon a time, Dr. Lee found 3.5 coins. "
    assert agent.cut == "She kept ", "the sentence buffer's contents at the barge-in were never heard"
    card = state.interruptions.cards[-1]
    assert card.trigger == "UserStartedSpeaking" and card.stage_name == "TokenNode.generate"
    assert card.delivered == 1 and card.cut == 0 and card.handler_ok is True
    assert card.closed_ns is not None and card.handler_ns is not None and card.closed_ns <= card.handler_ns
    assert llm.streams[-1].cancelled
    buffer = next(iter(state.buffers.buffers.values()))
    assert buffer.contents == "", "the buffer was emptied when its generator closed"


async def test_event_log_keeps_lineage_and_stays_bounded(barge_in: tuple[list[TraceRecord], ScriptedLLM]) -> None:
    records, _ = barge_in
    state = DebuggerState()
    state.feed(records)
    chunk = next(e for e in state.log.entries if e.event_type == "AgentResponse")
    causes = [e.event_type for e in state.log.causes(chunk.message_id)]
    assert causes == ["UserStoppedSpeaking"], "the turn's end led to it (its words did not cause the end)"
    trigger = state.log.causes(chunk.message_id)[-1]
    assert chunk.message_id in [e.message_id for e in state.log.effects(trigger.message_id)]
    words = state.log.in_reply_to(chunk.message_id)
    assert words is not None and words.payload == "'tell me a story'", "it answers the turn's words"
    assert state.log.in_reply_to(trigger.message_id) is None, "the turn's own end answers nothing"

    publish = next(r for r in records if r.kind is TraceKind.BUS_PUBLISH)
    flood = [TraceRecord(TraceKind.BUS_PUBLISH, publish.t_ns + i, message_id=10_000 + i, data=publish.data)
             for i in range(MAX_ENTRIES * 3)]
    state.feed(flood)
    assert len(state.log.entries) == MAX_ENTRIES
    assert state.log.entries[-1].message_id == 10_000 + MAX_ENTRIES * 3 - 1
    assert not state.log.words, "a turn's words are forgotten with its entry"


def test_overflow_records_are_counted_not_hidden() -> None:
    state = DebuggerState()
    state.feed([TraceRecord(TraceKind.OBSERVER_OVERFLOW, 1, data={"dropped": 5, "total_dropped": 5}),
                TraceRecord(TraceKind.OBSERVER_OVERFLOW, 2, data={"dropped": 3, "total_dropped": 8})])
    assert state.records_dropped == 8


async def test_new_call_forgets_the_conversation_but_keeps_routes(
        barge_in: tuple[list[TraceRecord], ScriptedLLM]) -> None:
    records, _ = barge_in
    state = DebuggerState()
    state.feed(records)
    state.new_call()
    assert not state.conversation.turns and not state.interruptions.cards and not state.log.entries
    assert "TokenNode:UserStoppedSpeaking" in state.routes.routes
