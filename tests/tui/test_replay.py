"""Record a live call with ``--record``, replay it with ``--replay``: the same final state."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from line.recording import load_recording
from line_tui.app import DebuggerOptions, LineDebugger
from line_tui.demo_states import STATES, make_app
from line_tui.model import DebuggerState
from line_tui.widgets.conversation_panel import ConversationPanel
from line_tui.widgets.error_screen import ErrorScreen

from .helpers import SIZE


def summary(state: DebuggerState) -> object:
    return (
        [(t.role, t.text, t.cut, t.interrupted, t.failed) for t in state.conversation.turns],
        {name: [(s.items_in, s.items_out, s.filtered, s.errors) for s in route.stages]
         for name, route in state.routes.routes.items()},
        [(c.route, c.trigger, c.stage_name, c.delivered, c.cut, c.handler_ok) for c in state.interruptions.cards],
        [(e.event_type, e.payload) for e in state.log.entries],
    )


async def test_replay_shows_the_same_final_state(tmp_path: Path) -> None:
    path = tmp_path / "call.jsonl"
    live = make_app(stall_after=11)
    live.options.record_path = str(path)
    async with live.run_test(size=SIZE) as pilot:
        await STATES["barge-in"].drive(pilot)
        live_state = summary(live.state)
        await live.end_call()  # closes the recorder, as quitting does

    recording = load_recording(path)
    assert recording.errors == []
    replay = LineDebugger(DebuggerOptions(replay_records=recording.records))
    async with replay.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert replay.session is None, "a replay runs no agent"
        assert summary(replay.state) == live_state
        assert "interrupted" in str(replay.query_one(ConversationPanel).content.plain)
        await pilot.press(*"hello", "enter")  # read-only: typing does nothing
        await pilot.pause()
        assert summary(replay.state) == live_state


async def test_replay_of_a_damaged_file_shows_what_could_not_be_read(tmp_path: Path) -> None:
    path = tmp_path / "call.jsonl"
    live = make_app()
    live.options.record_path = str(path)
    async with live.run_test(size=SIZE) as pilot:
        await STATES["one-turn"].drive(pilot)
        await live.end_call()
    lines = path.read_text().splitlines()
    damaged = [*lines[:5], "{not json", *lines[5:-1], lines[-1][: len(lines[-1]) // 2]]
    path.write_text("\n".join(damaged))

    recording = load_recording(path)
    assert len(recording.records) >= len(lines) - 2
    app = LineDebugger(DebuggerOptions(replay_records=recording.records,
                                       replay_errors=[str(e) for e in recording.errors]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        shown = str(app.screen.query_one("#error-details", Static).content.plain)
        assert "line 6" in shown and f"line {len(damaged)}" in shown, "both bad lines are named"
