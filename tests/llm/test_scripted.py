"""ScriptedLLM: rules, default replies, determinism, failures, stalls, tool calls, cancellation."""

from __future__ import annotations

import asyncio
import re

import pytest

from line.llm import LLMChunk, LLMClient, LLMError, LLMStream, LLMToolCall, ScriptedLLM, ScriptRule
from line.llm.scripted import DEFAULT_REPLIES, tokenize
from line.run_context import RunContext, enter_run_context, exit_run_context
from line.trace import Tracer


def user(text: str) -> list[dict[str, object]]:
    return [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": text}]


async def collect(stream: LLMStream) -> list[LLMChunk]:
    return [chunk async for chunk in stream]


def test_tokenize_round_trips() -> None:
    for text in ["Hello there.  Dr. Who is 3.5 m tall!\n", "  leading", "", "one"]:
        assert "".join(tokenize(text)) == text
    assert tokenize("Hi Dr. Smith.") == ["Hi ", "Dr. ", "Smith."]


def test_is_an_llm_client_and_generate_stream_is_plain() -> None:
    llm = ScriptedLLM()
    assert isinstance(llm, LLMClient)
    stream = llm.generate_stream(user("hi"))  # no coroutine: safe to never iterate
    assert isinstance(stream, LLMStream)
    assert llm.streams_started == 0 and not stream.started
    stream.cancel()


async def test_rule_selection_regex_and_callable() -> None:
    llm = ScriptedLLM(
        rules=[
            ScriptRule(match=r"\bweather\b", reply="It is sunny today."),
            ScriptRule(match=lambda text: text.endswith("?"), reply="Good question."),
            ScriptRule(match=re.compile("BYE"), reply="Goodbye!"),
        ]
    )
    assert "".join([c.text for c in await collect(llm.generate_stream(user("What's the WEATHER like")))]) == (
        "It is sunny today."
    )
    assert "".join([c.text for c in await collect(llm.generate_stream(user("why?")))]) == "Good question."
    assert "".join([c.text for c in await collect(llm.generate_stream(user("BYE")))]) == "Goodbye!"
    # Only the latest user message counts.
    history = [
        *user("weather"),
        {"role": "assistant", "content": "It is sunny today."},
        {"role": "user", "content": "ok"},
    ]
    stream = llm.generate_stream(history)
    await collect(stream)
    assert stream.rule is None and stream.text_so_far in DEFAULT_REPLIES
    assert len(llm.requests) == 4 and llm.requests[-1] == history
    assert llm.streams_started == llm.streams_finished == 4


async def test_chunks_are_word_tokens_with_finish_and_usage() -> None:
    llm = ScriptedLLM(rules=[ScriptRule(match="hi", reply="Hello Dr. Smith, it is 3.5 degrees.")])
    stream = llm.generate_stream(user("hi"))
    chunks = await collect(stream)
    assert [c.text for c in chunks] == ["Hello ", "Dr. ", "Smith, ", "it ", "is ", "3.5 ", "degrees."]
    assert [c.finish_reason for c in chunks] == [None] * 6 + ["stop"]
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 7
    assert stream.finished and stream.chunks_delivered == 7
    assert stream.text_so_far == "Hello Dr. Smith, it is 3.5 degrees."


async def test_default_replies_are_multi_sentence_and_rotate() -> None:
    llm = ScriptedLLM()
    texts = [(await _text(llm, "anything")) for _ in range(len(DEFAULT_REPLIES))]
    assert sorted(texts) == sorted(DEFAULT_REPLIES)
    for text in texts:
        assert len(re.findall(r"[.!?](\s|$)", text)) >= 3  # several sentences (and abbreviations)
    assert any("Dr." in t for t in texts) and any("3.5" in t for t in texts)


async def _text(llm: ScriptedLLM, message: str) -> str:
    stream = llm.generate_stream(user(message))
    await collect(stream)
    return stream.text_so_far


async def test_deterministic_with_seed() -> None:
    def make(seed: int) -> ScriptedLLM:
        return ScriptedLLM(time_to_first_token=0.2, tokens_per_second=20, jitter=0.5, seed=seed)

    conversation = ["hello", "tell me more", "thanks"]
    a, b, c = make(7), make(7), make(8)
    plans = {}
    for name, llm in (("a", a), ("b", b), ("c", c)):
        streams = [llm.generate_stream(user(text)) for text in conversation]
        plans[name] = [(s.planned_tokens, s.planned_delays) for s in streams]
        for stream in streams:
            stream.cancel()  # planning alone shows the chunks and delays; no need to sleep
    assert plans["a"] == plans["b"]
    assert plans["a"] != plans["c"]
    tokens, delays = plans["a"][0]
    assert len(delays) == len(tokens)
    assert 0.1 <= delays[0] <= 0.3  # time to first token within ±50%
    assert all(0.025 <= d <= 0.075 for d in delays[1:])  # 1/20 s within ±50%
    assert len(set(delays[1:])) > 1  # jittered


async def test_actual_delays_follow_the_plan() -> None:
    llm = ScriptedLLM(
        rules=[ScriptRule(match=".", reply="a b c")], time_to_first_token=0.01, tokens_per_second=200
    )
    stream = llm.generate_stream(user("x"))
    loop = asyncio.get_running_loop()
    start = loop.time()
    await collect(stream)
    assert loop.time() - start >= 0.01 + 2 * 0.005 - 0.002


async def test_zero_delay_mode_yields_between_chunks() -> None:
    llm = ScriptedLLM(rules=[ScriptRule(match=".", reply="one two three four")])
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    chunks = await collect(llm.generate_stream(user("go")))
    done = True
    await task
    assert len(chunks) == 4 and ticks >= 4


async def test_fail_after_raises_after_exactly_n_chunks() -> None:
    llm = ScriptedLLM(rules=[ScriptRule(match="fail", reply="one two three four five", fail_after=3)])
    stream = llm.generate_stream(user("please fail"))
    received: list[str] = []
    with pytest.raises(LLMError) as info:
        async for chunk in stream:
            received.append(chunk.text)
    assert received == ["one ", "two ", "three "]
    assert info.value.code == "scripted" and info.value.chunks_before == 3
    assert stream.error is info.value and not stream.finished and not stream.cancelled
    assert info.value.to_event().code == "scripted"
    assert [c async for c in stream] == []


async def test_fail_after_zero_fails_before_any_chunk() -> None:
    llm = ScriptedLLM(rules=[ScriptRule(match=".", reply="never said", fail_after=0)])
    with pytest.raises(LLMError) as info:
        await collect(llm.generate_stream(user("x")))
    assert info.value.chunks_before == 0


async def test_stall_then_cancel_from_another_task() -> None:
    llm = ScriptedLLM(rules=[ScriptRule(match="stall", reply="a b c d", stall_after=2)])
    stream = llm.generate_stream(user("stall please"))
    two = asyncio.Event()
    received: list[str] = []

    async def consume() -> str:
        async for chunk in stream:
            received.append(chunk.text)
            if len(received) == 2:
                two.set()
        return "ended"

    consumer = asyncio.create_task(consume())
    await two.wait()
    assert not consumer.done()
    stream.cancel()
    assert await consumer == "ended"
    assert received == ["a ", "b "] and stream.cancelled
    assert llm.streams_cancelled == 1
    stream.cancel()
    await stream.aclose()
    assert llm.streams_cancelled == 1  # idempotent


async def test_cancel_idempotent_and_safe_after_end() -> None:
    llm = ScriptedLLM()
    stream = llm.generate_stream(user("hi"))
    await collect(stream)
    stream.cancel()
    stream.cancel()
    await stream.aclose()
    assert stream.finished and not stream.cancelled and llm.streams_cancelled == 0
    assert [c async for c in stream] == []


async def test_cancel_inside_loop_body_ends_iteration() -> None:
    llm = ScriptedLLM(rules=[ScriptRule(match=".", reply="a b c d e")])
    stream = llm.generate_stream(user("x"))
    seen = []
    async for chunk in stream:
        seen.append(chunk.text)
        if len(seen) == 2:
            stream.cancel()
    assert seen == ["a ", "b "] and stream.cancelled


async def test_outer_task_cancellation_propagates() -> None:
    llm = ScriptedLLM(rules=[ScriptRule(match=".", reply="a b", stall_after=1)])
    stream = llm.generate_stream(user("x"))
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in stream:
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stream.cancelled and llm.streams_cancelled == 1


async def test_cancel_and_outer_cancel_together_still_propagate() -> None:
    llm = ScriptedLLM(rules=[ScriptRule(match=".", reply="a b", stall_after=1)])
    stream = llm.generate_stream(user("x"))
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in stream:
            first.set()

    task = asyncio.create_task(consume())
    await first.wait()
    stream.cancel()
    task.cancel()  # e.g. the router interrupting the run at the same moment
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_async_context_manager() -> None:
    llm = ScriptedLLM(rules=[ScriptRule(match=".", reply="a b c", stall_after=1)])
    async with llm.generate_stream(user("x")) as stream:
        chunk = await anext(stream)
        assert chunk.text == "a "
    assert stream.cancelled


async def test_tool_call_then_after_tool_reply() -> None:
    rule = ScriptRule(
        match="weather",
        reply="Let me check.",
        tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
        after_tool="In Paris it is {result} right now.",
    )
    llm = ScriptedLLM(rules=[rule])
    messages = user("what's the weather in Paris")
    stream = llm.generate_stream(messages)
    chunks = await collect(stream)
    assert "".join(c.text for c in chunks) == "Let me check."
    last = chunks[-1]
    assert last.finish_reason == "tool_calls" and len(last.tool_calls) == 1
    call = last.tool_calls[0]
    assert isinstance(call, LLMToolCall)
    assert (call.name, call.arguments) == ("get_weather", {"city": "Paris"})
    assert call.raw_arguments == '{"city": "Paris"}'
    assert stream.tool_calls == [call]

    messages += [
        {"role": "assistant", "content": "Let me check.", "tool_calls": [call.to_message()]},
        {"role": "tool", "tool_call_id": call.id, "content": "18 °C and cloudy"},
    ]
    follow_up = llm.generate_stream(messages)
    chunks = await collect(follow_up)
    assert follow_up.text_so_far == "In Paris it is 18 °C and cloudy right now."
    assert not any(c.tool_calls for c in chunks)  # no tool-call loop
    assert chunks[-1].finish_reason == "stop"


async def test_tools_only_rule() -> None:
    call = LLMToolCall(id="call_x", name="end_call", arguments={}, raw_arguments="{}")
    llm = ScriptedLLM(rules=[ScriptRule(match="bye", tool_calls=[call])])
    chunks = await collect(llm.generate_stream(user("bye"), tools=[{"type": "function"}]))
    assert len(chunks) == 1 and chunks[0].tool_calls == (call,) and chunks[0].text == ""
    assert llm.tools_seen == [[{"type": "function"}]]


async def test_register_cleanup_inside_a_run() -> None:
    context = RunContext(tracer=Tracer(), route="r", run_id=1)
    token = enter_run_context(context)
    try:
        llm = ScriptedLLM(rules=[ScriptRule(match=".", reply="a b c", stall_after=1)])
        stream = llm.generate_stream(user("x"))
        assert stream.registered_cleanup
        assert stream.cancel in context.cleanups
        first = asyncio.Event()

        async def consume() -> list[str]:
            texts = []
            async for chunk in stream:
                texts.append(chunk.text)
                first.set()
            return texts

        consumer = asyncio.create_task(consume())
        await first.wait()
        context.run_cleanups()  # the run ended (e.g. interrupted): the stream is cancelled
        assert stream.cancelled
        assert await consumer == ["a "]
        context.run_cleanups()
    finally:
        exit_run_context(token)
    outside = ScriptedLLM().generate_stream(user("x"))
    assert not outside.registered_cleanup
    outside.cancel()
