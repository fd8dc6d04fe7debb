"""A real agent route on the OpenAI client over real HTTP: a barge-in closes the HTTP stream
(the server sees the disconnect), and a connection dropped mid-reply becomes an AgentError
that names the cause while the chunks already heard stay heard and in the context."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from line import Bridge, Bus, ConversationContext, ReasoningNode
from line.events import AgentError, AgentResponse, AgentSpeechSent, UserStartedSpeaking, UserStoppedSpeaking
from line.llm import OpenAIClient

from ..core.helpers import Consumer, wait_for
from .sse_server import SSEServer

KEY = "sk-route-test-key-0123456789"


class Chat(ReasoningNode):
    def __init__(self, llm: OpenAIClient) -> None:
        super().__init__(system_prompt="be brief")
        self.llm = llm

    async def process_context(self, context: ConversationContext) -> AsyncIterator[AgentResponse]:
        async for chunk in self.llm.generate_stream(context.format_for_llm()):
            if chunk.text:
                yield AgentResponse(content=chunk.text)


async def agent_on(sse_server: SSEServer) -> tuple[Bus, Consumer, Chat, OpenAIClient, list[Any]]:
    llm = OpenAIClient(model="test-model", base_url=sse_server.base_url, api_key=KEY, timeout=5.0)
    node = Chat(llm)
    bus = Bus()
    consumer = Consumer(bus)
    errors: list[Any] = []
    bridge = Bridge("agent")
    bridge.on(UserStoppedSpeaking).interrupt_on(UserStartedSpeaking, handler=node.on_interrupt_generate) \
        .stream(node.generate).broadcast()
    bus.register_bridge("agent", bridge)
    watcher = Bridge("watcher")
    watcher.on(AgentError).map(lambda message: errors.append(message.event))
    bus.register_bridge("watcher", watcher)
    await bus.start()
    return bus, consumer, node, llm, errors


async def test_barge_in_closes_the_http_stream(sse_server: SSEServer) -> None:
    gate = asyncio.Event()  # never set: the server stays mid-reply until the client leaves
    sse_server.add(chunks=["one", " two", " three", " four"], gate=gate, gate_after=2)
    bus, consumer, node, llm, errors = await agent_on(sse_server)
    try:
        await bus.publish(UserStoppedSpeaking(), source="user")
        await wait_for(lambda: consumer.texts == ["one", " two"], "two chunks heard")
        await sse_server.gate_reached.wait()
        started = time.monotonic()
        await bus.publish(UserStartedSpeaking(), source="user")
        await asyncio.wait_for(sse_server.disconnected.wait(), 1.0)
        assert sse_server.disconnected_at is not None and sse_server.disconnected_at - started < 1.0
        await bus.wait_idle()
    finally:
        await bus.cleanup()
        await llm.aclose()
    assert consumer.texts == ["one", " two"]
    assert node.conversation_events[-1] == AgentSpeechSent(content="one two", interrupted=True)
    assert errors == [], "a barge-in is not an error"


async def test_a_drop_mid_reply_is_an_agent_error_and_keeps_what_was_heard(sse_server: SSEServer) -> None:
    sse_server.add(chunks=["Hello", " there", " general", " Kenobi"], drop_after=2)
    bus, consumer, node, llm, errors = await agent_on(sse_server)
    try:
        await bus.publish(UserStoppedSpeaking(), source="user")
        await bus.wait_idle()
    finally:
        await bus.cleanup()
        await llm.aclose()
    assert consumer.texts == ["Hello", " there"]
    [error] = errors
    assert error.error_type == "LLMError" and error.route == "agent:UserStoppedSpeaking"
    assert error.code == "stream_dropped" and error.stage == "Chat.generate"
    assert "stream dropped mid-response" in error.error
    assert KEY not in error.error
    assert node.conversation_events[-1].content == "Hello there"
