"""The line-tui App: layout, key bindings and the 30 fps refresh. The work lives elsewhere:
``AgentSession`` runs the agent, ``DebuggerState`` folds the trace, widgets render it."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Header, Input

from line.llm import LLMClient
from line.recording import TraceRecorder
from line.trace import TraceRecord
from line_tui.heap import FROZEN_HEAP
from line_tui.loader import AgentEntry, AgentLoadError, load_agent
from line_tui.model import DebuggerState
from line_tui.pacing import FramePacer
from line_tui.scenarios import DEFAULT_SCENARIO, SCENARIOS
from line_tui.session import AgentSession
from line_tui.widgets.buffers_panel import BuffersPanel
from line_tui.widgets.conversation_panel import ConversationPanel
from line_tui.widgets.error_screen import ErrorScreen
from line_tui.widgets.event_log_panel import EventLogPanel
from line_tui.widgets.help_screen import HelpScreen
from line_tui.widgets.interruptions_panel import InterruptionsPanel
from line_tui.widgets.metrics_panel import MetricsPanel
from line_tui.widgets.panel import RENDER_TIME
from line_tui.widgets.routes_panel import RoutesPanel
from line_tui.widgets.scenario_picker import ScenarioPicker
from line_tui.widgets.speech_input import SpeechInput

REFRESH_HZ = 30  # the most frames a second; fewer when frames are costly (see pacing.py)


@dataclass
class DebuggerOptions:
    target: str | None = None  # scenario name, agent file or module
    entry: AgentEntry | None = None  # an agent given directly (VoiceAgentApp.run)
    llm_factory: Callable[[], LLMClient] | None = None
    record_path: str | None = None
    replay_records: list[TraceRecord] | None = None
    replay_errors: list[str] = field(default_factory=list)
    replay_path: str | None = None  # the recording's file, as given
    replay_origin_ns: int | None = None  # the recording's start (None: its first record)
    secrets: tuple[str, ...] = ()


class LineDebugger(App[None]):
    TITLE = "line-tui"
    CSS = """
    #columns { height: 1fr; }
    #left { width: 4fr; }
    #middle { width: 4fr; }
    #right { width: 6fr; }
    .panel { border: round $primary-darken-2; height: auto; }
    #conversation-box { height: 1fr; }
    #log-box { height: 1fr; }
    /* Narrower than 130 cells, three columns would wrap every panel: two columns instead,
       the routes column as wide as a stage row, conversation above metrics and events. */
    Screen.-narrow #columns { layout: grid; grid-size: 2 2; grid-columns: 47 1fr; grid-rows: 1fr 1fr; }
    Screen.-narrow #left { row-span: 2; width: 1fr; height: 1fr; }
    /* ...where the routes scroll in their own box, so buffers and interruptions stay in view. */
    Screen.-narrow #routes-box { max-height: 55%; scrollbar-size-vertical: 1; }
    Screen.-narrow #middle { width: 1fr; height: 1fr; }
    Screen.-narrow #right { width: 1fr; height: 1fr; }
    """
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (130, "-wide")]
    BINDINGS = [
        Binding("f1", "help", "help"),
        Binding("f2", "toggle_speaking", "speak w/o text"),
        Binding("f3", "toggle_pause", "pause"),
        Binding("f4", "step", "step"),
        Binding("f5", "pick_scenario", "scenario"),
        Binding("f6", "cycle_filter", "log filter"),
        Binding("f7", "select(-1)", "prev", show=False),
        Binding("f8", "select(1)", "next", show=False),
        Binding("f9", "new_call", "new call"),
        Binding("ctrl+l", "clear", "clear"),
        Binding("ctrl+q", "quit", "quit", priority=True),
    ]
    #: What only a live call can do: hidden from the footer (and inert) in a replay.
    LIVE_ONLY_ACTIONS = frozenset({"toggle_speaking", "toggle_pause", "step", "pick_scenario", "new_call"})

    def __init__(self, options: DebuggerOptions) -> None:
        super().__init__()
        self.options = options
        self.state = DebuggerState(origin_ns=options.replay_origin_ns)
        self.session: AgentSession | None = None
        self.entry: AgentEntry | None = options.entry
        self.selected: int | None = None
        self._drawn_version = -1
        self._pacer = FramePacer(max_hz=REFRESH_HZ)
        self._holds_heap = False
        self._recorder: TraceRecorder | None = None

    # -- layout ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="columns"):
            with VerticalScroll(id="left"):
                yield _boxed(RoutesPanel(id="routes"), "routes", "routes-box")
                yield _boxed(BuffersPanel(id="buffers"), "buffers")
                yield _boxed(InterruptionsPanel(id="interruptions"), "interruptions")
            with VerticalScroll(id="middle"):
                yield _boxed(ConversationPanel(id="conversation"), "conversation as heard", "conversation-box")
            with VerticalScroll(id="right"):
                yield _boxed(MetricsPanel(id="metrics"), "metrics")
                yield _boxed(EventLogPanel(id="log"), "bus events", "log-box")
        yield SpeechInput()
        yield Footer()

    async def on_mount(self) -> None:
        screen = self.screen  # the main screen; modal screens pushed later must not hide the panels
        self.routes_panel = screen.query_one(RoutesPanel)
        self.buffers_panel = screen.query_one(BuffersPanel)
        self.interruptions_panel = screen.query_one(InterruptionsPanel)
        self.conversation_panel = screen.query_one(ConversationPanel)
        self.metrics_panel = screen.query_one(MetricsPanel)
        self.log_panel = screen.query_one(EventLogPanel)
        self.set_interval(1 / REFRESH_HZ, self.redraw)
        self.query_one(SpeechInput).focus()
        FROZEN_HEAP.hold()  # before the call starts: only what lives as long as the app is frozen
        self._holds_heap = True
        if self.replaying:
            recording = self.options.replay_path or "a recording"
            self.sub_title = f"replay of {recording} (read-only)"
            self.query_one(SpeechInput).read_only(f"replay of {recording} — read-only")
            assert self.options.replay_records is not None
            self.state.feed(self.options.replay_records)
            self.redraw()
            if self.options.replay_errors:
                self.push_screen(ErrorScreen("some lines of the recording could not be read",
                                             "\n".join(self.options.replay_errors)))
            return
        await self.start_call()

    @property
    def replaying(self) -> bool:
        return self.options.replay_records is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A replay hides (and ignores) the keys that act on a live call."""
        return not (self.replaying and action in self.LIVE_ONLY_ACTIONS)

    # -- calls -------------------------------------------------------------------------------

    async def start_call(self) -> None:
        """(Re)load the agent and start a fresh call with a fresh view."""
        await self.end_call()
        self.state = DebuggerState(origin_ns=time.monotonic_ns())
        self.selected = None
        self.redraw(force=True)
        if self.entry is None:
            try:
                self.entry = load_agent(self.options.target or DEFAULT_SCENARIO)
            except AgentLoadError as exc:
                self.sub_title = "agent failed to load"
                self.push_screen(ErrorScreen(exc.message, exc.details))
                return
        assert self.options.llm_factory is not None
        session = AgentSession(self.entry, self.options.llm_factory(),
                               on_error=lambda error, details: self.push_screen(ErrorScreen(error, details)))
        self.session = session
        self.sub_title = f"{self.entry.name} — {self.entry.doc}"
        if self.options.record_path:
            self._recorder = TraceRecorder(self.options.record_path, session.system.tracer,
                                           secrets=self.options.secrets)
        await session.start(self.state.feed)

    async def end_call(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            await session.stop()
        recorder, self._recorder = self._recorder, None
        if recorder is not None:
            recorder.close()

    async def on_unmount(self) -> None:
        await self.end_call()
        if self._holds_heap:
            self._holds_heap = False
            FROZEN_HEAP.release()

    # -- drawing -----------------------------------------------------------------------------

    def redraw(self, force: bool = False) -> None:
        """When the trace brought something new: at most REFRESH_HZ times a second, and less
        often when frames are costly (``FramePacer``); ``force`` draws now."""
        state = self.state
        if state.version == self._drawn_version and not force and not state.buffers.buffers:
            return
        started = time.perf_counter()
        if not force and not self._pacer.due(started):
            return
        rendered = RENDER_TIME.take()  # Textual rendering the panels since the last frame
        self._drawn_version = state.version
        self.routes_panel.show(state)
        # A replay's buffers age until its last record, not until now.
        self.buffers_panel.show(state, state.last_t_ns if self.replaying else None)
        self.interruptions_panel.show(state)
        self.conversation_panel.show(state)
        self.metrics_panel.show(state)
        self.log_panel.show(state, self.selected)
        self._pacer.drawn(started, time.perf_counter() - started + rendered)

    # -- the caller --------------------------------------------------------------------------

    async def on_speech_input_started_typing(self, _: SpeechInput.StartedTyping) -> None:
        if self.session is not None:
            await self.session.typing_started()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.value = ""
        if self.session is not None:
            await self.session.submit(event.value)

    # -- actions -----------------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen(replaying=self.replaying))

    async def action_toggle_speaking(self) -> None:
        if self.session is not None:
            await self.session.toggle_speaking()

    def action_toggle_pause(self) -> None:
        if self.session is not None:
            paused = self.session.toggle_pause()
            self.notify("pipeline paused: F4 steps one chunk, F3 resumes" if paused else "pipeline resumed")

    def action_step(self) -> None:
        if self.session is not None and not self.session.step():
            self.notify("not paused: F3 pauses the pipeline first", severity="warning")

    def action_pick_scenario(self) -> None:
        scenarios = {name: _scenario_doc(name) for name in SCENARIOS}

        async def picked(name: str | None) -> None:
            if name is not None:
                self.options.target = name
                self.entry = None
                await self.start_call()

        self.push_screen(ScenarioPicker(scenarios, self.entry.name if self.entry else None), picked)

    def action_cycle_filter(self) -> None:
        shown = self.state.log.cycle_filter()
        self.notify(f"event log: {shown or 'all types'}")
        self.redraw(force=True)

    def action_select(self, delta: int) -> None:
        visible = self.state.log.visible()
        if not visible:
            return
        ids = [entry.message_id for entry in visible]
        if self.selected not in ids:
            self.selected = ids[-1] if delta < 0 else ids[0]
        else:
            index = max(0, min(len(ids) - 1, ids.index(self.selected) + delta))
            self.selected = ids[index]
        self.redraw(force=True)

    async def action_new_call(self) -> None:
        if not self.replaying:
            await self.start_call()

    def action_clear(self) -> None:
        self.state.new_call()
        self.selected = None
        self.redraw(force=True)


def _boxed(widget: object, title: str, box_id: str | None = None) -> VerticalScroll:
    box = VerticalScroll(widget, classes="panel", id=box_id)  # type: ignore[arg-type]
    box.border_title = title
    return box


def _scenario_doc(name: str) -> str:
    try:
        return load_agent(name).doc
    except AgentLoadError as exc:
        return f"(cannot load: {exc.message})"
