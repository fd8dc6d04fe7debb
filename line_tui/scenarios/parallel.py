"""Parallel streams merged: the spoken reply, a context analysis and follow-up suggestions at once.

Three streams start together and ``merge_streams`` passes on each item as soon as any of them
has one (each stream's own order is kept). Only the reply is ``AgentResponse``, so only it is
spoken; the analysis and the suggestions are events of this module's own types, on the bus for
a screen or a CRM (watch them interleave with the reply in the event log). A barge-in cancels
all three, and both LLM requests.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from typing import Any

from line import Bridge, CallRequest, ConversationContext, ReasoningNode, VoiceAgentSystem
from line.events import AgentResponse, Event, UserStartedSpeaking, UserStoppedSpeaking
from line.llm import LLMClient, LLMStream, ScriptedLLM, ScriptRule
from line.streaming import merge_streams

SUGGEST_PREFIX = "The caller just said:"
SUGGEST_PROMPT = "Suggest two short follow-up questions the caller might ask next, one per line, nothing else."


class ContextAnalysis(Event):
    """What the caller's last message looks like, worked out while the reply streams."""

    words: int
    question: bool


class Suggestion(Event):
    """A follow-up the caller might ask next (for a screen, not for the voice)."""

    content: str


class ParallelStreamingNode(ReasoningNode):
    def __init__(self, llm: LLMClient, system_prompt: str) -> None:
        super().__init__(system_prompt=system_prompt)
        self.llm = llm

    async def process_context(self, context: ConversationContext) -> AsyncIterator[Any]:
        # Both requests are made here, in the run, so a barge-in cancels both.
        reply = self.llm.generate_stream(context.format_for_llm())
        ideas = self.llm.generate_stream(suggestion_request(context))
        merged = merge_streams(self.main_response(reply), self.context_analysis(context), self.suggestions(ideas))
        # aclosing: when this generator is closed, the merge (and through it every source) is too.
        async with contextlib.aclosing(merged):
            async for item in merged:
                yield item

    async def main_response(self, stream: LLMStream) -> AsyncIterator[AgentResponse]:
        async for chunk in stream:
            if chunk.text:
                yield AgentResponse(content=chunk.text)

    async def context_analysis(self, context: ConversationContext) -> AsyncIterator[ContextAnalysis]:
        text = context.get_latest_user_transcript_message() or ""
        yield ContextAnalysis(words=len(text.split()), question=text.rstrip().endswith("?"))

    async def suggestions(self, stream: LLMStream) -> AsyncIterator[Suggestion]:
        """One suggestion per line of the second LLM's reply, each as soon as its line is complete."""
        line = ""
        async for chunk in stream:
            *complete, line = (line + chunk.text).split("\n")
            for text in complete:
                if text.strip():
                    yield Suggestion(content=text.strip())
        if line.strip():
            yield Suggestion(content=line.strip())


def suggestion_request(context: ConversationContext) -> list[dict[str, Any]]:
    said = context.get_latest_user_transcript_message() or ""
    return [{"role": "system", "content": SUGGEST_PROMPT},
            {"role": "user", "content": f"{SUGGEST_PREFIX} {said}"}]


def script_offline_llm(llm: LLMClient) -> None:
    """Give the embedded scripted LLM something to suggest (rules it was given first still win)."""
    if isinstance(llm, ScriptedLLM):
        llm.rules.append(ScriptRule(match=f"^{re.escape(SUGGEST_PREFIX)}",
                                    reply="Can I book it online?\nWhat does it cost?"))


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    script_offline_llm(system.llm)
    node = ParallelStreamingNode(system.llm, call_request.agent.system_prompt or "You are a helpful voice agent.")
    bridge = Bridge(node)
    (
        bridge.on(UserStoppedSpeaking)
        .interrupt_on(UserStartedSpeaking, handler=node.on_interrupt_generate)
        .stream(node.generate)  # reply chunks, analysis and suggestions, in arrival order
        .broadcast()
    )
    system.with_speaking_node(node, bridge)
    await system.start()
    await system.wait_for_shutdown()
