"""Building the debugger app for tests: scripted LLM, fixed size, timings hidden."""

from __future__ import annotations

from collections.abc import Callable

from textual.pilot import Pilot

from line.llm import ScriptedLLM, ScriptRule
from line_tui.app import DebuggerOptions, LineDebugger
from line_tui.widgets.format import Timings

SIZE = (160, 48)

STORY = ("Once upon a time, Dr. Lee found 3.5 coins. She kept them. Then a [bold]dragon[/] came by "
         "and asked for one. She said no. The end.")


def make_app(target: str = "buffered", *, stall_after: int | None = None, reply: str = STORY,
             rules: list[ScriptRule] | None = None) -> LineDebugger:
    """The app on ``target`` with a zero-delay scripted LLM; ``stall_after`` makes replies stop mid-way."""
    Timings.visible = False  # durations differ on every run; snapshots must not

    def llm() -> ScriptedLLM:
        if rules is not None:
            return ScriptedLLM(rules=rules)
        return ScriptedLLM(rules=[ScriptRule(match=".*", reply=reply, stall_after=stall_after)])

    app = LineDebugger(DebuggerOptions(target=target, llm_factory=llm))
    app.theme = "textual-dark"
    return app


async def settle(pilot: Pilot[None], condition: Callable[[], bool], what: str, turns: int = 400) -> None:
    """Let the app run until ``condition()`` holds (checked after each idle point)."""
    for _ in range(turns):
        await pilot.pause()
        if condition():
            pilot.app.redraw(force=True)  # type: ignore[attr-defined]
            await pilot.pause()
            return
    raise AssertionError(f"the app never reached: {what}")


def agent_turns(app: LineDebugger) -> list[object]:
    return [turn for turn in app.state.conversation.turns if turn.role == "agent"]


def idle(app: LineDebugger) -> bool:
    session = app.session
    return session is not None and session.system.started and session.system.bus.idle
