"""Recording a session while it runs, reading it back as the same records, surviving damaged
files line by line, and never writing a secret."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from line import Bridge, Bus, Message
from line.events import AgentError, AgentResponse, Event, LogMetric, ToolCall, UserStoppedSpeaking
from line.recording import Recording, RecordingError, TraceRecorder, load_recording
from line.trace import TraceKind, TraceRecord

from .helpers import barge_in_and_settle, build_pipeline, run_until_stalled


class Mood(Event):
    """A user-defined event: recordings must rebuild it too."""

    level: int
    tags: list[str] = []


async def record_session(path: Path) -> list[TraceRecord]:
    """Record an interrupted session to ``path``; return the records a live observer saw."""
    pipeline = build_pipeline()
    bus = pipeline.bus
    recorder = TraceRecorder(path, bus.tracer)
    bus.tracer.attach(pipeline.records.extend)
    await run_until_stalled(pipeline)
    await bus.publish(Mood(level=3, tags=["calm"]), source="user")
    await bus.publish(ToolCall(tool_name="clock", tool_args={"tz": "UTC", "at": [1, 2]}), source="user")
    await barge_in_and_settle(pipeline)
    await bus.cleanup()
    recorder.close()
    bus.tracer.flush()
    return pipeline.records


async def test_a_session_is_readable_while_recording_and_loads_back_as_equal_records(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    pipeline = build_pipeline()
    bus = pipeline.bus
    recorder = TraceRecorder(path, bus.tracer)
    bus.tracer.attach(pipeline.records.extend)
    await run_until_stalled(pipeline)

    # Mid-reply (split is stalled on "gamma"): what happened so far is already in the file.
    assert recorder.flush()
    bus.tracer.flush()
    so_far = load_recording(path)
    assert so_far.errors == []
    assert so_far.header is not None and so_far.version == 1
    assert so_far.records == pipeline.records
    heard = [r.get("event").content for r in so_far.records
             if r.kind is TraceKind.BUS_PUBLISH and r.get("event_type") == "AgentResponse"]
    assert heard == ["AL", "PHA", "BE", "TA", "GA"]
    assert not any(r.kind is TraceKind.RUN_FINISHED for r in so_far.records if r.route == "agent:UserStoppedSpeaking")

    await bus.publish(Mood(level=3, tags=["calm"]), source="user")
    await bus.publish(ToolCall(tool_name="clock", tool_args={"tz": "UTC", "at": [1, 2]}), source="user")
    await barge_in_and_settle(pipeline)
    await bus.cleanup()
    recorder.close()
    recorder.close()  # idempotent
    bus.tracer.flush()

    loaded = load_recording(path)
    assert loaded.errors == []
    assert loaded.records == pipeline.records
    assert recorder.written == len(pipeline.records) and recorder.dropped == 0
    assert all(isinstance(r.kind, TraceKind) for r in loaded.records)
    events = [r.get("event") for r in loaded.records if r.kind is TraceKind.BUS_PUBLISH]
    assert {type(e) for e in events} >= {UserStoppedSpeaking, AgentResponse, Mood, ToolCall}
    mood = next(e for e in events if isinstance(e, Mood))
    assert mood == Mood(level=3, tags=["calm"])


async def test_close_detaches_so_later_records_are_not_written(tmp_path: Path) -> None:
    path = tmp_path / "short.jsonl"
    bus = Bus()
    recorder = TraceRecorder(path, bus.tracer)
    assert bus.tracer.enabled
    await bus.publish(Mood(level=1), source="user")
    recorder.close()
    assert not bus.tracer.enabled and recorder.closed
    await bus.publish(Mood(level=2), source="user")
    await bus.cleanup()
    levels = [r.get("event").level for r in load_recording(path).records]
    assert levels == [1]


async def test_a_file_cut_mid_line_loads_every_complete_line(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    records = await record_session(path)
    lines = path.read_bytes().split(b"\n")
    keep = 20  # header + 19 records, then half of the next line, as if the writer died mid-write
    path.write_bytes(b"\n".join(lines[:keep]) + b"\n" + lines[keep][: len(lines[keep]) // 2])

    loaded = load_recording(path)
    assert loaded.records == records[: keep - 1]
    [error] = loaded.errors
    assert error.line == keep + 1
    assert str(error).startswith(f"line {keep + 1}: not valid JSON (")
    assert "ends mid-line" in error.reason


async def test_garbage_lines_are_reported_by_number_and_every_good_line_loads(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    records = await record_session(path)
    lines = path.read_bytes().splitlines()
    bad = {
        5: b"this is not json {",
        9: b"\xff\xfe binary junk",
        12: b"[1, 2, 3]",
        15: b'{"kind": "no.such.kind", "t_ns": 1}',
        18: b'{"kind": "stage.in", "t_ns": "yesterday"}',
    }
    for number in sorted(bad):  # insert so that each bad line ends up at its line number
        lines.insert(number - 1, bad[number])
    path.write_bytes(b"\n".join(lines) + b"\n")

    loaded = load_recording(path)
    assert loaded.records == records
    assert [error.line for error in loaded.errors] == sorted(bad)
    reasons = {error.line: str(error) for error in loaded.errors}
    assert reasons[5].startswith("line 5: not valid JSON (")
    assert reasons[9].startswith("line 9: not valid UTF-8")
    assert reasons[12] == "line 12: not a trace record (a JSON list, expected an object)"
    assert reasons[15] == "line 15: unknown record kind 'no.such.kind'"
    assert reasons[18] == "line 18: field 't_ns' must be an integer, got 'yesterday'"


def test_a_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        load_recording(tmp_path / "nope.jsonl")


def test_events_of_unknown_types_and_values_json_cannot_hold(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    odd = {"kind": "bus.publish", "t_ns": 5, "data": {
        "event": {"$event": "NoSuchEventAnywhere", "$data": {"x": 1}},
        "bad": {"$event": "AgentResponse", "$data": {"content": 42}},
    }}
    path.write_text(json.dumps(odd) + "\n", encoding="utf-8")
    loaded = load_recording(path)
    [record] = loaded.records
    assert record.get("event") == {"x": 1}  # unknown type: the fields, as a dict
    assert record.get("bad") == {"content": 42}  # known type that no longer validates: kept, reported
    assert [e.line for e in loaded.errors] == [1] and "AgentResponse kept as a dict" in loaded.errors[0].reason


async def test_values_json_cannot_hold_are_written_as_their_repr(tmp_path: Path) -> None:
    class Opaque:
        def __repr__(self) -> str:
            return "<Opaque thing>"

    path = tmp_path / "repr.jsonl"
    bus = Bus()
    with TraceRecorder(path, bus.tracer):
        await bus.publish(LogMetric(name="opaque", value=Opaque()), source="user")
        bus.tracer.emit(TraceKind.BUFFER, data={"name": "b", "contents": Opaque(), "key": (1, 2)})
    await bus.cleanup()
    loaded = load_recording(path)
    assert loaded.errors == []
    metric, buffer = loaded.records
    assert metric.get("event") == LogMetric(name="opaque", value="<Opaque thing>")
    assert buffer.data == {"name": "b", "contents": "<Opaque thing>", "key": [1, 2]}


async def test_any_text_survives_exactly(tmp_path: Path) -> None:
    path = tmp_path / "text.jsonl"
    bus = Bus()
    odd = AgentResponse(content="café ✓ 日本 \ud800 \x00 \u2028 line\nbreak \"quoted\"")
    with TraceRecorder(path, bus.tracer):
        await bus.publish(odd, source="agent")
    await bus.cleanup()
    [record] = load_recording(path).records
    assert record.get("event") == odd
    assert path.read_bytes().isascii() and path.read_bytes().count(b"\n") == 2  # header + one record


SECRET = 'hunter2 "launch\\codes" ✓'  # quotes, a backslash and non-ASCII: JSON escapes them
KEY_LIKE = "sk-live-4f9a8b7c6d5e4f3a2b1c"


async def test_secrets_and_key_like_strings_never_reach_the_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.jsonl"
    bus = Bus()

    async def leaky(message: Message) -> AsyncIterator[AgentResponse]:
        yield AgentResponse(content=f"the key is {SECRET} and also {KEY_LIKE}")
        raise RuntimeError(f"auth failed for {SECRET}")

    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).stream(leaky).broadcast()
    bus.register_bridge("agent", bridge)
    recorder = TraceRecorder(path, bus.tracer, secrets=(SECRET, None, ""))
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await bus.publish(ToolCall(tool_name="login", tool_args={SECRET: SECRET, "header": f"Bearer {KEY_LIKE}"}),
                      source="user")
    await bus.wait_idle()
    await bus.cleanup()
    recorder.close()

    raw = path.read_bytes()
    forms = {SECRET, json.dumps(SECRET)[1:-1], json.dumps(SECRET, ensure_ascii=False)[1:-1], KEY_LIKE,
             KEY_LIKE[3:]}
    for form in forms:
        assert form.encode("utf-8") not in raw, f"{form!r} was written"
    assert b"hunter2" not in raw

    loaded = load_recording(path)
    assert loaded.errors == []  # redaction keeps every line valid JSON
    texts = [r.get("event").content for r in loaded.records if r.get("event_type") == "AgentResponse"]
    assert texts == ["the key is *** and also ***"]
    errors = [r for r in loaded.records if r.kind is TraceKind.ERROR]
    assert [r.get("message") for r in errors] == ["auth failed for ***"]
    agent_errors = [r.get("event") for r in loaded.records if isinstance(r.get("event"), AgentError)]
    assert agent_errors and all("***" in e.error for e in agent_errors)
    tool = next(r.get("event") for r in loaded.records if isinstance(r.get("event"), ToolCall))
    assert tool.tool_args == {"***": "***", "header": "Bearer ***"}


async def test_a_writer_that_falls_behind_drops_oldest_and_says_how_many(tmp_path: Path) -> None:
    path = tmp_path / "overflow.jsonl"
    bus = Bus()
    recorder = TraceRecorder(path, bus.tracer, max_buffer=4)
    batch = [TraceRecord(TraceKind.PIPELINE_STEP, t, message_id=t) for t in range(1, 11)]
    with recorder._condition:  # the writer is busy: it cannot take anything meanwhile
        recorder._take(batch)
    assert recorder.flush()
    recorder.close()
    await bus.cleanup()

    loaded = load_recording(path)
    overflow, *kept = loaded.records
    assert overflow.kind is TraceKind.OBSERVER_OVERFLOW
    assert (overflow.get("dropped"), overflow.get("total_dropped")) == (6, 6) == (recorder.dropped,) * 2
    assert kept == batch[-4:]


def test_recording_error_reads_as_line_and_reason() -> None:
    assert str(RecordingError(17, "not valid JSON (Expecting value at column 1)")) == \
        "line 17: not valid JSON (Expecting value at column 1)"
    assert Recording().records == [] and Recording().version is None
