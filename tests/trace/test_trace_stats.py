"""TraceStats on hand-made records: percentiles, chunks/s, time to first chunk, stage latency,
interruptions, and that folding in pieces equals folding at once."""

from __future__ import annotations

from typing import Any

import pytest

from line.events import AgentResponse, ToolCall
from line.trace import TraceKind, TraceRecord
from line.trace_stats import Samples, TraceStats

R = "agent:UserStoppedSpeaking"
MS = 1_000_000


class Shout(AgentResponse):
    """A user subclass of AgentResponse still counts as a chunk."""


def rec(kind: TraceKind, t: int, **fields: Any) -> TraceRecord:
    data = fields.pop("data", None)
    return TraceRecord(kind, t, data=data, **fields)


def publish(t: int, run_id: int | None, event: Any, route: str | None = R) -> TraceRecord:
    return rec(TraceKind.BUS_PUBLISH, t, route=route if run_id is not None else None, run_id=run_id,
               data={"source": "agent", "event_type": type(event).__name__, "event": event})


def defined(route: str = R, stages: tuple[str, ...] = ("stream:generate", "map:clean")) -> TraceRecord:
    return rec(TraceKind.ROUTE_DEFINED, 0, route=route, data={"stages": list(stages)})


def test_percentiles_are_nearest_rank_over_the_kept_values() -> None:
    samples = Samples()
    assert samples.percentile(50) is None
    for value in range(100, 0, -1):
        samples.add(value)
    assert (samples.percentile(0), samples.percentile(50), samples.percentile(95), samples.percentile(100)) == \
        (1, 50, 95, 100)
    with pytest.raises(ValueError, match="between 0 and 100"):
        samples.percentile(101)

    bounded = Samples(maxlen=10)
    for value in range(1, 21):
        bounded.add(value)
    assert len(bounded) == 10 and bounded.count == 20
    assert list(bounded) == list(range(11, 21))
    assert bounded.percentile(0) == 11
    bounded.add(0)  # the cached order is invalidated by a new value
    assert bounded.percentile(0) == 0


def test_chunks_per_second_is_the_rate_of_the_latest_second_of_chunks() -> None:
    stats = TraceStats()
    assert stats.chunks_per_second() == 0.0
    # 101 chunks 10 ms apart: 100 intervals in one second.
    stats.feed(publish(i * 10 * MS, 1, AgentResponse(content="x")) for i in range(101))
    assert stats.chunks_per_second() == pytest.approx(100.0)
    # Not chunks: they change nothing.
    stats.feed([publish(1_005 * MS, 1, ToolCall(tool_name="t")), publish(1_006 * MS, None, ToolCall(tool_name="t"))])
    assert stats.chunks_total == 101 and stats.chunks_per_second() == pytest.approx(100.0)
    # A later burst, 4 ms apart (a subclass of AgentResponse counts): the window follows it.
    stats.feed(publish(5_000 * MS + i * 4 * MS, 2, Shout(content="y")) for i in range(11))
    assert stats.chunks_total == 112
    assert stats.chunks_per_second() == pytest.approx(250.0)
    # A window reaching back into the first burst: 111 intervals over 5.04 s.
    assert stats.chunks_per_second(window_ns=10_000 * MS) == pytest.approx(111 / 5.04)


def test_time_to_first_chunk_counts_only_each_runs_first_agent_response() -> None:
    stats = TraceStats()
    stats.feed([
        defined(),
        rec(TraceKind.RUN_STARTED, 1_000, route=R, run_id=1),
        publish(1_500, 1, ToolCall(tool_name="lookup")),  # not a chunk
        publish(3_000, 1, AgentResponse(content="a")),  # first chunk: 2000
        publish(4_000, 1, AgentResponse(content="b")),
        rec(TraceKind.RUN_FINISHED, 5_000, route=R, run_id=1, data={"status": "completed", "delivered": 2, "cut": 0}),
        rec(TraceKind.RUN_STARTED, 10_000, route=R, run_id=2),  # says nothing
        rec(TraceKind.RUN_FINISHED, 12_000, route=R, run_id=2, data={"status": "completed", "delivered": 0, "cut": 0}),
        rec(TraceKind.RUN_STARTED, 20_000, route=R, run_id=3),
        publish(20_500, 3, AgentResponse(content="c")),  # 500
        publish(21_000, 9, AgentResponse(content="d")),  # a run never seen starting: no sample
    ])
    assert list(stats.first_chunk) == [2_000, 500]
    assert list(stats.routes[R].first_chunk) == [2_000, 500]
    assert stats.first_chunk_percentile(50) == 500 and stats.first_chunk_percentile(100) == 2_000
    route = stats.routes[R]
    assert (route.runs, route.completed, route.delivered, route.items_out) == (3, 2, 2, 5)


