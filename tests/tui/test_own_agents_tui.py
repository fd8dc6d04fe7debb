"""Own agent modules (tests/agents/*.py, Line 0.1.x style) in the debugger, driven by keys (Pilot).

You should see each reply in the conversation panel, "interrupted" after a barge-in, a clear
"call ended" after EndCall with F9 starting a fresh call, and load errors in a scrollable panel
that leave the app usable (fix the file, press F9). tests/tui/test_agent_lifecycle.py and
tests/tui/test_cli.py cover a build error in handle_new_call, a missing file and a syntax error
on the command line; these tests don't repeat them.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.containers import VerticalScroll

from line.llm import ScriptedLLM, ScriptRule
from line_tui.app import DebuggerOptions, LineDebugger
from line_tui.widgets.conversation_panel import ConversationPanel
from line_tui.widgets.error_screen import ErrorScreen
from line_tui.widgets.event_log_panel import EventLogPanel
from line_tui.widgets.interruptions_panel import InterruptionsPanel
from line_tui.widgets.scenario_picker import ScenarioPicker

from .helpers import SIZE, settle
from .terminal import Terminal, needs_tmux

AGENTS = Path(__file__).parents[1] / "agents"


def app_for(target: Path | str, llm: Callable[[], ScriptedLLM] = ScriptedLLM) -> LineDebugger:
    app = LineDebugger(DebuggerOptions(target=str(target), llm_factory=llm))
    app.theme = "textual-dark"
    return app


def plain(widget: Any) -> str:
    return str(widget.content.plain)


def conversation(app: LineDebugger) -> str:
    return plain(app.screen_stack[0].query_one(ConversationPanel))


def agent_texts(app: LineDebugger) -> list[str]:
    return [turn.text for turn in app.state.conversation.turns if turn.role == "agent"]


def replied(app: LineDebugger, count: int) -> bool:
    """``count`` agent turns, the last one finished, and nothing left in flight."""
    turns = [turn for turn in app.state.conversation.turns if turn.role == "agent"]
    session = app.session
    return (session is not None and session.system.bus.idle and len(turns) == count
            and turns[-1].finished)


def greeted(app: LineDebugger) -> bool:
    session = app.session
    return (session is not None and session.system.started and session.system.bus.idle
            and bool(app.state.conversation.turns))


async def test_echo_reply_appears_in_the_conversation_panel() -> None:
    app = app_for(AGENTS / "echo_agent.py")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: greeted(app), "the echo agent greets")
        assert app.sub_title.startswith("echo_agent — Echo: repeats what you said")
        await pilot.press(*"hi there", "enter")
        await settle(pilot, lambda: replied(app, 2), "the echo finished")
        assert agent_texts(app) == ["Echo here. Say something.", "You said: hi there."]
        text = conversation(app)
        assert "you  hi there" in text and "agent You said: hi there." in text
        assert "interrupted" not in text
        published = app.state.log.types
        assert published["AgentResponse"] == 1 + 3, "the greeting, then the echo in three chunks"


async def test_a_tool_turn_shows_the_tool_call_its_result_and_the_answer() -> None:
    rules = [ScriptRule(match="weather", tool_calls=[{"name": "get_weather", "arguments": {"city": "Oslo"}}],
                        after_tool="Oslo: {result}.")]
    app = app_for(AGENTS / "tool_agent.py", lambda: ScriptedLLM(rules=rules))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.session is not None and app.session.system.started, "agent started")
        await pilot.press(*"weather in oslo", "enter")
        await settle(pilot, lambda: replied(app, 1), "the answer from the tool result")
        assert agent_texts(app) == ["Oslo: snow, minus 4 degrees."]
        assert "agent Oslo: snow, minus 4 degrees." in conversation(app)
        assert app.state.log.types["ToolCall"] == 1 and app.state.log.types["ToolResult"] == 1
        log = plain(app.query_one(EventLogPanel))
        assert "ToolCall" in log and "ToolResult" in log
        bridges = {route.bridge for route in app.state.routes.routes.values()}
        assert {"AssistantNode", "weather_tool"} <= bridges, "both nodes' routes are shown"


async def test_typing_over_the_tool_agents_answer_shows_interrupted() -> None:
    long_reply = "Let me look that up for you, it may take a little while, please hold on."
    rules = [ScriptRule(match="weather", tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
                        after_tool=long_reply, stall_after=4),
             ScriptRule(match=".*", reply="Okay.")]
    app = app_for(AGENTS / "tool_agent.py", lambda: ScriptedLLM(rules=rules))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.session is not None and app.session.system.started, "agent started")
        await pilot.press(*"weather please", "enter")
        llm = app.session.llm  # type: ignore[union-attr]
        await settle(pilot, lambda: len(llm.streams) == 2 and llm.streams[-1].chunks_delivered == 4
                     and agent_texts(app) == ["Let me look that "], "four chunks heard, then the LLM stalls")
        await pilot.press("n")  # the first keystroke while the agent talks is a barge-in
        await settle(pilot, lambda: app.session.system.bus.idle and app.state.interruptions.total == 1  # type: ignore[union-attr]
                     and app.state.conversation.turns[-1].finished, "interrupt handled")
        turn = [t for t in app.state.conversation.turns if t.role == "agent"][-1]
        assert turn.interrupted and turn.text == "Let me look that "
        assert llm.streams[-1].cancelled
        assert "agent Let me look that   ⟂ interrupted" in conversation(app)
        assert "interrupted" in plain(app.query_one(InterruptionsPanel))
        await pilot.press(*"o never mind", "enter")
        await settle(pilot, lambda: replied(app, 2), "the next turn is answered")
        assert agent_texts(app)[-1] == "Okay."
        assert app.session.system.user.heard == "Let me look that Okay."  # type: ignore[union-attr]


async def test_counter_end_call_stops_the_caller_and_f9_starts_counting_again() -> None:
    app = app_for(AGENTS / "counter_agent.py")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: greeted(app), "the counter greets")
        for turn in (1, 2):
            await pilot.press("x", "enter")
            await settle(pilot, lambda turn=turn: replied(app, 1 + turn), f"reply to turn {turn}")  # type: ignore[misc]
        assert agent_texts(app)[1:] == ["That was turn 1. 2 to go.", "That was turn 2. 1 to go."]
        assert not app.state.call_ended and "call ended" not in conversation(app)
        await pilot.press("x", "enter")
        first = app.session
        assert first is not None
        await settle(pilot, lambda: app.state.call_ended and first.finished.is_set() and first.system.bus.idle,
                     "call ended and handle_new_call returned")
        assert agent_texts(app)[-1] == "That was turn 3 of 3. Goodbye!"
        assert "── call ended ── press F9 for a new call" in conversation(app)
        assert first.error is None

        started = app.state.log.types["UserStartedSpeaking"]
        await pilot.press(*"hello?", "enter")  # the line is dead: typing is not speaking any more
        await settle(pilot, lambda: first.system.bus.idle, "keys handled")
        assert app.state.log.types["UserStartedSpeaking"] == started
        assert app.state.log.types["UserTranscriptionReceived"] == 3

        await pilot.press("f9")
        await settle(pilot, lambda: app.session is not first and greeted(app), "a new call greets")
        assert not app.state.call_ended and "call ended" not in conversation(app)
        heard = list(first.system.user.received)
        await first.system.user.say("still there?")  # the old call was cleaned up: its bus takes nothing
        assert first.system.bus.idle and first.system.user.received == heard
        await pilot.press("x", "enter")
        await settle(pilot, lambda: replied(app, 2), "the new call's first turn")
        assert agent_texts(app) == ["Counter here. Talk to me.", "That was turn 1. 2 to go."], \
            "a new call builds a new agent: the count starts again"


LONG_IMPORT_FAILURE = """
    REQUIRED = [f"VOICE_SETTING_{number}" for number in range(80)]


    def load_settings(environ):
        missing = [name for name in REQUIRED if name not in environ]
        if missing:
            raise LookupError("missing settings:\\n" + "\\n".join(missing))
        return environ


    SETTINGS = load_settings({})
