"""suspend_on / resume_on: while suspended a route drops its triggers (traced, never silent)."""

from __future__ import annotations

from typing import Any

from line import Bridge, Bus, Message
from line.events import AgentStartedSpeaking, AgentStoppedSpeaking, UserTranscriptionReceived


async def test_a_suspended_route_drops_triggers_until_resumed() -> None:
    bus = Bus()
    heard: list[str] = []
    records: list[Any] = []
    bus.tracer.attach(records.extend)
    bridge = Bridge("listener")
    route = bridge.on(UserTranscriptionReceived).suspend_on(AgentStartedSpeaking).resume_on(AgentStoppedSpeaking) \
        .map(lambda message: heard.append(message.event.content)).route
    bus.register_bridge("listener", bridge)
    await bus.start()
    try:
        await bus.publish(UserTranscriptionReceived(content="before"), source="user")
        await bus.publish(AgentStartedSpeaking(), source="agent")
        assert route.suspended, "suspension applies when the bus accepts the event"
        await bus.publish(UserTranscriptionReceived(content="while the agent talks"), source="user")
        await bus.publish(AgentStoppedSpeaking(), source="agent")
        await bus.publish(UserTranscriptionReceived(content="after"), source="user")
        await bus.wait_idle()
    finally:
        await bus.cleanup()
    bus.tracer.flush()
    assert heard == ["before", "after"]
    drops = [r for r in records if r.kind == "bus.drop"]
    assert [(r.route, r.get("reason")) for r in drops] == [(route.name, "suspended")]
    kinds = [r.kind for r in records if r.kind in ("route.suspended", "route.resumed")]
    assert kinds == ["route.suspended", "route.resumed"]


async def test_suspend_does_not_wait_behind_queued_triggers() -> None:
    bus = Bus(max_queue_size=2)
    seen: list[str] = []

    async def slow(message: Message) -> None:
        seen.append(message.event.content)

    bridge = Bridge("listener")
    route = bridge.on(UserTranscriptionReceived).suspend_on(AgentStartedSpeaking).map(slow).route
    bus.register_bridge("listener", bridge)
    await bus.start()
    try:
        # Queue two triggers without letting the worker run, then suspend: the queued ones were
        # accepted before the suspension and are still served; the suspension itself is immediate.
        await bus.publish(UserTranscriptionReceived(content="a"), source="user")
        await bus.publish(UserTranscriptionReceived(content="b"), source="user")
        await bus.publish(AgentStartedSpeaking(), source="agent")
        assert route.suspended and len(route.inbox) == 2
        await bus.publish(UserTranscriptionReceived(content="c"), source="user")
        await bus.wait_idle()
    finally:
        await bus.cleanup()
    assert seen == ["a", "b"]
