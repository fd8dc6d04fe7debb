"""The debugger under a heavy stream: bounded rendering, a cheap fold, paced frames (figure 5)."""

from __future__ import annotations

import gc
import random

from rich.text import Text

from line.growing_text import BLOCK, GrowingText
from line.llm import ScriptRule
from line.trace import TraceKind, TraceRecord
from line_tui.heap import FrozenHeap
from line_tui.model.conversation import Turn
from line_tui.model.event_log import EventLogModel
from line_tui.model.numbering import KEPT, Numbering
from line_tui.model.routes import RoutesModel, StageState
from line_tui.pacing import FramePacer
from line_tui.widgets.conversation_panel import TURN_TAIL_CHARS, ConversationPanel
from line_tui.widgets.interruptions_panel import InterruptionsPanel

from .helpers import SIZE, agent_turns, idle, make_app, settle


def test_growing_text_appends_and_reads_its_tail_without_joining() -> None:
    text = GrowingText("ab")
    pieces = [f"{i:05d} " for i in range(BLOCK * 3 + 7)]
    for piece in pieces:
        text.append(piece)
    text.append("")
    whole = "ab" + "".join(pieces)
    assert len(text) == len(whole)
    for chars in (0, 1, 5, 6, BLOCK * 6 + 3, len(whole) - 1, len(whole), len(whole) + 10):
        assert text.tail(chars) == whole[len(whole) - min(chars, len(whole)):], chars
    assert text.value == whole
    text.append("end")
    assert text.value == whole + "end" and text.tail(4) == " end"
    text.extend(pieces)  # a batch at once, as the router settles heard chunks
    assert text.value == whole + "end" + "".join(pieces) and len(text) == len(text.value)


def test_a_turn_reads_like_the_text_it_heard() -> None:
    turn = Turn("agent", run_id=3)
    turn.heard.append("Hello ")
    turn.heard.append("there.")
    turn.unheard.append(" Bye.")
    assert (turn.text, turn.cut) == ("Hello there.", " Bye.")
    assert turn == Turn("agent", "Hello there.", " Bye.", run_id=3)
    assert turn != Turn("agent", "Hello there.", run_id=3)


async def test_a_long_turn_shows_its_end_and_how_much_came_before() -> None:
    """A reply longer than the panel shows is shown by its last characters after a marker
    saying how many came before; the model keeps all of it; markup still renders literally."""
    reply = " ".join(f"word{i}" for i in range(1, 1200)) + " the [bold]end[/]."
    app = make_app(rules=[ScriptRule(match=".*", reply=reply)])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press(*"talk", "enter")
        await settle(pilot, lambda: idle(app) and bool(agent_turns(app)) and agent_turns(app)[-1].finished,
                     "the reply finished")
        heard = agent_turns(app)[-1].text
        assert len(heard) > TURN_TAIL_CHARS
        shown = app.query_one(ConversationPanel).content.plain  # type: ignore[union-attr]
        earlier = len(heard) - TURN_TAIL_CHARS
        assert f"agent … {earlier:,} earlier characters … {heard[earlier:]}" in shown
        assert shown.count("word") < TURN_TAIL_CHARS // 5
        assert "the [bold]end[/]." in shown


def _reference_states(states: list[StageState], kind: TraceKind, stage: int | None) -> None:
    """How each record changes the stage states, recomputed over every stage (the spec)."""
    if kind is TraceKind.STAGE_IN and stage is not None:
        for index, state in enumerate(states):
            if index == stage:
                states[index] = StageState.RUNNING
            elif index < stage:
                states[index] = StageState.AWAITING
            elif state is StageState.RUNNING:
                states[index] = StageState.IDLE
    elif kind is TraceKind.RUN_FINISHED:
        for index, state in enumerate(states):
            if state not in (StageState.CANCELLED, StageState.FAILED):
                states[index] = StageState.IDLE
    elif kind is TraceKind.INTERRUPT_LANDED:
        states[:] = [StageState.IDLE] * len(states)
        if stage is not None:
            states[stage] = StageState.CANCELLED
    elif kind is TraceKind.ERROR and stage is not None:
        states[stage] = StageState.FAILED


