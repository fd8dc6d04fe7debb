"""Figure 5: the debugger under load — 10,000 chunks/s for 10 s (2 s in quick mode).

``LineDebugger`` runs headless (``run_test(headless=True, size=(160, 48))``) on an agent given
as ``DebuggerOptions(entry=AgentEntry(...))``: ``agent.on(UserStoppedSpeaking).interrupt_on(
UserStartedSpeaking).stream(paced).stream(clean).stream(to_event).broadcast()`` where ``paced``
yields chunks on a wall-clock schedule (a burst each millisecond, 10,000 per second on average)
and the caller (``system.user``) is the consumer. When the app cannot keep up, the source
falls behind its schedule and stops at the deadline anyway: the rate really offered is
reported. The caller's turn is sent the way the app sends it (``session.submit``).

* Event-loop lag: a ticker task sleeps 5 ms at a time; lag = actual wake-up - expected.
* Counters: once the reply ended and the bus is idle, the routes model (``app.state.routes``)
  and the routes panel's text must equal the counts an extra trace observer made on its own.
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import AsyncIterator

from textual.pilot import Pilot

from bench.harness import TOKENS, clean_text, now_ns, prepare
from bench.report import Result, percentile
from line import Bridge, CallRequest, Message, VoiceAgentSystem
from line.events import AgentResponse, UserStartedSpeaking, UserStoppedSpeaking
from line.llm import ScriptedLLM
from line.trace import TraceKind, TraceRecord
from line_tui.app import DebuggerOptions, LineDebugger
from line_tui.loader import AgentEntry

RATE = 10_000
SECONDS = 10.0
QUICK_SECONDS = 2.0
TICK = 0.005
BURST_EVERY = 0.001
LAG_P99_MS = 50.0
LAG_MAX_MS = 200.0
SIZE = (160, 48)


class PacedSpeaker:
    """A speaking node whose reply is ``rate`` chunks/s for ``seconds``, on a wall-clock schedule."""

    id = "paced"

    def __init__(self, rate: int, seconds: float) -> None:
        self.rate = rate
        self.seconds = seconds
        self.sent = 0
        self.started_ns = 0
        self.finished_ns = 0

    async def generate(self, _: Message) -> AsyncIterator[str]:
        """Yield what is due by the clock, then wait 1 ms; stop at the deadline even if behind."""
        total = int(self.rate * self.seconds)
        tokens = TOKENS
        self.sent = 0
        self.started_ns = now_ns()
        deadline = self.started_ns + int(self.seconds * 1e9)
        while self.sent < total:
            now = now_ns()
            if now >= deadline:
                break
            due = min(total, int((now - self.started_ns) / 1e9 * self.rate) + 1)
            while self.sent < due and now_ns() < deadline:
                yield tokens[self.sent % 13]
                self.sent += 1
            await asyncio.sleep(BURST_EVERY)  # pacing: this figure is about timing
        self.finished_ns = now_ns()

    def on_interrupt(self) -> None:
        """Nobody barges in during this figure."""


async def clean(message: Message) -> AsyncIterator[str]:
    yield clean_text(message.event)


async def to_event(message: Message) -> AsyncIterator[AgentResponse]:
    yield AgentResponse(content=message.event)


def entry_for(node: PacedSpeaker) -> AgentEntry:
    async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
        bridge = Bridge(node)
        (
            bridge.on(UserStoppedSpeaking)
            .interrupt_on(UserStartedSpeaking, handler=node.on_interrupt)
            .stream(node.generate)
            .stream(clean)
            .stream(to_event)
            .broadcast()
        )
        system.with_speaking_node(node, bridge)
        await system.start()
        await system.wait_for_shutdown()

    return AgentEntry("bench-paced", handle_new_call, "bench.ui_load", f"{node.rate:,} chunks/s")


class TraceCounts:
    """Counts an independent observer makes from the trace, keyed like the routes model."""

    def __init__(self) -> None:
        self.stage: Counter[tuple[str, int, TraceKind]] = Counter()
        self.route: Counter[tuple[str, TraceKind]] = Counter()
        self.records = 0

    def __call__(self, batch: list[TraceRecord]) -> None:
        self.records += len(batch)
        for record in batch:
            kind = record.kind
            if record.stage is not None and kind in (TraceKind.STAGE_IN, TraceKind.STAGE_OUT,
                                                     TraceKind.STAGE_FILTERED):
                self.stage[(record.route or "", record.stage, kind)] += 1
            elif kind in (TraceKind.RUN_STARTED, TraceKind.BUS_DROP, TraceKind.ERROR):
                self.route[(record.route or "", kind)] += 1


def compare(app: LineDebugger, counts: TraceCounts) -> list[str]:
    """Every difference between what the app holds/shows and the independent counts."""
    problems: list[str] = []
    state = app.state
    if state.records_dropped:
        problems.append(f"the app's observer dropped {state.records_dropped} records")
    shown = app.routes_panel.content
    screen = shown.plain if hasattr(shown, "plain") else str(shown)
    for name, route in state.routes.routes.items():
        pairs = [("runs", route.runs, counts.route[(name, TraceKind.RUN_STARTED)]),
                 ("dropped", route.dropped, counts.route[(name, TraceKind.BUS_DROP)]),
                 ("errors", route.errors, counts.route[(name, TraceKind.ERROR)])]
        for stage in route.stages:
            for label, value, kind in (("in", stage.items_in, TraceKind.STAGE_IN),
                                       ("out", stage.items_out, TraceKind.STAGE_OUT),
                                       ("filtered", stage.filtered, TraceKind.STAGE_FILTERED)):
                pairs.append((f"stage {stage.index} {label}", value, counts.stage[(name, stage.index, kind)]))
            if route.bridge != "user":  # the panel hides the caller's own routes
                expected = (f"in {counts.stage[(name, stage.index, TraceKind.STAGE_IN)]}  "
                            f"out {counts.stage[(name, stage.index, TraceKind.STAGE_OUT)]}  ")
                if not re.search(rf"{stage.index} {re.escape(stage.label)} \w+\n\s+{re.escape(expected)}", screen):
                    problems.append(f"{name} stage {stage.index}: the routes panel does not show {expected!r}")
        for label, model, traced in pairs:
            if model != traced:
                problems.append(f"{name} {label}: model {model} != trace {traced}")
    return problems


async def ticker(lags_ms: list[float], stop: asyncio.Event) -> None:
    """Measure how late the loop wakes a task sleeping ``TICK`` seconds."""
    while not stop.is_set():
        expected = now_ns() + int(TICK * 1e9)
        await asyncio.sleep(TICK)
        lags_ms.append(max(0, now_ns() - expected) / 1e6)


async def wait_until(pilot: Pilot[None], condition: object, what: str, limit: float = 30.0) -> None:
    """Let the app process its messages until ``condition()`` holds."""
    deadline = now_ns() + int(limit * 1e9)
    while not condition():  # type: ignore[operator]
        if now_ns() > deadline:
            raise RuntimeError(f"ui_load: timed out waiting for {what}")
        await pilot.pause()


async def measure(quick: bool) -> list[Result]:
    seconds = QUICK_SECONDS if quick else SECONDS
    node = PacedSpeaker(RATE, seconds)
    app = LineDebugger(DebuggerOptions(entry=entry_for(node), llm_factory=ScriptedLLM))
    lags: list[float] = []
    counts = TraceCounts()
    async with app.run_test(headless=True, size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.session is not None and app.session.system.started, "the call")
        session = app.session
        assert session is not None
        system = session.system
        observer = system.tracer.attach(counts)
        stop = asyncio.Event()
        prepare()
        tick = asyncio.get_running_loop().create_task(ticker(lags, stop))
        await session.submit("go")
        await wait_until(pilot, lambda: node.finished_ns != 0, "the end of the reply", limit=seconds + 30)
        stop.set()
        await tick
        await system.bus.wait_idle()
        system.tracer.flush()
        app.redraw(force=True)
        await pilot.pause()
        problems = compare(app, counts)
        delivered = len(system.user.received)
        records = counts.records
        system.tracer.detach(observer)
    elapsed = (node.finished_ns - node.started_ns) / 1e9
    p99, worst = percentile(lags, 99), max(lags)
    load = (f"{node.sent:,} chunks in {elapsed:.2f} s = {node.sent / elapsed:,.0f} chunks/s sent, "
            f"{delivered:,} delivered, {records / elapsed:,.0f} trace records/s, {len(lags)} ticks")
    return [
        Result("ui_loop_lag_p99", p99, "ms", f"<= {LAG_P99_MS:g} ms", p99 <= LAG_P99_MS,
               detail=f"p50 {percentile(lags, 50):.2f} ms; {load}" + (" [quick: 2 s]" if quick else ""),
               extra={"p50": round(percentile(lags, 50), 3)}),
        Result("ui_loop_lag_max", worst, "ms", f"<= {LAG_MAX_MS:g} ms", worst <= LAG_MAX_MS, detail=load),
        Result("ui_chunks_per_second", node.sent / elapsed, "chunks/s", f"none: {RATE:,} chunks/s offered", None,
               detail=f"{node.sent / elapsed / RATE:.0%} of the rate offered: what the paced source could send "
                      f"while the app ran ({delivered:,} delivered to the caller)"),
        Result("ui_counters_mismatches", len(problems), "mismatches", "= 0", not problems,
               detail="; ".join(problems[:5]) or "routes model and routes panel equal an independent "
                                                 "observer's counts for every route and stage"),
    ]


def run(quick: bool) -> list[Result]:
    return asyncio.run(measure(quick))
