"""Own agents in the debugger: build errors in a scrollable panel, EndCall, a new call with F9."""

from __future__ import annotations

import textwrap
from pathlib import Path

from line.llm import ScriptedLLM
from line_tui.app import DebuggerOptions, LineDebugger
from line_tui.widgets.conversation_panel import ConversationPanel
from line_tui.widgets.error_screen import ErrorScreen

from .helpers import SIZE, settle

COUNTER = """
from line import Bridge, ReasoningNode, VoiceAgentApp
from line.events import AgentResponse, UserStoppedSpeaking
from line.tools.system_tools import EndCallArgs, end_call


class Counter(ReasoningNode):
    turns = 0

    async def process_context(self, context):
        self.turns += 1
        if self.turns >= 2:
            async for item in end_call(EndCallArgs(goodbye_message="Bye!")):
                yield item
            return
        yield AgentResponse(content=f"turn {self.turns}")


async def handle_new_call(system, call_request):
    node = Counter()
    bridge = Bridge(node)
    bridge.on(UserStoppedSpeaking).stream(node.generate).broadcast()
    system.with_speaking_node(node, bridge)
    await system.start()
    await system.send_initial_message("Hello from the counter.")
    await system.wait_for_shutdown()


app = VoiceAgentApp(handle_new_call)
"""

BROKEN = """
async def handle_new_call(system, call_request):
    raise RuntimeError("cannot reach the CRM")
"""


def app_for(path: Path) -> LineDebugger:
    app = LineDebugger(DebuggerOptions(target=str(path), llm_factory=ScriptedLLM))
    app.theme = "textual-dark"
    return app


async def test_end_call_shows_call_ended_and_f9_starts_a_new_call(tmp_path: Path) -> None:
    agent = tmp_path / "counter_agent.py"
    agent.write_text(textwrap.dedent(COUNTER))
    app = app_for(agent)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.session is not None and app.session.system.bus.idle
                     and bool(app.state.conversation.turns), "greeting")
        assert app.state.conversation.turns[0].text == "Hello from the counter."
        await pilot.press("a", "enter")
        await pilot.press("b", "enter")
        await settle(pilot, lambda: app.state.call_ended, "call ended")
        assert "call ended" in app.query_one(ConversationPanel).content.plain
        first_session = app.session
        await pilot.press("f9")
        await settle(pilot, lambda: app.session is not first_session and app.session is not None
                     and bool(app.state.conversation.turns), "a new call greets again")
        assert not app.state.call_ended
        assert [t.text for t in app.state.conversation.turns] == ["Hello from the counter."]


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
