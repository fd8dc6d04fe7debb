"""Deterministic states of the debugger, shared by the snapshot tests and ``make screenshots``.

Every state runs the app on a zero-delay scripted LLM, at a fixed size and theme, with
measured durations hidden, and drives it with keys until a *condition* holds (never a
sleep). A state where a reply must be caught mid-way uses a script that stalls after N chunks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from textual.pilot import Pilot

from line import Bridge, CallRequest, Message, VoiceAgentSystem
from line.events import AgentResponse, UserStartedSpeaking, UserStoppedSpeaking
from line.llm import ScriptedLLM, ScriptRule
from line.streaming import SentenceStage
from line_tui.app import DebuggerOptions, LineDebugger
from line_tui.loader import AgentEntry
from line_tui.scenarios.buffered import TokenNode
from line_tui.widgets.format import Timings

SIZE = (160, 48)
NARROW_SIZE = (100, 30)  # below 130 columns the app lays its panels out in two columns
THEME = "textual-dark"

#: Abbreviations, a decimal and rich markup: the buffer must not split at "Dr." or "3.5", and
#: the markup must render literally.
STORY = ("Once upon a time, Dr. Lee found 3.5 coins. She kept them. Then a [bold]dragon[/] came by "
         "and asked for one. She said no. The end.")

#: Chunks the LLM sends before it stalls in the mid-stream states: the buffer then holds "She kept ".
STALL_AFTER = 11


def make_app(target: str = "buffered", *, stall_after: int | None = None, reply: str = STORY,
             rules: list[ScriptRule] | None = None, entry: AgentEntry | None = None) -> LineDebugger:
    """The app on ``target`` (or ``entry``) with a zero-delay scripted LLM."""
    Timings.visible = False  # durations differ on every run; pinned screens must not

    def llm() -> ScriptedLLM:
        if rules is not None:
            return ScriptedLLM(rules=rules)
        return ScriptedLLM(rules=[ScriptRule(match=".*", reply=reply, stall_after=stall_after)])

    app = LineDebugger(DebuggerOptions(target=target, entry=entry, llm_factory=llm))
    app.theme = THEME
    return app


async def settle(pilot: Pilot[None], condition: Callable[[], bool], what: str, turns: int = 400) -> None:
    """Let the app run until ``condition()`` holds (checked after each idle point), then redraw."""
    for _ in range(turns):
        await pilot.pause()
        if condition():
            pilot.app.redraw(force=True)  # type: ignore[attr-defined]
            await pilot.pause()
            return
    raise AssertionError(f"the app never reached: {what}")


def agent_turns(app: LineDebugger) -> list[Any]:
    return [turn for turn in app.state.conversation.turns if turn.role == "agent"]


def idle(app: LineDebugger) -> bool:
    session = app.session
    return session is not None and session.system.started and session.system.bus.idle


def reply_finished(app: LineDebugger) -> bool:
    turns = agent_turns(app)
    return idle(app) and bool(turns) and turns[-1].finished


def llm_stalled(app: LineDebugger, chunks: int = STALL_AFTER) -> bool:
    """The LLM sent ``chunks`` and stalled, and the trace shows each went through the next stage."""
    streams = app.session.llm.streams if app.session is not None else []  # type: ignore[attr-defined]
    if not streams or streams[-1].chunks_delivered != chunks:
        return False
    return any(len(route.stages) > 1 and route.stages[0].items_out == chunks == route.stages[1].items_in
               for route in app.state.routes.routes.values())


# -- an agent whose last stage breaks, for the error state ---------------------------------


def fragile_speakable(message: Message) -> Any:
    """A user stage with a bug: it cannot handle a sentence that mentions a dragon."""
    event = message.event
    if isinstance(event, AgentResponse) and "dragon" in event.content:
        raise ValueError(f"cannot pronounce {event.content.split()[2]!r}")
    return event


async def fragile_agent(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    """Sentence-buffered replies through a last stage that raises on one sentence."""
    node = TokenNode(system.llm, "You are a storyteller.")
    bridge = Bridge(node)
    (
        bridge.on(UserStoppedSpeaking)
        .interrupt_on(UserStartedSpeaking, handler=node.on_interrupt_generate)
        .stream(node.generate)
        .stream(SentenceStage())
        .map(fragile_speakable)
        .broadcast()
    )
    system.with_speaking_node(node, bridge)
    await system.start()
    await system.wait_for_shutdown()


FRAGILE = AgentEntry("fragile", fragile_agent, origin=__name__, doc="a stage that raises on one sentence")


# -- the states ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoState:
    name: str
    build: Callable[[], LineDebugger]
    drive: Callable[[Pilot[None]], Awaitable[None]]
    size: tuple[int, int] = SIZE


def _app(pilot: Pilot[None]) -> LineDebugger:
    app = pilot.app
    assert isinstance(app, LineDebugger)
    return app


async def _started(pilot: Pilot[None]) -> None:
    app = _app(pilot)
    await settle(pilot, lambda: idle(app), "agent started")


async def _one_turn(pilot: Pilot[None]) -> None:
    app = _app(pilot)
    await _started(pilot)
    await pilot.press(*"hello", "enter")
    await settle(pilot, lambda: reply_finished(app), "the reply finished")


async def _mid_stream(pilot: Pilot[None]) -> None:
    app = _app(pilot)
    await _started(pilot)
    await pilot.press(*"tell me a story", "enter")
    await settle(pilot, lambda: llm_stalled(app), "the LLM stalled mid-sentence")


async def _barge_in(pilot: Pilot[None]) -> None:
    app = _app(pilot)
    await _mid_stream(pilot)
    await pilot.press("x")  # the first keystroke while the agent talks interrupts it
    await settle(pilot, lambda: idle(app) and app.state.interruptions.total == 1, "the interrupt was handled")


async def _stage_error(pilot: Pilot[None]) -> None:
    app = _app(pilot)
    await _started(pilot)
    await pilot.press(*"tell me a story", "enter")
    await settle(pilot, lambda: reply_finished(app) and bool(app.state.errors), "the stage failed")


async def _help(pilot: Pilot[None]) -> None:
    await _started(pilot)
    await pilot.press("f1")
    await pilot.pause()


STATES: dict[str, DemoState] = {
    state.name: state
    for state in (
        DemoState("start", make_app, _started),
        DemoState("one-turn", make_app, _one_turn),
        DemoState("mid-stream", lambda: make_app(stall_after=STALL_AFTER), _mid_stream),
        DemoState("barge-in", lambda: make_app(stall_after=STALL_AFTER), _barge_in),
        DemoState("stage-error", lambda: make_app(entry=FRAGILE), _stage_error),
        DemoState("help", make_app, _help),
        DemoState("barge-in-narrow", lambda: make_app(stall_after=STALL_AFTER), _barge_in, NARROW_SIZE),
    )
}
