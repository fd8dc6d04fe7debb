"""Pinned screens (pytest-textual-snapshot): scripted LLM, fixed size and theme, timings hidden."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot

from .helpers import SIZE, agent_turns, idle, make_app, settle


def test_after_one_turn(snap_compare: Any) -> None:
    app = make_app()

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press(*"hello", "enter")
        await settle(pilot, lambda: idle(app) and bool(agent_turns(app)) and agent_turns(app)[-1].finished, "reply")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_after_a_barge_in(snap_compare: Any) -> None:
    app = make_app(stall_after=11)

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press(*"tell me a story", "enter")
        llm = app.session.llm  # type: ignore[union-attr]
        await settle(pilot, lambda: bool(llm.streams) and llm.streams[-1].chunks_delivered == 11, "LLM stalled")
        await pilot.press("x")
        await settle(pilot, lambda: idle(app) and app.state.interruptions.total == 1, "interrupt handled")

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare: Any) -> None:
    app = make_app()

    async def run_before(pilot: Pilot[None]) -> None:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press("f1")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
