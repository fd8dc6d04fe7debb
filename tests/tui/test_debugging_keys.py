"""The debugging keys (Pilot): pause and single-step, the help screen, the event log's filter
and lineage, and counters on screen that equal the trace's own counts."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from line.trace import TraceKind, TraceRecord
from line_tui.app import LineDebugger
from line_tui.demo_states import FRAGILE
from line_tui.loader import AgentEntry
from line_tui.widgets.event_log_panel import CAUSED_BY, LED_TO, REPLY_TO, EventLogPanel
from line_tui.widgets.help_screen import HelpScreen
from line_tui.widgets.routes_panel import RoutesPanel

from .helpers import SIZE, agent_turns, idle, make_app, settle


def make_app_for(agent: str | AgentEntry) -> Callable[[], LineDebugger]:
    """A scenario on the LLM it scripts for itself (validated: a reply with blocked words), or
    an agent on the story."""
    if isinstance(agent, AgentEntry):
        return lambda: make_app(entry=agent)
    return lambda: make_app(agent, rules=[])


def plain(widget: object) -> str:
    return str(widget.content.plain)  # type: ignore[attr-defined]


def chunks_published(app: LineDebugger) -> int:
    """AgentResponse messages the agent's run put on the bus (as the trace reports them)."""
    return sum(1 for entry in app.state.log.entries if entry.event_type == "AgentResponse")


def chat_stage_out(app: LineDebugger) -> int:
    route = next(r for r in app.state.routes.routes.values() if r.name == "ChatNode:UserStoppedSpeaking")
    return route.stages[0].items_out


async def test_pause_holds_chunks_and_step_lets_exactly_one_through() -> None:
    app = make_app("basic", reply="one two three four five")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press("f3")
        await settle(pilot, lambda: app.state.paused, "paused")
        await pilot.press(*"hi", "enter")
        # The first chunk was produced and now waits at the bus: nothing published yet.
        await settle(pilot, lambda: chat_stage_out(app) == 1, "first chunk held")
        assert chunks_published(app) == 0
        for expected in (1, 2):
            await pilot.press("f4")
            # One chunk goes through; the next one is produced and held again.
            await settle(pilot, lambda e=expected: chat_stage_out(app) == e + 1, f"chunk {expected + 1} held")
            assert chunks_published(app) == expected
        await pilot.press("f3")
        await settle(pilot, lambda: idle(app) and not app.state.paused, "resumed to the end")
        assert chunks_published(app) == 5
        assert agent_turns(app)[-1].text == "one two three four five"


async def test_step_while_not_paused_says_so_and_changes_nothing() -> None:
    app = make_app("basic")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press("f4")
        await pilot.pause()
        assert any("not paused" in str(n.message) for n in app._notifications)
        assert not app.state.paused


async def test_help_lists_every_binding() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press("f1")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        shown = plain(app.screen.query_one("Static")).lower()
        for binding in LineDebugger.BINDINGS:
            for key in binding.key.split(","):  # type: ignore[union-attr]
                assert key in shown, f"binding {key} is missing from the help screen"
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, HelpScreen)


#: Per stage, what the trace says and the routes panel shows: in, out, filtered, errors.
COUNTED = (TraceKind.STAGE_IN, TraceKind.STAGE_OUT, TraceKind.STAGE_FILTERED, TraceKind.ERROR)
STAGE_ROW = re.compile(r"^ +(\d+) +(\d+) +(\d+) +(\d+) +\S+ +\S+$", re.MULTILINE)


def shown_counts(screen: str, route: str, stages: int) -> list[tuple[int, ...]]:
    """The rows of numbers under ``route`` in the routes panel's text, one per stage."""
    block = screen[screen.index(route + "  "):]
    return [tuple(int(n) for n in row) for row in STAGE_ROW.findall(block)][:stages]


