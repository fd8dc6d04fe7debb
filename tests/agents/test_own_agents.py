"""Agent modules written like a user's own (Line 0.1.x style), loaded the way ``line-tui`` loads them
and run headless: a ``VoiceAgentSystem`` with a zero-delay scripted LLM, ``system.user`` as the caller.

Each test drives one call: replies, barge-ins (nothing leaks, the context holds only what was
heard), ``EndCall`` (the call ends and ``handle_new_call`` returns).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from line import Bridge, CallRequest, Message, VoiceAgentSystem
from line.events import AgentResponse, AgentSpeechSent, EndCall, ToolCall, ToolResult, UserTranscriptionReceived
from line.llm import ScriptedLLM, ScriptRule
from line.trace import TraceKind, TraceRecord
from line_tui.loader import AgentEntry, load_agent
from line_tui.session import AgentSession

AGENTS = Path(__file__).parent
LIMIT = 5.0  # seconds; every wait below is on a condition, this only bounds a hang


def agent_path(name: str) -> str:
    return str(AGENTS / f"{name}.py")


async def wait_for(predicate: Callable[[], bool], what: str) -> None:
    """Re-check ``predicate`` after every loop turn until it holds; fail clearly after LIMIT."""
    try:
        async with asyncio.timeout(LIMIT):
            while not predicate():  # noqa: ASYNC110 - the condition has no event to wait on
                await asyncio.sleep(0)
    except TimeoutError:
        raise AssertionError(f"timed out waiting for: {what}") from None


@dataclass
class Call:
    entry: AgentEntry
    system: VoiceAgentSystem
    llm: ScriptedLLM
    task: asyncio.Task[Any]
    records: list[TraceRecord] = field(default_factory=list)

    @property
    def heard(self) -> list[str]:
        return self.system.user.received

    @property
    def node(self) -> Any:
        """The speaking node (the one whose context the LLM sees)."""
        return self.system.speaking_nodes[0]

    async def say(self, text: str) -> list[str]:
        """A whole caller turn; returns the chunks the caller heard in reply."""
        before = len(self.heard)
        await self.system.user.say(text)
        await self.idle()
        return self.heard[before:]

    async def idle(self) -> None:
        async with asyncio.timeout(LIMIT):
            await self.system.wait_idle()

    async def ended(self) -> None:
        """Wait until ``handle_new_call`` returned (it must, once the call ended)."""
        async with asyncio.timeout(LIMIT):
            await asyncio.shield(self.task)


@contextlib.asynccontextmanager
async def call(target: str, llm: ScriptedLLM | None = None, request: CallRequest | None = None) -> AsyncIterator[Call]:
    """Load ``target`` like ``line-tui`` does and run one call; always cleans up."""
    entry = load_agent(target)
    llm = llm if llm is not None else ScriptedLLM()
    system = VoiceAgentSystem(llm=llm)
    records: list[TraceRecord] = []
    observer = system.tracer.attach(records.extend)
    task = asyncio.get_running_loop().create_task(entry.handler(system, request or CallRequest()),
                                                  name=f"agent {entry.name}")
    try:
        async with asyncio.timeout(LIMIT):
            started = asyncio.ensure_future(system.wait_started())
            await asyncio.wait({started, task}, return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            await asyncio.gather(started, return_exceptions=True)
        if task.done():
            task.result()  # handle_new_call failed before system.start(): show why
        assert system.started
        await system.wait_idle()
        yield Call(entry, system, llm, task, records)
    finally:
        if not task.done():
            task.cancel()
        outcome = (await asyncio.gather(task, return_exceptions=True))[0]
        await system.cleanup()
        system.tracer.detach(observer)
    if isinstance(outcome, Exception):  # the test passed, but handle_new_call failed
        raise outcome


def user_routes(system: VoiceAgentSystem) -> set[str]:
    return {route.name for route in system.user.bridge.routes}


def deliveries_of_the_interrupted_run(records: list[TraceRecord], system: VoiceAgentSystem) -> tuple[int, int]:
    """How many chunks of the (one) interrupted run reached the caller before and after the bus
    accepted the interrupt; the second number must be 0."""
    system.tracer.flush()
    interrupts = [i for i, r in enumerate(records) if r.kind is TraceKind.INTERRUPT_ACCEPTED and r.run_id is not None]
    assert len(interrupts) == 1, "exactly one run was interrupted"
    accepted = interrupts[0]
    run_id = records[accepted].run_id
    chunks = {r.message_id for r in records if r.kind is TraceKind.BUS_PUBLISH and r.run_id == run_id
              and r.get("event_type") == "AgentResponse"}
    routes = user_routes(system)
    delivered = [i for i, r in enumerate(records)
                 if r.kind is TraceKind.BUS_DELIVER and r.route in routes and r.message_id in chunks]
    return sum(i < accepted for i in delivered), sum(i > accepted for i in delivered)


# -- loading ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["echo_agent", "counter_agent", "tool_agent"])
def test_each_agent_loads_by_path_and_by_dotted_name(name: str) -> None:
    by_path = load_agent(agent_path(name))
    by_module = load_agent(f"tests.agents.{name}")
    for entry in (by_path, by_module):
        assert entry.name == name
        assert entry.handler.__name__ == "handle_new_call"
        assert entry.doc and entry.doc == by_path.doc, "the first paragraph of the module docstring"
    module = importlib.import_module(f"tests.agents.{name}")
    assert by_module.handler is module.app.call_handler, "the VoiceAgentApp's handler is the entry point"
    assert by_path.handler is not module.app.call_handler, "a file is loaded as its own module"
    assert by_path.origin == agent_path(name) and by_module.origin == f"tests.agents.{name}"


# -- echo -------------------------------------------------------------------------------------


async def test_echo_agent_greets_then_streams_each_turn_back_in_chunks() -> None:
    async with call(agent_path("echo_agent")) as c:
        assert c.heard == ["Echo here. Say something."]
        assert await c.say("hello there world") == ["You said: ", "hello ", "there ", "world."]
        assert await c.say("again") == ["You said: ", "again."]
        assert [(type(e).__name__, getattr(e, "content", "")) for e in c.node.conversation_events] == [
            ("AgentSpeechSent", "Echo here. Say something."),
            ("UserTranscriptionReceived", "hello there world"),
            ("AgentSpeechSent", "You said: hello there world."),
            ("UserTranscriptionReceived", "again"),
            ("AgentSpeechSent", "You said: again."),
        ]
        assert not c.system.ended and not c.task.done(), "echo never hangs up by itself"
        assert c.llm.requests == [], "the echo agent needs no LLM"


async def test_echo_agent_uses_the_introduction_of_the_call_request() -> None:
    request = CallRequest.model_validate({"agent": {"introduction": "Hi, echo speaking."}})
    async with call(agent_path("echo_agent"), request=request) as c:
        assert c.heard == ["Hi, echo speaking."]


async def test_barge_in_mid_echo_cuts_the_reply_and_only_what_was_heard_stays_in_context() -> None:
    async with call(agent_path("echo_agent")) as c:
        system = c.system
        before = len(c.heard)
        system.bus.pause()  # hold the reply at the bus; each step lets exactly one chunk through
        await system.user.say("one two three four five")
        assert system.bus.step() and system.bus.step()
        await wait_for(lambda: len(c.heard) == before + 2, "two chunks of the echo heard")
        await system.user.start_speaking()  # barge in while the third chunk waits at the bus
        system.bus.resume()
        await c.idle()
        assert c.heard[before:] == ["You said: ", "one "], "nothing after the barge-in reaches the caller"
        assert deliveries_of_the_interrupted_run(c.records, system) == (2, 0)
        assert c.node.conversation_events[-1] == AgentSpeechSent(content="You said: one ", interrupted=True)
        assert c.node.interruptions == 1
        assert c.node.format_for_llm()[-1]["content"] == "You said: one  [interrupted by the user]"

        # The route keeps serving: the caller finishes speaking and hears a whole reply.
        await system.user.stop_speaking("six")
        await c.idle()
        assert "".join(c.heard[before + 2:]) == "You said: six."
        assert c.node.conversation_events[-1] == AgentSpeechSent(content="You said: six.")


@contextlib.asynccontextmanager
async def slow_listener(c: Call) -> AsyncIterator[tuple[list[str], asyncio.Event, Any]]:
    """A second, slow consumer of the agent's chunks (a transcript logger, a TTS): it holds each
    chunk until ``gate`` opens. Yields (what it logged, gate, its inbox)."""
    gate = asyncio.Event()
    logged: list[str] = []

    async def log(message: Message) -> None:
        await gate.wait()
        logged.append(message.event.content)

    listener = Bridge("transcript_logger")
    listener.on(AgentResponse).map(log)
    c.system.bus.register_bridge("transcript_logger", listener)
    try:
        yield logged, gate, listener.routes[0].inbox
    finally:
        gate.set()


async def test_barge_in_drops_the_chunks_still_queued_for_a_slow_listener() -> None:
    async with call(agent_path("echo_agent")) as c, slow_listener(c) as (logged, gate, inbox):
        system = c.system
        before = len(c.heard)
        system.bus.pause()
        await system.user.say("one two three four")
        for _ in range(3):
            assert system.bus.step()
        await wait_for(lambda: len(c.heard) == before + 3 and len(inbox) == 2,
                       "the caller heard three chunks; the listener holds one and two wait for it")
        await system.user.start_speaking()  # the fourth chunk waits at the bus
        system.bus.resume()
        gate.set()
        await c.idle()
        assert c.heard[before:] == ["You said: ", "one ", "two "]
        assert logged == ["You said: "], "chunks still queued for the listener at the barge-in never reach it"


async def test_a_slow_listener_does_not_shorten_what_the_context_says_the_caller_heard() -> None:
    async with call(agent_path("echo_agent")) as c, slow_listener(c) as (_, gate, inbox):
        system = c.system
        system.bus.pause()
        await system.user.say("one two three four")
        for _ in range(3):
            assert system.bus.step()
        await wait_for(lambda: len(inbox) == 2 and c.heard[-1] == "two ", "three chunks heard")
        await system.user.start_speaking()
        system.bus.resume()
        gate.set()
        await c.idle()
        assert c.node.conversation_events[-1] == AgentSpeechSent(content="You said: one two ", interrupted=True)


async def test_barge_in_also_cuts_the_chunks_still_queued_for_a_slow_listener_after_the_run_ended() -> None:
    async with call(agent_path("echo_agent")) as c, slow_listener(c) as (logged, gate, inbox):
        await c.system.user.say("one two three")
        await wait_for(lambda: len(inbox) == 3, "the reply was generated in full; three chunks wait for the listener")
        await c.system.user.start_speaking()
        gate.set()
        await c.idle()
        assert logged == ["You said: "], "the chunks still queued when the caller barged in are dropped"


# -- counter ----------------------------------------------------------------------------------


@pytest.mark.parametrize("max_turns", [1, 3])
async def test_counter_agent_ends_the_call_on_the_last_turn_and_handle_new_call_returns(max_turns: int) -> None:
    request = CallRequest(metadata={"max_turns": max_turns})
    async with call(agent_path("counter_agent"), request=request) as c:
        assert c.heard == ["Counter here. Talk to me."]
        for turn in range(1, max_turns):
            assert await c.say(f"turn {turn}") == [f"That was turn {turn}. ", f"{max_turns - turn} to go."]
            assert not c.system.ended and not c.task.done(), f"still talking after turn {turn}"
        assert await c.say("last one") == [f"That was turn {max_turns} of {max_turns}. Goodbye!"]
        await c.ended()
        assert c.system.ended and isinstance(c.system.call_ended, EndCall)
        assert c.task.result() is None
        published = [r.get("event_type") for r in c.records if r.kind is TraceKind.BUS_PUBLISH]
        assert published[-2:] == ["AgentResponse", "EndCall"], "the goodbye is said before the call ends"
        assert c.node.conversation_events[-1] == AgentSpeechSent(
            content=f"That was turn {max_turns} of {max_turns}. Goodbye!")


async def test_counter_agent_defaults_to_three_turns() -> None:
    async with call(agent_path("counter_agent")) as c:
        await c.say("a")
        await c.say("b")
        assert not c.system.ended
        assert await c.say("c") == ["That was turn 3 of 3. Goodbye!"]
        await c.ended()


async def test_after_end_call_the_session_ignores_the_caller() -> None:
    """``AgentSession`` (what line-tui runs): once the call ended, keys no longer speak."""
    session = AgentSession(load_agent(agent_path("counter_agent")), ScriptedLLM(),
                           CallRequest(metadata={"max_turns": 1}))
    records: list[TraceRecord] = []
    try:
        await session.start(records.extend)
        assert session.error is None and session.system.started
        await session.typing_started()
        await session.submit("hello")
        async with asyncio.timeout(LIMIT):
            await session.finished.wait()  # handle_new_call returned after EndCall
            await session.system.wait_idle()
        assert session.system.ended and session.error is None
        heard = list(session.system.user.received)
        await session.typing_started()
        await session.submit("are you there?")
        await session.toggle_speaking()
        async with asyncio.timeout(LIMIT):
            await session.system.wait_idle()
        assert session.system.user.received == heard
        assert not session.speaking
        session.system.tracer.flush()
    finally:
        await session.stop()
    transcripts = [r for r in records if r.kind is TraceKind.BUS_PUBLISH
                   and r.get("event_type") == "UserTranscriptionReceived"]
    assert len(transcripts) == 1, "nothing the caller typed after the end reached the bus"


# -- two nodes and a tool ---------------------------------------------------------------------

WEATHER = ScriptRule(match="weather", tool_calls=[{"name": "get_weather", "arguments": {"city": "Paris"}}],
                     after_tool="In Paris it is {result} today.")
ATLANTIS = ScriptRule(match="atlantis", tool_calls=[{"name": "get_weather", "arguments": {"city": "Atlantis"}}],
                      after_tool="Sorry, {result}.")
GOODBYE = ScriptRule(match="bye", tool_calls=[{"name": "end_call", "arguments": {"goodbye_message": "Bye now!"}}])


async def test_tool_agent_answers_from_the_result_the_tool_node_published() -> None:
    llm = ScriptedLLM(rules=[WEATHER])
    async with call(agent_path("tool_agent"), llm) as c:
        assert c.heard == [], "no greeting"
        assert "".join(await c.say("what's the weather in Paris?")) == "In Paris it is sunny, 21 degrees today."
        tool = next(node for node in c.system.nodes if node is not c.node)
        assert [(call.tool_name, call.tool_args) for call in tool.calls] == [("get_weather", {"city": "Paris"})]
        assert c.system.speaking_nodes == [c.node], "only the assistant speaks"

        # The LLM came from system.llm: it was asked twice, with the tools, the second time with the result.
        assert len(c.llm.requests) == 2
        assert [tool["function"]["name"] for tool in c.llm.tools_seen[0] or []] == ["get_weather", "end_call"]
        call_message, result_message = c.llm.requests[1][-2:]
        call_id = call_message["tool_calls"][0]["id"]
        assert call_message["tool_calls"][0]["function"]["name"] == "get_weather"
        assert result_message == {"role": "tool", "tool_call_id": call_id, "content": "sunny, 21 degrees"}
        assert c.llm.requests[1][0]["role"] == "system", "the system prompt leads every request"

        events = c.node.conversation_events
        assert [type(e) for e in events] == [UserTranscriptionReceived, ToolCall, ToolResult, AgentSpeechSent]
        assert events[2].tool_call_id == events[1].tool_call_id == call_id
        assert events[3] == AgentSpeechSent(content="In Paris it is sunny, 21 degrees today.")


async def test_tool_agent_reports_a_failing_tool_to_the_llm() -> None:
    llm = ScriptedLLM(rules=[ATLANTIS])
    async with call(agent_path("tool_agent"), llm) as c:
        assert "".join(await c.say("weather in atlantis")) == "Sorry, error: no forecast for 'Atlantis'."
        result = next(e for e in c.node.conversation_events if isinstance(e, ToolResult))
        assert not result.success and result.error == "no forecast for 'Atlantis'"


@pytest.mark.parametrize("turn", ["plain reply", "answer from the tool result"])
async def test_barge_in_on_the_tool_agent_cancels_the_llm_and_keeps_only_what_was_heard(turn: str) -> None:
    long_reply = "Let me think about that for a little while longer, please hold the line."
    if turn == "plain reply":
        rules = [ScriptRule(match="think", reply=long_reply, stall_after=4)]
        text = "please think"
    else:
        rules = [ScriptRule(match="weather", tool_calls=WEATHER.tool_calls, after_tool=long_reply, stall_after=4)]
        text = "weather please"
    llm = ScriptedLLM(rules=[*rules, ScriptRule(match="sorry", reply="No problem.")])
    async with call(agent_path("tool_agent"), llm) as c:
        system = c.system
        await system.user.say(text)
        await wait_for(lambda: len(c.heard) == 4, "four chunks heard, then the LLM stalls")
        stream = llm.streams[-1]
        await system.user.start_speaking()
        await c.idle()
        assert stream.cancelled, "the barge-in closed the LLM stream"
        assert c.heard == ["Let ", "me ", "think ", "about "]
        assert deliveries_of_the_interrupted_run(c.records, system) == (4, 0)
        assert c.node.conversation_events[-1] == AgentSpeechSent(content="Let me think about ", interrupted=True)

        await system.user.stop_speaking("sorry, go on")
        await c.idle()
        assert c.heard[4:] == ["No ", "problem."]
        assistant_turns = [m for m in llm.requests[-1] if m["role"] == "assistant" and m.get("content")]
        assert assistant_turns[-1]["content"] == "Let me think about  [interrupted by the user]", \
            "the next request tells the LLM where it was cut"


async def test_tool_agent_hangs_up_when_the_llm_calls_end_call() -> None:
    llm = ScriptedLLM(rules=[GOODBYE])
    async with call(agent_path("tool_agent"), llm) as c:
        assert await c.say("ok bye") == ["Bye now!"]
        await c.ended()
        assert c.system.ended
        tool = next(node for node in c.system.nodes if node is not c.node)
        assert tool.calls == [], "end_call is handled by the assistant, not sent to the tool node"


async def test_dotted_module_name_runs_the_same_agent() -> None:
    async with call("tests.agents.echo_agent") as c:
        assert c.entry.origin == "tests.agents.echo_agent"
        assert await c.say("dotted") == ["You said: ", "dotted."]
