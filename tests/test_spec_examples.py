"""Every library code block of ../shared/spec/streaming-responses.md, run against `line`.

The classes and routes below are the spec's code with its library calls unchanged; only the
user-side helpers the spec leaves out (an ``llm_client``, ``clean_text``, ...) are filled in,
in subclasses or module functions. The spec's ``merge_streams`` sketch cannot run as written
(``asyncio.wait`` refuses coroutines, and it removes the wrong objects), so the parallel
example's subclass uses ``line.streaming.merge_streams`` in its place.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from line import Bridge, VoiceAgentSystem
from line.events import (
    AgentGenerationComplete,
    AgentResponse,
    ToolCall,
    ToolResult,
    UserStartedSpeaking,
    UserStoppedSpeaking,
)
from line.nodes import ConversationContext, ReasoningNode

from .core.helpers import wait_for

logger = logging.getLogger("spec")


# -- the user-side helpers the spec assumes -------------------------------------------------


class FakeChunk:
    def __init__(self, text: str) -> None:
        self.text = text


class FakeStream:
    """What ``generate_stream`` returns: async-iterable chunks with ``cancel()``."""

    def __init__(self, client: FakeLLM, words: list[str], stall: bool) -> None:
        self.client = client
        self.words = words
        self.stall = stall
        self.cancelled = False

    def __aiter__(self) -> AsyncIterator[FakeChunk]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[FakeChunk]:
        """Records how the stream ended in ``client.ends``: a real client's HTTP response is
        released on cancellation or close, so a stream left open would be a leaked connection."""
        end = "left open"
        try:
            for word in self.words:
                if self.cancelled:
                    end = "cancel()"
                    return
                await asyncio.sleep(0)
                yield FakeChunk(word)
            if self.stall:
                self.client.stalled.set()
                await asyncio.Event().wait()
            end = "completed"
        except asyncio.CancelledError:
            end = "task cancelled"
            raise
        except GeneratorExit:
            end = "aclose()"
            raise
        finally:
            self.client.ends.append(end)
            logger.info(f"fake LLM stream ended: {end}")

    def cancel(self) -> None:
        self.cancelled = True
        self.client.cancels += 1


class FakeLLM:
    def __init__(self, reply: str = "Hello there. How are you today?", stall: bool = False) -> None:
        self.reply = reply
        self.stall = stall
        self.requests: list[Any] = []
        self.cancels = 0
        self.ends: list[str] = []
        self.stalled = asyncio.Event()

    def generate_stream(self, messages: Any) -> FakeStream:
        if isinstance(messages, ConversationContext):
            messages = messages.format_for_llm()
        self.requests.append(messages)
        return FakeStream(self, [w + " " for w in self.reply.split(" ")[:-1]] + [self.reply.split(" ")[-1]],
                          self.stall)


def clean_text(text: str) -> str:
    return " ".join(text.split()) + (" " if text.endswith(" ") else "")


def needs_punctuation(text: str) -> bool:
    return False


def add_punctuation(text: str) -> str:
    return text + "."


def apply_style_guide(text: str) -> str:
    return text.replace("Hello", "Hi")


def is_appropriate_for_user(text: str) -> bool:
    return "darn" not in text


# -- spec: Basic Streaming Example ------------------------------------------------------------


class StreamingChatNode(ReasoningNode):
    def __init__(self, system_prompt, llm_client):
        super().__init__(system_prompt=system_prompt)
        self.llm_client = llm_client

    async def process_context(self, context):
        # Format conversation for LLM
        messages = self.format_for_llm(context.events)

        # Stream response chunks
        async for chunk in self.llm_client.generate_stream(messages):
            if chunk.text:
                yield AgentResponse(
                    content=chunk.text,
                    chunk_type="text"
                )


def basic_route(bridge: Bridge, node: Any) -> None:
    (
        bridge.on(UserStoppedSpeaking)
        .stream(node.generate)  # Processes each yielded chunk
        .broadcast()            # Sends each chunk immediately
    )


# -- spec: Chunked Processing with Validation -------------------------------------------------


class ValidatedStreamingNode(ReasoningNode):
    async def process_context(self, context):
        accumulated_response = ""

        async for chunk in self.llm_client.generate_stream(context):
            # Validate each chunk
            if self.is_valid_chunk(chunk.text):
                accumulated_response += chunk.text

                # Yield validated chunk
                yield AgentResponse(
                    content=chunk.text,
                    chunk_type="text"
                )
            else:
                # Handle invalid chunks
                logger.warning(f"Invalid chunk filtered: {chunk.text}")

        # Optionally yield completion marker
        yield AgentGenerationComplete(
            total_length=len(accumulated_response),
            chunk_count=self.chunk_counter
        )

    def is_valid_chunk(self, text):
        # Filter inappropriate content, malformed text, etc.
        return (
            text and
            len(text.strip()) > 0 and
            not self.contains_inappropriate_content(text)
        )


class FilledValidatedNode(ValidatedStreamingNode):
    def __init__(self, llm_client: FakeLLM) -> None:
        super().__init__()
        self.llm_client = llm_client
        self.chunk_counter = 0

    def contains_inappropriate_content(self, text: str) -> bool:
        bad = "darn" in text
        self.chunk_counter += not bad
        return bad


# -- spec: Multi-Stage Streaming Pipeline -----------------------------------------------------


async def preprocess_chunks(message):
    """First stage: clean and format chunks."""
    chunk = message.event

    # Clean up chunk text
    cleaned_text = clean_text(chunk.content)

    # Add formatting
    if needs_punctuation(cleaned_text):
        cleaned_text = add_punctuation(cleaned_text)

    yield AgentResponse(
        content=cleaned_text,
        chunk_type="preprocessed"
    )


async def postprocess_chunks(message):
    """Second stage: final processing and validation."""
    chunk = message.event

    # Apply final transformations
    final_text = apply_style_guide(chunk.content)

    # Validate before sending to user
    if is_appropriate_for_user(final_text):
        yield AgentResponse(
            content=final_text,
            chunk_type="final"
        )


def multi_stage_route(bridge: Bridge, node: Any) -> None:
    (
        bridge.on(UserStoppedSpeaking)
        .stream(node.generate)          # Generate raw chunks
        .stream(preprocess_chunks)      # Clean chunks
        .stream(postprocess_chunks)     # Final processing
        .broadcast()                    # Send to user
    )


# -- spec: Buffered Streaming -----------------------------------------------------------------


class BufferedStreamingNode(ReasoningNode):
    def __init__(self, buffer_size=50):
        super().__init__()
        self.buffer_size = buffer_size

    async def process_context(self, context):
        buffer = ""

        async for chunk in self.llm_client.generate_stream(context):
            buffer += chunk.text

            # Send buffer when it reaches target size or at sentence boundaries
            if (len(buffer) >= self.buffer_size or
                self.ends_with_sentence(buffer)):

                yield AgentResponse(
                    content=buffer,
                    chunk_type="buffered"
                )
                buffer = ""

        # Send any remaining content
        if buffer.strip():
            yield AgentResponse(
                content=buffer,
                chunk_type="final"
            )

    def ends_with_sentence(self, text):
        return text.rstrip().endswith(('.', '!', '?'))


# -- spec: Streaming with Tool Integration ----------------------------------------------------


class ToolAwareStreamingNode(ReasoningNode):
    async def process_context(self, context):
        # Check for tool results first
        tool_results = [e for e in context.events if isinstance(e, ToolResult)]

        if tool_results:
            # Stream response incorporating tool results
            async for chunk in self.generate_with_tools(context, tool_results):
                yield chunk
        else:
            # Check if we need to call tools
            user_input = context.get_latest_user_transcript_message()

            if self.requires_tool_call(user_input):
                # Call tool first
                tool_call = self.determine_tool_call(user_input)
                yield tool_call

                # Stream initial response while tool executes
                yield AgentResponse(content="Let me check that for you...")
            else:
                # Normal streaming response
                async for chunk in self.generate_normal_response(context):
                    yield chunk

    async def generate_with_tools(self, context, tool_results):
        """Stream response that incorporates tool results."""
        # Format context with tool results
        enhanced_context = self.add_tool_results_to_context(context, tool_results)

        async for chunk in self.llm_client.generate_stream(enhanced_context):
            if chunk.text:
                yield AgentResponse(content=chunk.text)


class FilledToolNode(ToolAwareStreamingNode):
    def __init__(self, llm_client: FakeLLM) -> None:
        super().__init__()
        self.llm_client = llm_client

    def requires_tool_call(self, user_input: str | None) -> bool:
        return bool(user_input and "time" in user_input)

    def determine_tool_call(self, user_input: str) -> ToolCall:
        return ToolCall(tool_name="clock", tool_args={})

    async def generate_normal_response(self, context: ConversationContext) -> AsyncIterator[AgentResponse]:
        async for chunk in self.llm_client.generate_stream(context):
            yield AgentResponse(content=chunk.text)

    def add_tool_results_to_context(self, context: ConversationContext, tool_results: list[ToolResult]) -> Any:
        return context.format_for_llm()


# -- spec: Interruption-Aware Streaming --------------------------------------------------------


class InterruptibleStreamingNode(ReasoningNode):
    def __init__(self):
        super().__init__()
        self.current_stream = None
        self.chunks_sent = 0

    def on_interrupt_generate(self, message):
        """Handle interruption during streaming."""
        logger.info(f"Streaming interrupted after {self.chunks_sent} chunks")

        # Clean up streaming resources
        if self.current_stream:
            # Cancel ongoing LLM stream
            self.current_stream.cancel()
            self.current_stream = None

        self.chunks_sent = 0

    async def process_context(self, context):
        try:
            self.chunks_sent = 0
            self.current_stream = self.llm_client.generate_stream(context)

            async for chunk in self.current_stream:
                if chunk.text:
                    yield AgentResponse(content=chunk.text)
                    self.chunks_sent += 1

        except asyncio.CancelledError:
            logger.info("Stream cancelled due to interruption")
            raise
        finally:
            self.current_stream = None


def interruption_route(bridge: Bridge, node: Any) -> None:
    (
        bridge.on(UserStoppedSpeaking)
        .interrupt_on(UserStartedSpeaking, handler=node.on_interrupt_generate)
        .stream(node.generate)
        .broadcast()
    )


# -- spec: Parallel Streaming ------------------------------------------------------------------


class ParallelStreamingNode(ReasoningNode):
    async def process_context(self, context):
        # Start multiple streams in parallel for faster response
        tasks = [
            self.generate_main_response(context),
            self.generate_context_analysis(context),
            self.generate_suggestions(context)
        ]

        # Stream results as they become available
        async for chunk in self.merge_streams(tasks):
            yield chunk


class FilledParallelNode(ParallelStreamingNode):
    async def generate_main_response(self, context: Any) -> AsyncIterator[AgentResponse]:
        for word in ("main-1", "main-2", "main-3"):
            await asyncio.sleep(0)
            yield AgentResponse(content=word)

    async def generate_context_analysis(self, context: Any) -> AsyncIterator[AgentResponse]:
        yield AgentResponse(content="analysis")

    async def generate_suggestions(self, context: Any) -> AsyncIterator[AgentResponse]:
        for word in ("suggest-1", "suggest-2"):
            yield AgentResponse(content=word)

    def merge_streams(self, tasks: list[Any]) -> AsyncIterator[Any]:
        from line.streaming import merge_streams

        return merge_streams(*tasks)


# -- spec: Cached Streaming --------------------------------------------------------------------


class CachedStreamingNode(ReasoningNode):
    def __init__(self):
        super().__init__()
        self.response_cache = {}

    async def process_context(self, context):
        # Create cache key from context
        cache_key = self.create_cache_key(context)

        if cache_key in self.response_cache:
            # Stream cached response
            cached_response = self.response_cache[cache_key]
            for chunk in cached_response:
                yield AgentResponse(content=chunk)
        else:
            # Generate and cache new response
            response_chunks = []

            async for chunk in self.llm_client.generate_stream(context):
                if chunk.text:
                    response_chunks.append(chunk.text)
                    yield AgentResponse(content=chunk.text)

            # Cache the complete response
            self.response_cache[cache_key] = response_chunks


class FilledCachedNode(CachedStreamingNode):
    def __init__(self, llm_client: FakeLLM) -> None:
        super().__init__()
        self.llm_client = llm_client

    def create_cache_key(self, context: ConversationContext) -> str:
        return repr(context.get_latest_user_transcript_message())


# -- running them --------------------------------------------------------------------------


async def converse(node: Any, route: Any, *turns: str) -> VoiceAgentSystem:
    system = VoiceAgentSystem()
    bridge = Bridge(node)
    route(bridge, node)
    system.with_speaking_node(node, bridge)
    await system.start()
    for text in turns:
        await system.user.say(text)
        await system.wait_idle()
    return system


async def test_basic_streaming_example() -> None:
    llm = FakeLLM("Hello there. How are you?")
    node = StreamingChatNode(system_prompt="You are kind.", llm_client=llm)
    system = await converse(node, basic_route, "hi")
    await system.cleanup()
    assert system.user.heard == "Hello there. How are you?"
    assert llm.requests[0] == [{"role": "system", "content": "You are kind."}, {"role": "user", "content": "hi"}]


async def test_validated_streaming_filters_and_marks_completion() -> None:
    llm = FakeLLM("Well darn that is fine.")
    node = FilledValidatedNode(llm)
    markers: list[AgentGenerationComplete] = []
    system = VoiceAgentSystem()
    bridge = Bridge(node)
    basic_route(bridge, node)
    system.with_speaking_node(node, bridge)
    watch = Bridge("watch")
    watch.on(AgentGenerationComplete).map(lambda m: markers.append(m.event))
    system.with_node(watch, watch)
    await system.start()
    await system.user.say("hi")
    await system.wait_idle()
    await system.cleanup()
    assert system.user.heard == "Well that is fine."
    assert markers == [AgentGenerationComplete(total_length=len("Well that is fine."), chunk_count=4)]


async def test_multi_stage_pipeline() -> None:
    llm = FakeLLM("Hello world darn ok")
    node = StreamingChatNode(system_prompt="", llm_client=llm)
    system = await converse(node, multi_stage_route, "hi")
    await system.cleanup()
    assert system.user.heard == "Hi world ok"


async def test_buffered_streaming() -> None:
    llm = FakeLLM("One two three. Four five six seven eight nine ten eleven twelve thirteen fourteen. End")
    node = BufferedStreamingNode(buffer_size=30)
    node.llm_client = llm
    received: list[str] = []
    system = VoiceAgentSystem()
    bridge = Bridge(node)
    basic_route(bridge, node)
    system.with_speaking_node(node, bridge)
    await system.start()
    system.user.bridge.on(AgentResponse).map(lambda m: received.append(m.event.chunk_type))
    await system.user.say("hi")
    await system.wait_idle()
    await system.cleanup()
    assert system.user.heard == llm.reply
    assert len(system.user.received) == 4
    assert system.user.received[0] == "One two three. "
    assert received[-1] == "final"


async def test_tool_aware_streaming() -> None:
    llm = FakeLLM("It is noon.")
    node = FilledToolNode(llm)
    tool_calls: list[ToolCall] = []
    system = VoiceAgentSystem()
    bridge = Bridge(node)
    basic_route(bridge, node)
    system.with_speaking_node(node, bridge)
    tools = Bridge("tools")

    async def run_tool(message: Any) -> ToolResult:
        tool_calls.append(message.event)
        return ToolResult(tool_name="clock", result="12:00", tool_call_id=message.event.tool_call_id)

    tools.on(ToolCall).map(run_tool).broadcast()
    bridge.on(ToolResult).map(node.add_event)
    system.with_node(tools, tools)
    await system.start()
    await system.user.say("what time is it?")
    await system.wait_idle()
    assert system.user.heard == "Let me check that for you..."
    assert [c.tool_name for c in tool_calls] == ["clock"]
    await system.user.say("and?")
    await system.wait_idle()
    await system.cleanup()
    assert system.user.heard.endswith("It is noon.")
    roles = [m["role"] for m in llm.requests[0]]
    assert roles == ["user", "assistant", "tool", "user"]
    assert llm.requests[0][1]["content"] == "Let me check that for you..."


async def test_interruption_aware_streaming_cancels_the_llm_stream(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="spec")
    llm = FakeLLM("Once upon a time there was", stall=True)
    node = InterruptibleStreamingNode()
    node.llm_client = llm
    system = await converse(node, interruption_route)
    await system.user.say("tell me a story")
    await llm.stalled.wait()
    await wait_for(lambda: len(system.user.received) == 6, "six chunks heard")
    await system.user.start_speaking()
    await system.wait_idle()
    await system.cleanup()
    # The route closed the generator (its finally cleared current_stream) before the
    # handler ran, so the handler had nothing left to cancel: generators first, then handler.
    assert node.current_stream is None and node.chunks_sent == 0
    assert system.user.heard == "Once upon a time there was"
    assert node.conversation_events[-1].interrupted
    # The LLM stream, stalled waiting for its next token, was cancelled (not left open), once,
    # and that happened before the handler ran, which then found no stream to cancel().
    assert llm.ends == ["task cancelled"] and llm.cancels == 0
    assert [r.getMessage() for r in caplog.records if r.name == "spec"] == [
        "fake LLM stream ended: task cancelled",
        "Stream cancelled due to interruption",
        "Streaming interrupted after 6 chunks",
    ]


async def test_parallel_streaming_merges_all_streams() -> None:
    node = FilledParallelNode()
    system = await converse(node, basic_route, "hi")
    await system.cleanup()
    received = system.user.received
    assert sorted(received) == sorted(["main-1", "main-2", "main-3", "analysis", "suggest-1", "suggest-2"])
    assert [c for c in received if c.startswith("main")] == ["main-1", "main-2", "main-3"]


@pytest.mark.parametrize("turns", [1, 2])
async def test_cached_streaming(turns: int) -> None:
    llm = FakeLLM("Cached answer here.")
    node = FilledCachedNode(llm)
    system = await converse(node, basic_route, *["same question"] * turns)
    await system.cleanup()
    assert system.user.heard == "Cached answer here." * turns
    assert len(llm.requests) == 1
