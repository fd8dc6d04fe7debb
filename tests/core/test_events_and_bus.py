"""Events validate at construction; messages carry lineage; bad input gets a clear error."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from line import Bridge, Bus, Message
from line.events import (
    AgentGenerationComplete,
    AgentResponse,
    Event,
    ToolResult,
    UserStoppedSpeaking,
    UserTranscriptionReceived,
)

from .helpers import Consumer


def test_invalid_event_fields_fail_at_construction() -> None:
    with pytest.raises(ValidationError, match="content"):
        AgentResponse()  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="total_length"):
        AgentGenerationComplete(total_length=-1)
    with pytest.raises(ValidationError, match="contnet"):
        AgentResponse(content="x", contnet="typo")  # type: ignore[call-arg]


def test_events_are_immutable_and_user_subclasses_work() -> None:
    chunk = AgentResponse(content="hi")
    with pytest.raises(ValidationError):
        chunk.content = "changed"  # type: ignore[misc]

    class Mood(Event):
        level: int

    assert Mood(level=3).level == 3
    with pytest.raises(ValidationError):
        Mood(level="very")


def test_tool_result_success_and_text() -> None:
    assert ToolResult(tool_name="clock", result="12:00").result_str == "12:00"
    assert ToolResult(tool_name="calc", result={"x": 1}).result_str == '{"x": 1}'
    failed = ToolResult(tool_name="calc", error="division by zero")
    assert not failed.success and failed.result_str is None


@pytest.mark.parametrize("bad", [42, None, "", object(), int])
def test_on_with_a_non_event_raises_type_error_naming_it(bad: object) -> None:
    bridge = Bridge("node")
    with pytest.raises(TypeError, match=r"Bridge\('node'\)\.on\(\): expected an event class") as info:
        bridge.on(bad)
    assert type(bad).__name__ in str(info.value)


async def test_broadcast_rejects_non_event_with_source_in_message() -> None:
    bus = Bus()
    with pytest.raises(TypeError, match=r"from 'llm'.*got dict"):
        await bus.broadcast(Message(source="llm", event={"content": "x"}))


async def test_every_stage_receives_a_message_with_lineage() -> None:
    bus = Bus()
    consumer = Consumer(bus)
    seen: list[tuple[int, int | None, str]] = []
    bridge = Bridge("agent")

    def first(message: Message) -> AgentResponse:
        seen.append((message.id, message.caused_by, type(message.event).__name__))
        return AgentResponse(content=message.event.content.upper())

    def second(message: Message) -> AgentResponse:
        seen.append((message.id, message.caused_by, type(message.event).__name__))
        return AgentResponse(content=message.event.content + "!")

    bridge.on(UserTranscriptionReceived).map(first).map(second).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    trigger = await bus.publish(UserTranscriptionReceived(content="hi"), source="user")
    await bus.wait_idle()
    await bus.cleanup()

    assert consumer.texts == ["HI!"]
    (first_id, first_cause, first_type), (second_id, second_cause, second_type) = seen
    assert (first_id, first_cause, first_type) == (trigger.id, None, "UserTranscriptionReceived")
    assert second_cause == trigger.id and second_type == "AgentResponse"
    delivered = consumer.received[0]
    assert delivered.caused_by == second_id and delivered.source == "agent"
    assert delivered.timestamp > 0


async def test_glob_star_and_property_filters_select_routes() -> None:
    bus = Bus()
    hits: dict[str, list[str]] = {"glob": [], "star": [], "prop": [], "pred": []}
    bridge = Bridge("watch")
    bridge.on("User*").map(lambda m: hits["glob"].append(type(m.event).__name__))
    bridge.on("*").map(lambda m: hits["star"].append(type(m.event).__name__))
    bridge.on(UserTranscriptionReceived, content="yes").map(lambda m: hits["prop"].append(m.event.content))
    bridge.on(UserTranscriptionReceived, content=lambda c: c.startswith("n")).map(
        lambda m: hits["pred"].append(m.event.content))
    bus.register_bridge("watch", bridge)
    await bus.start()
    for event in (UserTranscriptionReceived(content="yes"), UserTranscriptionReceived(content="no"),
                  UserStoppedSpeaking(), AgentResponse(content="x")):
        await bus.publish(event, source="user")
    await bus.wait_idle()
    await bus.cleanup()
    assert hits["glob"] == ["UserTranscriptionReceived", "UserTranscriptionReceived", "UserStoppedSpeaking"]
    assert hits["star"] == ["UserTranscriptionReceived", "UserTranscriptionReceived", "UserStoppedSpeaking",
                            "AgentResponse"]
    assert hits["prop"] == ["yes"]
    assert hits["pred"] == ["no"]


async def test_authorize_restricts_sources() -> None:
    bus = Bus()
    got: list[str] = []
    bridge = Bridge("agent").authorize("user")
    bridge.on(UserTranscriptionReceived).map(lambda m: got.append(m.source))
    bus.register_bridge("agent", bridge)
    await bus.start()
    await bus.publish(UserTranscriptionReceived(content="a"), source="intruder")
    await bus.publish(UserTranscriptionReceived(content="b"), source="user")
    await bus.wait_idle()
    await bus.cleanup()
    assert got == ["user"]


async def test_route_defined_after_start_runs_and_is_traced_with_its_stages() -> None:
    bus = Bus()
    records = []
    bus.tracer.attach(records.extend)
    await bus.start()
    bridge = Bridge("late")
    bus.register_bridge("late", bridge)
    consumer = Consumer(bus)
    bridge.on(UserTranscriptionReceived).map(lambda m: AgentResponse(content=m.event.content)).broadcast()
    await bus.publish(UserTranscriptionReceived(content="late hello"), source="user")
    await bus.wait_idle()
    await bus.cleanup()
    bus.tracer.flush()
    assert consumer.texts == ["late hello"]
    defined = [r for r in records if r.kind == "route.defined" and r.route.startswith("late")]
    assert defined and defined[0].data["stages"] == ["map:<lambda>"]
    assert defined[0].data["broadcast"] == "any"
