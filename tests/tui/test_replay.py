"""Record a live call with ``--record``, replay it with ``--replay``: the same final state."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from textual.widgets import Static
from textual.widgets._footer import FooterKey

from line.recording import Recording, load_recording
from line.trace import TraceKind, TraceRecord
from line_tui.app import DebuggerOptions, LineDebugger
from line_tui.cli import load_replay, recording_start_ns
from line_tui.demo_states import STATES, make_app
from line_tui.model import DebuggerState
from line_tui.widgets.buffers_panel import BuffersPanel
from line_tui.widgets.conversation_panel import ConversationPanel
from line_tui.widgets.error_screen import ErrorScreen
from line_tui.widgets.event_log_panel import EventLogPanel
from line_tui.widgets.format import Timings, duration
from line_tui.widgets.speech_input import SpeechInput

from .helpers import SIZE

AN_HOUR_NS = 3600 * 10**9
LIVE_ONLY_KEYS = ("f2", "f3", "f4", "f5", "f9")


def summary(state: DebuggerState) -> object:
    return (
        [(t.role, t.text, t.cut, t.interrupted, t.failed) for t in state.conversation.turns],
        {name: [(s.items_in, s.items_out, s.filtered, s.errors) for s in route.stages]
         for name, route in state.routes.routes.items()},
        [(c.route, c.trigger, c.stage_name, c.delivered, c.cut, c.handler_ok) for c in state.interruptions.cards],
        [(e.event_type, e.payload) for e in state.log.entries],
    )


async def test_replay_shows_the_same_final_state(tmp_path: Path) -> None:
    path = tmp_path / "call.jsonl"
    live = make_app(stall_after=11)
    live.options.record_path = str(path)
    async with live.run_test(size=SIZE) as pilot:
        await STATES["barge-in"].drive(pilot)
        live_state = summary(live.state)
        await live.end_call()  # closes the recorder, as quitting does

    recording = load_recording(path)
    assert recording.errors == []
    replay = LineDebugger(DebuggerOptions(replay_records=recording.records))
    async with replay.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert replay.session is None, "a replay runs no agent"
        assert summary(replay.state) == live_state
        assert "interrupted" in str(replay.query_one(ConversationPanel).content.plain)
        await pilot.press(*"hello", "enter")  # read-only: typing does nothing
        await pilot.pause()
        assert summary(replay.state) == live_state


async def test_replay_of_a_damaged_file_shows_what_could_not_be_read(tmp_path: Path) -> None:
    path = tmp_path / "call.jsonl"
    live = make_app()
    live.options.record_path = str(path)
    async with live.run_test(size=SIZE) as pilot:
        await STATES["one-turn"].drive(pilot)
        await live.end_call()
    lines = path.read_text().splitlines()
    damaged = [*lines[:5], "{not json", *lines[5:-1], lines[-1][: len(lines[-1]) // 2]]
    path.write_text("\n".join(damaged))

    recording = load_recording(path)
    assert len(recording.records) >= len(lines) - 2
    app = LineDebugger(DebuggerOptions(replay_records=recording.records,
                                       replay_errors=[str(e) for e in recording.errors]))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ErrorScreen)
        shown = str(app.screen.query_one("#error-details", Static).content.plain)
        assert "line 6" in shown and f"line {len(damaged)}" in shown, "both bad lines are named"


async def record(path: Path, state: str) -> None:
    """A live call driven to one of the demo states, recorded to ``path``."""
    live = make_app(stall_after=11)
    live.options.record_path = str(path)
    async with live.run_test(size=SIZE) as pilot:
        await STATES[state].drive(pilot)
        await live.end_call()  # closes the recorder, as quitting does


def age_by(path: Path, ns: int) -> None:
    """Move a recording ``ns`` into the past (header and every record), as a file made earlier."""
    lines = []
    for line in path.read_text().splitlines():
        obj = json.loads(line)
        for key in ("monotonic_ns", "t_ns"):
            if key in obj:
                obj[key] -= ns
        lines.append(json.dumps(obj))
    path.write_text("\n".join(lines) + "\n")


def plain(widget: object) -> str:
    return str(widget.content.plain)  # type: ignore[attr-defined]


async def test_replay_times_count_from_the_recordings_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "call.jsonl"
    await record(path, "barge-in")
    age_by(path, AN_HOUR_NS)  # replayed an hour after it was made: the app's own clock is far ahead
    header_ns = load_recording(path).header["monotonic_ns"]  # type: ignore[index]

    options = DebuggerOptions()
    load_replay(str(path), options)
    assert options.replay_origin_ns == header_ns
    replay = LineDebugger(options)
    monkeypatch.setattr(Timings, "visible", True)  # make_app hid them for the snapshots
    async with replay.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shown = re.findall(r"^ *(-?\d+\.\d{3}) (#\d+) ", plain(replay.query_one(EventLogPanel)), re.MULTILINE)
        entries = list(replay.state.log.entries)
        assert [number for _, number in shown] == [f"#{i}" for i in range(1, len(entries) + 1)]
        times = [float(seconds) for seconds, _ in shown]
        # As in the recording: from its start, each entry's own time, in order.
        assert times == [round((entry.t_ns - header_ns) / 1e9, 3) for entry in entries]
        assert 0 <= times[0] < 5, "the first event comes soon after the recording started"
        assert times == sorted(times)
        assert times[-1] - times[0] == pytest.approx((entries[-1].t_ns - entries[0].t_ns) / 1e9, abs=0.002)


async def test_replay_buffers_age_until_the_recordings_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "call.jsonl"
    await record(path, "mid-stream")
    # Keep the recording up to the last report of "She kept " in the sentence buffer (ending
    # the call empties it), as a file read while the call ran would be.
    lines = path.read_text().splitlines()
    last = max(i for i, line in enumerate(lines) if '"contents":"She kept "' in line)
    path.write_text("\n".join(lines[: last + 1]) + "\n")
    age_by(path, AN_HOUR_NS)
    options = DebuggerOptions()
    load_replay(str(path), options)
    replay = LineDebugger(options)
    monkeypatch.setattr(Timings, "visible", True)
    async with replay.run_test(size=SIZE) as pilot:
        await pilot.pause()
        (view,) = replay.state.buffers.buffers.values()
        assert view.contents == "She kept "
        expected = duration(view.age_at(replay.state.last_t_ns))
        assert f"age {expected}" in plain(replay.query_one(BuffersPanel))
        assert view.age_at(replay.state.last_t_ns) < AN_HOUR_NS // 2, "not an hour old: it aged until the end"


def test_without_a_header_the_recording_starts_at_its_first_record() -> None:
    records = [TraceRecord(TraceKind.ROUTE_DEFINED, 5_000), TraceRecord(TraceKind.BUS_PUBLISH, 7_000)]
    assert recording_start_ns(Recording(records=records)) == 5_000
    assert recording_start_ns(Recording(records=records, header={"monotonic_ns": 4_000})) == 4_000
    assert recording_start_ns(Recording(records=records, header={"monotonic_ns": 6_000})) == 5_000
    assert recording_start_ns(Recording()) is None
    state = DebuggerState()
    state.feed(records)
    assert state.origin_ns == 5_000


def footer_keys(app: LineDebugger) -> set[str]:
    return {key.key for key in app.screen.query(FooterKey)}


async def test_replay_says_it_is_read_only_and_hides_the_keys_of_a_live_call(tmp_path: Path) -> None:
    path = tmp_path / "call.jsonl"
    live = make_app(stall_after=11)
    live.options.record_path = str(path)
    async with live.run_test(size=SIZE) as pilot:
        await STATES["barge-in"].drive(pilot)
        live_prompt = live.query_one(SpeechInput).placeholder
        live_keys = footer_keys(live)
        await live.end_call()
    assert set(LIVE_ONLY_KEYS) <= live_keys and "type to speak" in live_prompt

    options = DebuggerOptions()
    load_replay(str(path), options)
    replay = LineDebugger(options)
    async with replay.run_test(size=SIZE) as pilot:
        await pilot.pause()
        speech = replay.query_one(SpeechInput)
        assert speech.placeholder == f"replay of {path} — read-only" and speech.disabled
        assert "read-only" in replay.sub_title
        keys = footer_keys(replay)
        assert not keys & set(LIVE_ONLY_KEYS), "the footer offers only what a replay can do"
        assert {"f1", "f6", "ctrl+l", "ctrl+q"} <= keys
        for key in LIVE_ONLY_KEYS:
            assert replay.screen.active_bindings.get(key) is None
        before = (replay.state.version, len(replay.screen_stack))
        await pilot.press(*LIVE_ONLY_KEYS)
        await pilot.pause()
        assert (replay.state.version, len(replay.screen_stack)) == before, "and those keys do nothing"
        assert replay.session is None and not replay._notifications
        await pilot.press("f1")
        await pilot.pause()
        help_text = str(replay.screen.query_one(Static).render())
        assert "This is a replay" in help_text and "F2-F5 and F9" in help_text