@pytest.mark.parametrize(("agent", "turns", "nonzero"), [
    (make_app_for("validated"), ("hello", "my printer is broken"), "filtered"),  # blocked words
    (make_app_for(FRAGILE), ("tell me a story", "again please"), "errors"),  # a stage raises
], ids=["filtered", "errors"])
async def test_counters_on_screen_equal_the_trace(agent: Callable[[], LineDebugger], turns: tuple[str, ...],
                                                  nonzero: str) -> None:
    app = agent()
    counted: Counter[tuple[str | None, int | None, TraceKind]] = Counter()

    def count(batch: list[TraceRecord]) -> None:
        for record in batch:
            if record.kind in COUNTED:
                counted[(record.route, record.stage, record.kind)] += 1

    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        assert app.session is not None
        app.session.system.tracer.attach(count)
        for words in turns:
            await pilot.press(*words, "enter")
            await settle(pilot, lambda: idle(app) and agent_turns(app)[-1].finished, "the reply finished")
        screen = plain(app.query_one(RoutesPanel))
        rows: list[tuple[int, ...]] = []
        for route in app.state.routes.routes.values():
            if route.bridge == "user":
                continue  # not on the routes panel
            from_trace = [tuple(counted[(route.name, i, kind)] for kind in COUNTED) for i in range(len(route.stages))]
            assert shown_counts(screen, route.name, len(route.stages)) == from_trace, route.name
            rows += from_trace
        assert len(rows) >= 2
        column = {"filtered": 2, "errors": 3}[nonzero]
        assert any(row[column] for row in rows), f"the trace has {nonzero} to compare"
        reply = next(r for r in app.state.routes.routes.values() if r.name.endswith(":UserStoppedSpeaking"))
        assert counted[(reply.name, 0, TraceKind.STAGE_IN)] == len(turns), "one run per turn"


async def test_event_log_filters_by_type_and_shows_lineage() -> None:
    app = make_app("basic", reply="alpha beta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press(*"hi", "enter")
        await settle(pilot, lambda: idle(app) and agent_turns(app)[-1].finished, "the reply finished")
        lineage = await select_first_of(pilot, app, "AgentResponse")  # the first chunk
        log = plain(app.query_one(EventLogPanel))
        listed = log[:log.index("lineage of")]
        assert "AgentResponse" in listed and "UserTranscriptionRecei" not in listed, "filtered by type"
        assert "caused by" in lineage and "UserStoppedSpeaking" in lineage, "the chunk was caused by the turn's end"


async def select_first_of(pilot: Pilot[None], app: LineDebugger, event_type: str) -> str:
    """Filter the log to ``event_type``, select its first entry, return its lineage as shown."""
    while app.state.log.filter_type != event_type:
        await pilot.press("f6")
    app.selected = None
    await pilot.press("f8")
    await pilot.pause()
    log = plain(app.query_one(EventLogPanel))
    return log[log.index("lineage of"):]


async def test_lineage_links_no_user_event_to_another_but_links_the_reply_to_the_words() -> None:
    app = make_app("basic", reply="alpha beta")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press(*"hi there", "enter")
        await settle(pilot, lambda: idle(app) and agent_turns(app)[-1].finished, "the reply finished")

        words = await select_first_of(pilot, app, "UserTranscriptionReceived")
        assert "caused by" not in words and "led to" not in words, "the words led to nothing of the caller's"
        stop = await select_first_of(pilot, app, "UserStoppedSpeaking")
        assert "UserTranscriptionRecei" not in stop, "the turn's end was not caused by its words"
        assert "no recorded cause" in stop
        assert LED_TO in stop and "AgentResponse" in stop, "the turn's end led to the reply"

        reply = await select_first_of(pilot, app, "AgentResponse")
        caused_by = [line for line in reply.splitlines() if line.startswith(CAUSED_BY)]
        reply_to = [line for line in reply.splitlines() if line.startswith(REPLY_TO)]
        assert len(caused_by) == 1 and "UserStoppedSpeaking" in caused_by[0]
        said = next(e for e in app.state.log.entries if e.event_type == "UserTranscriptionReceived")
        assert said.payload == "'hi there'"
        assert len(reply_to) == 1 and f"{app.state.ids.message(said.message_id)} " in reply_to[0]
        assert "UserTranscriptionRecei" in reply_to[0]
