"""Pinned screens (pytest-textual-snapshot) of every state in ``line_tui.demo_states``: scripted
LLM without delays, fixed size (each state's) and theme, timings hidden. ``make screenshots`` draws the same."""

from __future__ import annotations

from typing import Any

import pytest

from line_tui.demo_states import STATES


@pytest.mark.parametrize("name", list(STATES))
def test_screen(name: str, snap_compare: Any) -> None:
    state = STATES[name]
    assert snap_compare(state.build(), terminal_size=state.size, run_before=state.drive)
