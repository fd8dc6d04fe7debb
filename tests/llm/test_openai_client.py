"""OpenAIClient through the real ``openai`` client and real HTTP against a local SSE server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from line.llm import LLMChunk, LLMError, OpenAIClient

from .sse_server import Script, SSEServer, ToolCallScript

KEY = "sk-secret-test-key"
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hello"}]


@pytest.fixture
async def client(sse_server: SSEServer) -> AsyncIterator[OpenAIClient]:
    llm = OpenAIClient(model="test-model", base_url=sse_server.base_url, api_key=KEY, timeout=5.0)
    try:
        yield llm
    finally:
        await llm.aclose()


async def collect(stream: AsyncIterator[LLMChunk]) -> list[LLMChunk]:
    return [chunk async for chunk in stream]


async def test_streams_text_and_sends_model_and_stream_flag(
    sse_server: SSEServer, client: OpenAIClient
) -> None:
    sse_server.add(chunks=["The answer", " is", " 42."])
    stream = client.generate_stream(MESSAGES)
    chunks = await collect(stream)
    assert "".join(c.text for c in chunks) == "The answer is 42."
    assert stream.text_so_far == "The answer is 42."
    assert stream.finished and not stream.cancelled and stream.error is None
    assert stream.finish_reason == "stop"
    assert chunks[-1].finish_reason == "stop"
    [request] = sse_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["stream"] is True
    assert request.body["model"] == "test-model"
    assert request.body["messages"] == MESSAGES
    assert request.body["stream_options"] == {"include_usage": True}
    assert "tools" not in request.body
    assert request.headers["authorization"] == f"Bearer {KEY}"


async def test_no_request_until_first_iteration(sse_server: SSEServer, client: OpenAIClient) -> None:
    stream = client.generate_stream(MESSAGES)
    await asyncio.sleep(0)
    assert sse_server.requests == [] and not stream.started
    stream.cancel()  # never iterated: nothing to close, nothing left behind
    assert [c async for c in stream] == []
    assert sse_server.requests == []


async def test_tool_call_assembled_from_deltas(sse_server: SSEServer, client: OpenAIClient) -> None:
    sse_server.add(
        chunks=[],
        tool_calls=[
            ToolCallScript("get_weather", '{"city": "Paris", "unit": "celsius"}', id="call_1", pieces=4),
            ToolCallScript("lookup", "{not json", id="call_2", pieces=2),
        ],
    )
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    stream = client.generate_stream(MESSAGES, tools=tools)
    chunks = await collect(stream)
    with_calls = [c for c in chunks if c.tool_calls]
    assert len(with_calls) == 1 and with_calls[0].finish_reason == "tool_calls"
    weather, bad = with_calls[0].tool_calls
    assert (weather.id, weather.name, weather.arguments) == (
        "call_1",
        "get_weather",
        {"city": "Paris", "unit": "celsius"},
    )
    assert weather.raw_arguments == '{"city": "Paris", "unit": "celsius"}'
    assert weather.parse_error is None
    assert (bad.id, bad.name, bad.arguments, bad.raw_arguments) == ("call_2", "lookup", {}, "{not json")
    assert bad.parse_error is not None and "invalid JSON" in bad.parse_error
    assert stream.tool_calls == [weather, bad]
    event = weather.to_event()
    assert (event.tool_name, event.tool_args, event.tool_call_id) == (
        "get_weather",
        weather.arguments,
        "call_1",
    )
    assert sse_server.requests[0].body["tools"] == tools


@pytest.mark.parametrize("layout", ["alternating", "together"])
async def test_interleaved_tool_call_deltas_are_assembled_per_index(
    sse_server: SSEServer, client: OpenAIClient, layout: str
) -> None:
    weather_args = '{"city": "Paris", "unit": "celsius"}'
    search_args = '{"query": "museums", "limit": 3}'
    script = sse_server.add(
        chunks=[],
        tool_call_layout=layout,
        tool_calls=[
            ToolCallScript("get_weather", weather_args, id="call_w", pieces=4),
            ToolCallScript("search", search_args, id="call_s", pieces=4),
        ],
    )
    # The server really interleaves: which call each tool-call delta it sends belongs to.
    sent = [[d["index"] for d in event["choices"][0]["delta"]["tool_calls"]]
            for _, event in SSEServer._events(script, "m") if event["choices"]
            and "tool_calls" in event["choices"][0]["delta"]]
    if layout == "alternating":
        assert sent == [[0], [1]] * 5
    else:
        assert sent == [[0, 1]] * 5
    stream = client.generate_stream(MESSAGES)
    chunks = await collect(stream)
    [with_calls] = [c for c in chunks if c.tool_calls]
    assert with_calls.finish_reason == "tool_calls"
    weather, search = with_calls.tool_calls
    assert (weather.id, weather.name, weather.raw_arguments, weather.arguments, weather.parse_error) == (
        "call_w", "get_weather", weather_args, {"city": "Paris", "unit": "celsius"}, None)
    assert (search.id, search.name, search.raw_arguments, search.arguments, search.parse_error) == (
        "call_s", "search", search_args, {"query": "museums", "limit": 3}, None)
    assert stream.tool_calls == [weather, search]


async def test_usage_only_final_chunk(sse_server: SSEServer, client: OpenAIClient) -> None:
    sse_server.add(chunks=["ok"], usage={"prompt_tokens": 11, "completion_tokens": 1, "total_tokens": 12})
    stream = client.generate_stream(MESSAGES)
    chunks = await collect(stream)
    assert "".join(c.text for c in chunks) == "ok"
    assert chunks[-1].usage is not None and chunks[-1].text == ""
    assert (stream.usage.prompt_tokens, stream.usage.completion_tokens, stream.usage.total_tokens) == (
        11,
        1,
        12,
    )


async def test_cancel_mid_stream_from_another_task_disconnects(
    sse_server: SSEServer, client: OpenAIClient
) -> None:
    gate = asyncio.Event()  # never set: the server stays mid-stream until the client leaves
    sse_server.add(chunks=["one", " two", " three", " four"], gate=gate, gate_after=2)
    stream = client.generate_stream(MESSAGES)
    received: list[str] = []
    two_received = asyncio.Event()

    async def consume() -> str:
        async for chunk in stream:
            received.append(chunk.text)
            if len(received) == 2:
                two_received.set()
        return "ended quietly"

    consumer = asyncio.create_task(consume())
    await two_received.wait()
    await sse_server.gate_reached.wait()
    assert stream._waiter is consumer  # the consumer is blocked inside __anext__, mid-stream
    started = time.monotonic()
    stream.cancel()
    assert await consumer == "ended quietly"
    await asyncio.wait_for(sse_server.disconnected.wait(), 1.0)
    assert sse_server.disconnected_at is not None
    assert sse_server.disconnected_at - started < 1.0
    await stream.aclose()
    assert received == ["one", " two"]
    assert stream.cancelled and not stream.finished
    assert stream.text_so_far == "one two"
    stream.cancel()  # idempotent


async def test_cancel_in_loop_body_then_aclose(sse_server: SSEServer, client: OpenAIClient) -> None:
    gate = asyncio.Event()
    sse_server.add(chunks=["a", "b", "c"], gate=gate, gate_after=1)
    async with client.generate_stream(MESSAGES) as stream:
        async for chunk in stream:
            assert chunk.text == "a"
            await sse_server.gate_reached.wait()
            stream.cancel()
    await asyncio.wait_for(sse_server.disconnected.wait(), 1.0)
    assert stream.cancelled and stream.chunks_delivered == 1


async def test_aclose_while_consumer_blocked(sse_server: SSEServer, client: OpenAIClient) -> None:
    gate = asyncio.Event()
    sse_server.add(chunks=["x", "y"], gate=gate, gate_after=1)
    stream = client.generate_stream(MESSAGES)
    first = asyncio.Event()

    async def consume() -> list[str]:
        texts = []
        async for chunk in stream:
            texts.append(chunk.text)
            first.set()
        return texts

    consumer = asyncio.create_task(consume())
    await first.wait()
    await sse_server.gate_reached.wait()
    await stream.aclose()
    assert await consumer == ["x"]
    await asyncio.wait_for(sse_server.disconnected.wait(), 1.0)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (401, "auth", "authentication failed (HTTP 401): check OPENAI_API_KEY / --api-key"),
        (429, "rate_limit", "rate limited (HTTP 429)"),
        (500, "server_error", "server error (HTTP 500)"),
        (404, "model_not_found", "model 'test-model' not found (HTTP 404)"),
        (400, "bad_request", "request rejected (HTTP 400)"),
    ],
)
async def test_http_errors_are_classified_and_redacted(
    sse_server: SSEServer, client: OpenAIClient, status: int, code: str, expected: str
) -> None:
    # The server echoes the credential into its message, as some do: it must never reach us.
    sse_server.add(status=status, error_message=f"nope, key {KEY} rejected", echo_auth=True)
    stream = client.generate_stream(MESSAGES)
    with pytest.raises(LLMError) as info:
        await collect(stream)
    err = info.value
    assert err.code == code and err.status == status and err.chunks_before == 0
    assert expected in str(err)
    event = err.to_event()
    assert event.code == code and expected in event.error
    for text in (str(err), repr(err), err.message, event.error, repr(client), repr(stream)):
        assert KEY not in text
    assert stream.error is err and not stream.finished
    assert len(sse_server.requests) == 1  # max_retries=0
    assert [c async for c in stream] == []  # iteration stays over after an error


async def test_mid_stream_drop_keeps_delivered_chunks(sse_server: SSEServer, client: OpenAIClient) -> None:
    sse_server.add(chunks=["Hello", " there", " general", " Kenobi"], drop_after=2)
    stream = client.generate_stream(MESSAGES)
    received: list[str] = []
    with pytest.raises(LLMError) as info:
        async for chunk in stream:
            received.append(chunk.text)
    err = info.value
    assert err.code == "stream_dropped"
    assert err.chunks_before == len(received) == 2
    assert received == ["Hello", " there"]
    assert stream.text_so_far == "Hello there"
    assert err.retryable is False
    assert KEY not in str(err)


async def test_connection_refused(sse_server: SSEServer) -> None:
    port = sse_server.port
    await sse_server.stop()  # nothing listens there any more
    llm = OpenAIClient(base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, timeout=2.0)
    try:
        with pytest.raises(LLMError) as info:
            await collect(llm.generate_stream(MESSAGES))
    finally:
        await llm.aclose()
    assert info.value.code == "connection" and info.value.retryable
    assert KEY not in str(info.value)


async def test_environment_variables(sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", sse_server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-0123456789")
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    async with OpenAIClient() as llm:
        assert llm.model == "gpt-4o-mini" and llm.base_url == sse_server.base_url
        assert "sk-env-key-0123456789" not in repr(llm)
        await collect(llm.generate_stream(MESSAGES))
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    monkeypatch.delenv("OPENAI_API_KEY")
    async with OpenAIClient() as llm:
        assert llm.model == "env-model" and not llm.has_api_key
        await collect(llm.generate_stream(MESSAGES))
    first, second = sse_server.requests
    assert first.headers["authorization"] == "Bearer sk-env-key-0123456789"
    assert first.body["model"] == "gpt-4o-mini"
    assert second.headers["authorization"] == "Bearer sk-no-key"
    assert second.body["model"] == "env-model"


async def test_explicit_arguments_win_over_environment(
    sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    async with OpenAIClient(model="arg-model", base_url=sse_server.base_url, extra_body={"top_k": 3}) as llm:
        await collect(llm.generate_stream(MESSAGES))
    body = sse_server.requests[0].body
    assert body["model"] == "arg-model" and body["top_k"] == 3


async def test_several_streams_reuse_client(sse_server: SSEServer, client: OpenAIClient) -> None:
    sse_server.add(Script(chunks=["first"]))
    sse_server.add(Script(chunks=["second"]))
    texts = []
    for _ in range(2):
        stream = client.generate_stream(MESSAGES)
        await collect(stream)
        texts.append(stream.text_so_far)
    assert texts == ["first", "second"]


async def test_cancel_before_response_headers(sse_server: SSEServer, client: OpenAIClient) -> None:
    sse_server.add(chunks=["late"], headers_gate=asyncio.Event())  # time to first byte never ends
    stream = client.generate_stream(MESSAGES)
    consumer = asyncio.create_task(collect(stream))
    await sse_server.gate_reached.wait()
    assert stream._waiter is consumer  # blocked in the request itself
    stream.cancel()
    assert await consumer == []
    await asyncio.wait_for(sse_server.disconnected.wait(), 1.0)
    await stream.aclose()
    assert stream.cancelled and stream.chunks_delivered == 0


async def test_consumer_task_cancelled_closes_the_response(
    sse_server: SSEServer, client: OpenAIClient
) -> None:
    """A barge-in that cancels the consuming task (not the stream) still closes the HTTP stream."""
    sse_server.add(chunks=["a", "b"], gate=asyncio.Event(), gate_after=1)
    stream = client.generate_stream(MESSAGES)
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in stream:
            first.set()

    consumer = asyncio.create_task(consume())
    await first.wait()
    await sse_server.gate_reached.wait()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert stream.cancelled
    await asyncio.wait_for(sse_server.disconnected.wait(), 1.0)
    await stream.aclose()


async def test_read_timeout_mid_stream(sse_server: SSEServer) -> None:
    sse_server.add(chunks=["a", "b"], gate=asyncio.Event(), gate_after=1)
    async with OpenAIClient(base_url=sse_server.base_url, api_key=KEY, timeout=0.2) as llm:
        stream = llm.generate_stream(MESSAGES)
        with pytest.raises(LLMError) as info:
            await collect(stream)
    assert info.value.code == "timeout" and info.value.chunks_before == 1
    assert stream.text_so_far == "a"
    await asyncio.wait_for(sse_server.disconnected.wait(), 1.0)
