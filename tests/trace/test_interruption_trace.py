"""An interruption mid-stream, seen through the trace: TraceStats counts every stage exactly,
says where the interrupt landed, and its delivered/cut numbers match what the consumer got."""

from __future__ import annotations

from line.trace import TraceKind, TraceRecord
from line.trace_stats import RouteStats, TraceStats

from .helpers import AGENT_ROUTE, SPEAKER_ROUTE, barge_in_and_settle, build_pipeline, run_until_stalled


def counters(route: RouteStats) -> dict[str, object]:
    return {
        "in": route.items_in, "out": route.items_out, "filtered": route.filtered, "dropped": route.dropped,
        "errors": route.errors, "runs": (route.runs, route.completed, route.interrupted, route.failed),
        "delivered": route.delivered, "cut": route.cut,
        "stages": [(s.label, s.items_in, s.items_out, s.filtered, s.dropped, s.errors, len(s.latency))
                   for s in route.stages],
    }


def index_of(records: list[TraceRecord], kind: TraceKind, route: str = AGENT_ROUTE) -> int:
    matches = [i for i, r in enumerate(records) if r.kind is kind and r.route == route]
    assert len(matches) == 1, f"expected one {kind} of {route}, got {len(matches)}"
    return matches[0]


async def test_counts_landing_stage_and_delivered_vs_cut_of_an_interrupted_three_stage_route() -> None:
    pipeline = build_pipeline(hold_at=3)
    bus = pipeline.bus
    live = TraceStats()
    bus.tracer.attach(live.feed)  # folded batch by batch, as the TUI does
    bus.tracer.attach(pipeline.records.extend)
    await run_until_stalled(pipeline)
    await barge_in_and_settle(pipeline)
    await bus.cleanup()
    bus.tracer.flush()
    records = pipeline.records

    # What the consumer actually heard: AL, PHA, and BE (held while the interrupt was accepted).
    assert pipeline.consumer.received == ["AL", "PHA", "BE"]
    assert pipeline.log == ["split alpha closed", "split beta closed", "split gamma closed", "generate closed",
                            "handler"]

    stats = TraceStats()
    stats.feed(records)
    agent = stats.routes[AGENT_ROUTE]
    assert counters(agent) == {
        "in": 1, "out": 5, "filtered": 0, "dropped": 0, "errors": 0, "runs": (1, 0, 1, 0),
        "delivered": 3, "cut": 2,
        "stages": [
            ("stream:Pipeline.generate", 1, 3, 0, 0, 0, 3),  # alpha, beta, gamma
            ("stream:Pipeline.split", 3, 5, 0, 1, 0, 5),  # al pha be ta ga; the interrupt landed here
            ("map:Pipeline.shout", 5, 5, 0, 0, 0, 5),
        ],
    }
    speaker = stats.routes[SPEAKER_ROUTE]
    assert counters(speaker) == {
        "in": 3, "out": 0, "filtered": 3, "dropped": 2, "errors": 0, "runs": (3, 3, 0, 0),
        "delivered": 0, "cut": 0,
        "stages": [("map:HoldingConsumer._receive", 3, 0, 3, 0, 0, 0)],  # the consumer's map returns None
    }
    assert counters(live.routes[AGENT_ROUTE]) == counters(agent)
    assert counters(live.routes[SPEAKER_ROUTE]) == counters(speaker)

    # Where it landed, from the raw record and from the fold.
    landed = records[index_of(records, TraceKind.INTERRUPT_LANDED)]
    assert landed.stage == 1
    assert landed.get("stage_name") == "Pipeline.split"
    [card] = stats.interruptions
    assert (card.route, card.trigger, card.stage, card.stage_name) == \
        (AGENT_ROUTE, "UserStartedSpeaking", 1, "Pipeline.split")
    assert card.handler == "Pipeline.on_interrupt"
    assert card.handler_ok is True
    assert card.status == "interrupted"

    # Delivered and cut are what the consumer received and what was purged from its inbox.
    purged = [r for r in records if r.kind is TraceKind.BUS_DROP and r.get("reason") == "interrupted"]
    assert (card.delivered, card.cut) == (len(pipeline.consumer.received), len(purged)) == (3, 2)
    assert {r.route for r in purged} == {SPEAKER_ROUTE}

    # accepted → landed → generators closed → run finished → handler started → handler finished,
    # in the trace's order and in time.
    phases = [TraceKind.INTERRUPT_ACCEPTED, TraceKind.INTERRUPT_LANDED, TraceKind.INTERRUPT_CLOSED,
              TraceKind.RUN_FINISHED, TraceKind.HANDLER_STARTED, TraceKind.HANDLER_FINISHED]
    positions = [index_of(records, kind) for kind in phases]
    assert positions == sorted(positions)
    times = [records[i].t_ns for i in positions]
    assert times == sorted(times)
    accepted = records[positions[0]].t_ns
    closed, finished = records[positions[2]], records[positions[5]]
    assert closed.get("since_accepted_ns") <= finished.get("since_accepted_ns")
    assert closed.t_ns - accepted >= closed.get("since_accepted_ns") >= 0
    assert card.accepted_ns == accepted
    assert card.landed_ns is not None and card.closed_ns is not None and card.handler_ns is not None
    assert 0 <= card.landed_ns <= card.closed_ns <= card.handler_ns
    assert stats.interrupt_close_percentile(50) == card.closed_ns
    assert stats.interrupt_handler_percentile(50) == card.handler_ns

    # One run produced chunks: one time-to-first-chunk sample, from run.started to "AL" published.
    started = records[index_of(records, TraceKind.RUN_STARTED)]
    first = next(r for r in records if r.kind is TraceKind.BUS_PUBLISH and r.get("event_type") == "AgentResponse")
    assert list(stats.first_chunk) == [first.t_ns - started.t_ns]
    assert stats.chunks_total == 5