def test_stage_states_follow_items_down_the_route_like_a_full_recomputation() -> None:
    """The routes model only touches the stages between two focuses; any mix of records must
    leave the same states as recomputing every stage."""
    rng = random.Random(5)
    model = RoutesModel()
    stages = [f"stream:s{i}" for i in range(5)]
    model.feed(TraceRecord(TraceKind.ROUTE_DEFINED, 0, route="r", data={"stages": stages, "bridge": "b"}))
    expected = [StageState.IDLE] * len(stages)
    kinds = [TraceKind.STAGE_IN] * 12 + [TraceKind.STAGE_OUT, TraceKind.RUN_FINISHED, TraceKind.INTERRUPT_LANDED,
                                         TraceKind.ERROR, TraceKind.RUN_STARTED]
    for step in range(5000):
        kind = rng.choice(kinds)
        stage = rng.choice([None, *range(len(stages))]) if kind is not TraceKind.STAGE_IN else rng.randrange(5)
        model.feed(TraceRecord(kind, step, route="r", run_id=1, stage=stage))
        _reference_states(expected, kind, stage)
        assert [view.state for view in model.routes["r"].stages] == expected, step


def test_numbers_stay_stable_for_recent_ids_and_memory_stays_bounded() -> None:
    ids = Numbering()
    for message_id in range(1000, 1000 + 3 * KEPT):
        ids.note_message(message_id)
    newest = 1000 + 3 * KEPT - 1
    assert ids.message(newest) == f"#{3 * KEPT}"
    assert ids.message(newest - KEPT + 1) == f"#{2 * KEPT + 1}", "the latest KEPT ids keep their numbers"
    assert ids.message(1000) == f"#{3 * KEPT + 1}", "an id long forgotten is numbered anew"
    assert (ids.message(None), ids.run(None)) == ("-", "-")
    ids.note_run(7)
    assert ids.run(7) == "r1" and ids.run(8) == "r2"


def test_the_log_reads_only_the_entries_it_shows() -> None:
    log = EventLogModel()
    for message_id in range(1, 301):
        event_type = "AgentResponse" if message_id % 3 else "ToolCall"
        log.publish(TraceRecord(TraceKind.BUS_PUBLISH, message_id, message_id=message_id,
                                data={"event_type": event_type, "source": "s", "event": None}))
    for filter_type in (None, "AgentResponse", "ToolCall"):
        log.filter_type = filter_type
        assert log.visible(last=40) == log.visible()[-40:]
    assert log.visible(last=1000) == log.visible()


async def test_a_panel_whose_text_did_not_change_is_not_updated() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        panel = app.query_one(InterruptionsPanel)
        shown = panel.content
        assert isinstance(shown, Text)
        assert panel.show_text(shown.copy()) is False, "an equal text is not shown again"
        assert panel.show_text(Text("changed")) is True
        assert panel.content.plain == "changed"  # type: ignore[union-attr]


def test_frames_are_spaced_by_what_they_cost() -> None:
    pacer = FramePacer(max_hz=30, share=0.25)
    assert pacer.due(0.0)
    pacer.drawn(started=1.0, cost=0.004)  # cheap: the full 30 frames a second
    assert not pacer.due(1.0 + 1 / 30 - 1e-6) and pacer.due(1.0 + 1 / 30)
    pacer.drawn(started=2.0, cost=0.025)  # costly: drawing keeps to a quarter of the time
    assert pacer.interval == 0.1
    assert not pacer.due(2.099) and pacer.due(2.1)


def test_the_heap_is_frozen_while_an_app_holds_it_and_unfrozen_after_the_last() -> None:
    heap = FrozenHeap()
    assert gc.get_freeze_count() == 0
    heap.hold()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    heap.hold()
    heap.release()
    assert gc.get_freeze_count() == frozen, "another holder still needs it"
    heap.release()
    heap.release()  # one release too many is harmless
    assert gc.get_freeze_count() == 0


async def test_the_app_freezes_its_long_lived_heap_only_while_it_runs() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