def test_stage_latency_is_each_stages_own_time_per_output() -> None:
    stats = TraceStats()
    stats.feed([
        defined(),
        rec(TraceKind.RUN_STARTED, 0, route=R, run_id=1, message_id=1),
        rec(TraceKind.STAGE_IN, 100, route=R, run_id=1, stage=0, message_id=1),
        rec(TraceKind.STAGE_OUT, 400, route=R, run_id=1, stage=0, message_id=2, caused_by=1),  # 300
        rec(TraceKind.STAGE_IN, 410, route=R, run_id=1, stage=1, message_id=2),
        rec(TraceKind.STAGE_OUT, 450, route=R, run_id=1, stage=1, message_id=3, caused_by=2),  # 40
        publish(460, 1, AgentResponse(content="A")),
        # Another task delivers this run's chunk: not time this run spent.
        rec(TraceKind.BUS_DELIVER, 900, route="speaker:AgentResponse", run_id=1, message_id=3),
        rec(TraceKind.STAGE_OUT, 1_460, route=R, run_id=1, stage=0, message_id=4, caused_by=1),  # 1000
        rec(TraceKind.STAGE_IN, 1_470, route=R, run_id=1, stage=1, message_id=4),
        rec(TraceKind.STAGE_FILTERED, 1_500, route=R, run_id=1, stage=1, message_id=4),
        rec(TraceKind.STAGE_OUT, 1_600, route=R, run_id=1, stage=0, message_id=5, caused_by=1),  # 100
        rec(TraceKind.STAGE_IN, 1_610, route=R, run_id=1, stage=1, message_id=5),
        rec(TraceKind.ERROR, 1_700, route=R, run_id=1, stage=1, data={"where": "stage", "exc_type": "ValueError"}),
        rec(TraceKind.ERROR, 1_710, route=R, run_id=1, stage=2, data={"where": "broadcast"}),
    ])
    generate, clean = stats.routes[R].stages
    assert list(generate.latency) == [300, 1_000, 100]
    assert list(clean.latency) == [40]
    assert stats.stage_latency(R, 0) == (300, 1_000)
    assert stats.stage_latency(R, 1) == (40, 40)
    assert stats.stage_latency(R, 7) == (None, None) and stats.stage_latency("nope", 0) == (None, None)
    assert (generate.items_in, generate.items_out, generate.filtered, generate.errors) == (1, 3, 0, 0)
    assert (clean.items_in, clean.items_out, clean.filtered, clean.errors) == (3, 1, 1, 1)
    route = stats.routes[R]
    assert (route.filtered, route.errors, stats.errors_total) == (1, 2, 2)  # the broadcast error: route only
    assert stats.routes["speaker:AgentResponse"].items_in == 1


def test_interruptions_collect_landing_latencies_and_delivered_vs_cut() -> None:
    stats = TraceStats()
    stats.feed([
        defined(),
        rec(TraceKind.INTERRUPT_ACCEPTED, 50, route=R, run_id=None, data={"trigger": "UserStartedSpeaking",
                                                                          "idle": True}),
        rec(TraceKind.RUN_STARTED, 100, route=R, run_id=7),
        rec(TraceKind.INTERRUPT_ACCEPTED, 1_000, route=R, run_id=7,
            data={"trigger": "UserStartedSpeaking", "idle": False, "stage": 0, "awaiting": "generate"}),
        rec(TraceKind.BUS_DROP, 1_001, route="speaker:AgentResponse", run_id=7, data={"reason": "interrupted"}),
        rec(TraceKind.BUS_DROP, 1_002, route="speaker:AgentResponse", run_id=7, data={"reason": "interrupted"}),
        rec(TraceKind.INTERRUPT_LANDED, 1_010, route=R, run_id=7, stage=1,
            data={"stage_name": "clean", "awaiting": "clean", "since_accepted_ns": 10}),
        rec(TraceKind.INTERRUPT_CLOSED, 1_020, route=R, run_id=7, data={"since_accepted_ns": 20}),
        rec(TraceKind.RUN_FINISHED, 1_030, route=R, run_id=7,
            data={"status": "interrupted", "chunks_out": 6, "delivered": 4, "cut": 2}),
        rec(TraceKind.HANDLER_STARTED, 1_031, route=R, run_id=7, data={"handler": "Node.on_interrupt"}),
        rec(TraceKind.HANDLER_FINISHED, 1_050, route=R, run_id=7, data={"ok": True, "since_accepted_ns": 50}),
        rec(TraceKind.OBSERVER_OVERFLOW, 2_000, data={"dropped": 3, "total_dropped": 3}),
    ])
    [card] = stats.interruptions  # the idle one is not an interruption
    assert stats.interruptions_total == 1
    assert (card.route, card.run_id, card.trigger, card.accepted_ns) == (R, 7, "UserStartedSpeaking", 1_000)
    assert (card.stage, card.stage_name, card.awaiting) == (1, "clean", "clean")
    assert (card.landed_ns, card.closed_ns, card.handler_ns) == (10, 20, 50)
    assert (card.handler, card.handler_ok, card.status, card.delivered, card.cut) == \
        ("Node.on_interrupt", True, "interrupted", 4, 2)
    assert stats.interrupt_landed_percentile(50) == 10
    assert stats.interrupt_close_percentile(50) == 20
    assert stats.interrupt_handler_percentile(50) == 50
    assert stats.routes[R].stages[1].dropped == 1  # the item in "clean" was abandoned
    assert (stats.routes[R].interrupted, stats.routes[R].cut) == (1, 2)
    assert stats.routes["speaker:AgentResponse"].dropped == 2
    assert stats.records_dropped == 3