"""

FIXED = """
    from line import Bridge, ReasoningNode, VoiceAgentApp
    from line.events import AgentResponse, UserStoppedSpeaking


    class Fixed(ReasoningNode):
        async def process_context(self, context):
            yield AgentResponse(content="fixed")


    async def handle_new_call(system, call_request):
        node = Fixed()
        bridge = Bridge(node)
        bridge.on(UserStoppedSpeaking).stream(node.generate).broadcast()
        system.with_speaking_node(node, bridge)
        await system.start()
        await system.send_initial_message("Fixed and running.")
        await system.wait_for_shutdown()


    app = VoiceAgentApp(handle_new_call)
"""


async def test_an_import_error_shows_a_scrollable_traceback_and_f9_reloads_the_fixed_file(tmp_path: Path) -> None:
    agent = tmp_path / "settings_agent.py"
    agent.write_text(textwrap.dedent(LONG_IMPORT_FAILURE))
    app = app_for(agent)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, ErrorScreen), "error panel")
        assert app.sub_title == "agent failed to load" and app.session is None
        details = plain(app.screen.query_one("#error-details"))
        assert details.startswith(f"LookupError while importing {agent}: missing settings:\nVOICE_SETTING_0\n")
        assert f'File "{agent}", line 8, in load_settings' in details
        scroller = app.screen.query_one(VerticalScroll)
        assert scroller.max_scroll_y > 0, "a long traceback scrolls"
        scroller.focus()
        await pilot.press("end")
        await settle(pilot, lambda: scroller.scroll_y == scroller.max_scroll_y, "scrolled to the end")
        assert "VOICE_SETTING_79" in details

        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, ErrorScreen), "panel closed")
        agent.write_text(textwrap.dedent(FIXED))
        await pilot.press("f9")  # the agent failed to load, so a new call loads the file again
        await settle(pilot, lambda: greeted(app), "the fixed agent runs")
        assert agent_texts(app) == ["Fixed and running."]
        await pilot.press("a", "enter")
        await settle(pilot, lambda: app.session is not None and app.session.system.bus.idle
                     and agent_texts(app) == ["Fixed and running.", "fixed"], "it answers")
        assert "agent fixed" in conversation(app)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (None, "agent file not found: {path}"),
        ("async def handle_call(system, call_request):\n    await system.start()\n",
         "no agent entry point in {path}: looked for app (a VoiceAgentApp) and handle_new_call(system, call_request)"),
    ],
    ids=["file not found", "no entry point"],
)
async def test_a_load_error_is_shown_and_a_scenario_can_still_be_picked(
        tmp_path: Path, source: str | None, expected: str) -> None:
    agent = tmp_path / "my_agent.py"
    if source is not None:
        agent.write_text(source)
    app = app_for(agent)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: isinstance(app.screen, ErrorScreen), "error panel")
        assert plain(app.screen.query_one("#error-details")).startswith(expected.format(path=agent))
        await pilot.press("escape")
        await settle(pilot, lambda: not isinstance(app.screen, ErrorScreen), "panel closed")
        await pilot.press("f5")
        await settle(pilot, lambda: isinstance(app.screen, ScenarioPicker), "scenario picker")
        picker = app.screen.query_one("OptionList")
        picker.highlighted = [option.id for option in picker.options].index("basic")  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot, lambda: app.session is not None and app.session.system.started
                     and app.session.system.bus.idle, "the basic scenario runs")
        await pilot.press("h", "i", "enter")
        await settle(pilot, lambda: replied(app, 1), "and answers")
        assert app.session.entry.name == "basic"  # type: ignore[union-attr]


LATE_FAILURE = """
    import asyncio

    from line import Bridge, ReasoningNode, VoiceAgentApp
    from line.events import AgentResponse, UserStoppedSpeaking


    class Quiet(ReasoningNode):
        async def process_context(self, context):
            yield AgentResponse(content="ok")


    async def handle_new_call(system, call_request):
        node = Quiet()
        bridge = Bridge(node)
        first_turn = asyncio.Event()
        bridge.on(UserStoppedSpeaking).map(lambda message: first_turn.set())
        bridge.on(UserStoppedSpeaking).stream(node.generate).broadcast()
        system.with_speaking_node(node, bridge)
        await system.start()
        await first_turn.wait()  # mid-call, e.g. a CRM lookup after the caller's first words
        raise ConnectionError("CRM unreachable")


    app = VoiceAgentApp(handle_new_call)
