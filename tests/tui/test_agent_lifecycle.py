"""An agent that fails while building its call: the traceback in a scrollable panel, the app usable.

EndCall and new calls are covered with the own-agent modules in test_own_agents_tui.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

from line.llm import ScriptedLLM
from line_tui.app import DebuggerOptions, LineDebugger
from line_tui.widgets.error_screen import ErrorScreen

from .helpers import SIZE, settle

BROKEN = """
async def handle_new_call(system, call_request):
    raise RuntimeError("cannot reach the CRM")
"""


def app_for(path: Path) -> LineDebugger:
    app = LineDebugger(DebuggerOptions(target=str(path), llm_factory=ScriptedLLM))
    app.theme = "textual-dark"
    return app


async def test_an_agent_that_fails_to_build_shows_its_traceback_and_the_app_stays_usable(tmp_path: Path) -> None:
    agent = tmp_path / "broken_agent.py"
    agent.write_text(textwrap.dedent(BROKEN))
    app = app_for(agent)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, ErrorScreen), "error panel")
        details = app.screen.query_one("#error-details").content.plain
        assert "RuntimeError in broken_agent.handle_new_call: cannot reach the CRM" in details
        assert 'raise RuntimeError("cannot reach the CRM")' in details
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, ErrorScreen), "panel closed")
        await pilot.press("f1")
        await settle(pilot, lambda: type(app.screen).__name__ == "HelpScreen", "help still works")
