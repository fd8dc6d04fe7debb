"""Pause/step at the bus (a debugger feature), and the VoiceAgentSystem harness."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from line import Bridge, Bus, CallRequest, Message, ReasoningNode, VoiceAgentSystem
from line.events import AgentResponse, EndCall, UserStartedSpeaking, UserStoppedSpeaking
from line.tools.system_tools import EndCallArgs, end_call

from .helpers import Consumer, wait_for


async def test_pause_holds_run_output_step_releases_one_and_interrupts_still_work() -> None:
    bus = Bus()
    consumer = Consumer(bus)
    records: list[Any] = []
    bus.tracer.attach(records.extend)

    async def generate(message: Message) -> AsyncIterator[AgentResponse]:
        for i in range(5):
            yield AgentResponse(content=str(i))

    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).interrupt_on(UserStartedSpeaking).stream(generate).broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    bus.pause()
    await bus.publish(UserStoppedSpeaking(), source="user")  # outside events still flow while paused
    run = bus.routes[1].active_run
    await wait_for(lambda: bus.routes[1].active_run is not None
                   and bus.routes[1].active_run.awaiting == "pipeline paused", "held at the bus")
    assert consumer.texts == []
    assert bus.step()
    await wait_for(lambda: consumer.texts == ["0"], "one chunk stepped through")
    assert bus.step()
    await wait_for(lambda: consumer.texts == ["0", "1"], "a second step")
    await bus.publish(UserStartedSpeaking(), source="user")  # barge-in while paused
    bus.resume()
    await bus.wait_idle()
    await bus.cleanup()
    bus.tracer.flush()
    assert consumer.texts == ["0", "1"], "the held chunk of the interrupted run never arrives"
    assert not bus.step(), "step only works while paused"
    kinds = [r.kind for r in records]
    assert "pipeline.paused" in kinds and "pipeline.resumed" in kinds and kinds.count("pipeline.step") == 2
    assert run is None or run.interrupted


class Greeter(ReasoningNode):
    async def process_context(self, context: Any) -> AsyncIterator[Any]:
        text = context.get_latest_user_transcript_message() or ""
        if "bye" in text:
            async for item in end_call(EndCallArgs(goodbye_message="Goodbye!")):
                yield item
            return
        yield AgentResponse(content=f"You said {text}.")


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    node = Greeter(system_prompt=call_request.agent.system_prompt)
    bridge = Bridge(node)
    bridge.on(UserStoppedSpeaking).stream(node.generate).broadcast()
    system.with_speaking_node(node, bridge)
    await system.start()
    await system.send_initial_message(call_request.agent.introduction)
    await system.wait_for_shutdown()


async def test_system_runs_a_line_01x_style_agent_until_end_call() -> None:
    system = VoiceAgentSystem()
    request = CallRequest.model_validate({"from": "+1555", "agent": {"system_prompt": "x", "introduction": "Hi!"}})
    assert request.from_ == "+1555"
    task = asyncio.ensure_future(handle_new_call(system, request))
    await system.wait_started()
    await system.wait_idle()
    assert system.user.received == ["Hi!"]
    await system.user.say("hello")
    await system.wait_idle()
    assert system.user.received[-1] == "You said hello."
    await system.user.say("bye now")
    await task  # wait_for_shutdown returned because of EndCall
    assert system.ended and system.user.received[-1] == "Goodbye!"
    node = system.speaking_nodes[0]
    assert [type(e).__name__ for e in node.conversation_events][:2] == ["AgentSpeechSent", "UserTranscriptionReceived"]
    await system.cleanup()


async def test_two_nodes_of_one_class_get_distinct_ids() -> None:
    system = VoiceAgentSystem()
    first, second = Greeter(), Greeter()
    system.with_node(first)
    system.with_node(second)
    assert (first.id, second.id) == ("Greeter", "Greeter-2")
    await system.start()
    await system.cleanup()


async def test_user_endpoint_only_hears_speaking_nodes() -> None:
    system = VoiceAgentSystem()
    talker, whisperer = Bridge("talker"), Bridge("whisperer")
    system.with_speaking_node(Greeter(node_id="talker"), talker)
    system.with_node(Greeter(node_id="whisperer"), whisperer)
    await system.start()
    await talker.send(AgentResponse(content="heard"))
    await whisperer.send(AgentResponse(content="not heard"))
    await whisperer.send(EndCall())
    await system.wait_idle()
    await system.cleanup()
    assert system.user.received == ["heard"]
    assert system.ended