"""


async def test_an_exception_after_system_start_is_shown_too(tmp_path: Path) -> None:
    agent = tmp_path / "late_agent.py"
    agent.write_text(textwrap.dedent(LATE_FAILURE))
    app = app_for(agent)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: app.session is not None and app.session.system.started, "agent started")
        await pilot.press("h", "i", "enter")
        await settle(pilot, lambda: app.session is not None and app.session.finished.is_set(), "handler failed")
        assert app.session.error == "ConnectionError in late_agent.handle_new_call: CRM unreachable"  # type: ignore[union-attr]
        await settle(pilot, lambda: isinstance(app.screen, ErrorScreen), "the failure is shown", turns=50)
        details = plain(app.screen.query_one("#error-details"))
        assert 'raise ConnectionError("CRM unreachable")' in details


async def test_a_reply_from_a_route_without_interrupt_on_is_marked_finished(tmp_path: Path) -> None:
    agent = tmp_path / "plain_agent.py"
    agent.write_text(textwrap.dedent(FIXED))
    app = app_for(agent)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: greeted(app), "greeting")
        await pilot.press("a", "enter")
        await settle(pilot, lambda: app.session is not None and app.session.system.bus.idle
                     and agent_texts(app) == ["Fixed and running.", "fixed"], "the reply")
        await settle(pilot, lambda: replied(app, 2), "the reply's turn is finished", turns=50)
        assert "agent fixed ▌" not in conversation(app)


# -- `python agent.py` in a real terminal -------------------------------------------------------


@needs_tmux
def test_python_echo_agent_py_opens_the_debugger_on_it() -> None:
    terminal = Terminal()
    command = f"{sys.executable} {AGENTS / 'echo_agent.py'} --tokens-per-second 0 --time-to-first-token 0"
    try:
        terminal.start(command)
        terminal.wait_for("agent Echo here. Say something.")
        terminal.type("over the phone")
        terminal.press("Enter")
        screen = terminal.wait_for("agent You said: over the phone.")
        assert "you  over the phone" in screen
        terminal.press("C-q")
        terminal.wait_for("EXITED 0")
    finally:
        terminal.close()