def test_routes_never_defined_get_their_stages_as_records_name_them() -> None:
    stats = TraceStats()
    stats.feed([
        rec(TraceKind.STAGE_IN, 10, route="late", run_id=3, stage=2, message_id=1),
        rec(TraceKind.STAGE_OUT, 30, route="late", run_id=3, stage=2, message_id=2, caused_by=1),
    ])
    stages = stats.routes["late"].stages
    assert [(s.index, s.label, s.items_in, s.items_out) for s in stages] == [(0, "?", 0, 0), (1, "?", 0, 0),
                                                                               (2, "?", 1, 1)]
    assert list(stages[2].latency) == [20]
    # When the definition arrives, the counters seen so far are kept under the real labels.
    stats.feed([defined("late", ("stream:a", "stream:b", "map:c"))])
    assert [(s.label, s.items_in) for s in stats.routes["late"].stages] == [("stream:a", 0), ("stream:b", 0),
                                                                             ("map:c", 1)]


def test_memory_stays_bounded() -> None:
    stats = TraceStats(max_samples=5)
    records: list[TraceRecord] = []
    for run in range(1, 51):
        records.append(rec(TraceKind.RUN_STARTED, run * 100, route=R, run_id=run))
        records.append(publish(run * 100 + run, run, AgentResponse(content="x")))
        records.append(rec(TraceKind.RUN_FINISHED, run * 100 + 99, route=R, run_id=run, data={"status": "completed"}))
    stats.feed(records)
    assert list(stats.first_chunk) == [46, 47, 48, 49, 50] and stats.first_chunk.count == 50
    assert stats.chunks_total == 50
    assert stats._runs == {}  # finished runs are forgotten


def test_folding_in_pieces_equals_folding_at_once() -> None:
    records = [
        defined(),
        rec(TraceKind.RUN_STARTED, 0, route=R, run_id=1),
        rec(TraceKind.STAGE_IN, 5, route=R, run_id=1, stage=0, message_id=1),
        *[rec(TraceKind.STAGE_OUT, 10 + i * 7, route=R, run_id=1, stage=0, message_id=10 + i, caused_by=1)
          for i in range(20)],
        *[publish(11 + i * 7, 1, AgentResponse(content=str(i))) for i in range(20)],
        rec(TraceKind.RUN_FINISHED, 500, route=R, run_id=1, data={"status": "completed", "delivered": 20, "cut": 0}),
    ]
    records.sort(key=lambda r: r.t_ns)
    whole, pieces = TraceStats(), TraceStats()
    whole.feed(records)
    for start in range(0, len(records), 3):
        pieces.feed(records[start:start + 3])

    def view(stats: TraceStats) -> tuple[object, ...]:
        route = stats.routes[R]
        stage = route.stages[0]
        return (route.runs, route.items_out, route.delivered, stage.items_in, stage.items_out, list(stage.latency),
                list(stats.first_chunk), stats.chunks_per_second(), stats.records_seen)

    assert view(whole) == view(pieces)
    assert view(whole)[3:5] == (1, 20) and whole.records_seen == len(records)
