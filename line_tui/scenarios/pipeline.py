"""Multi-stage pipeline: raw tokens → cleaned chunks → spoken style, one route stage each.

Every stage is a per-chunk flat-map with its own counters in the routes panel: the node yields
the LLM's tokens, ``preprocess_chunks`` strips markdown and collapses whitespace (dropping chunks
left empty), ``postprocess_chunks`` rewrites what a voice should say differently ("Dr." →
"Doctor", "$35" → "35 dollars"), and a last ``map`` tags the chunk for the speech engine.
What the caller hears, and what the node remembers it said, is the text after every stage.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from line import Bridge, CallRequest, ConversationContext, Message, ReasoningNode, VoiceAgentSystem
from line.events import AgentResponse, UserStartedSpeaking, UserStoppedSpeaking
from line.llm import LLMClient

MARKDOWN = re.compile(r"[*_#`]+")
SPACES = re.compile(r"[ \t\r\n]+")
DOLLARS = re.compile(r"\$(\d[\d,]*(?:\.\d+)?)")
#: Written forms a speech engine reads badly (whole words only: chunks are words here).
SPOKEN = {"Dr.": "Doctor", "Mr.": "Mister", "Mrs.": "Missus", "e.g.": "for example", "i.e.": "that is",
          "a.m.": "AM", "p.m.": "PM", "&": "and"}


class TokenNode(ReasoningNode):
    def __init__(self, llm: LLMClient, system_prompt: str) -> None:
        super().__init__(system_prompt=system_prompt)
        self.llm = llm

    async def process_context(self, context: ConversationContext) -> AsyncIterator[AgentResponse]:
        async for chunk in self.llm.generate_stream(context.format_for_llm()):
            if chunk.text:
                yield AgentResponse(content=chunk.text, chunk_type="raw")


async def preprocess_chunks(message: Message) -> AsyncIterator[AgentResponse]:
    """First stage: clean the chunk; one left empty (it was all markup) is dropped: nothing is yielded."""
    cleaned = SPACES.sub(" ", MARKDOWN.sub("", message.event.content))
    if cleaned:  # a whitespace-only chunk stays: it separates the words around it
        yield AgentResponse(content=cleaned, chunk_type="preprocessed")


async def postprocess_chunks(message: Message) -> AsyncIterator[AgentResponse]:
    """Second stage: the spoken style."""
    text = DOLLARS.sub(r"\1 dollars", message.event.content)
    # Keep the chunk's surrounding spaces: the next chunk relies on them.
    word = text.strip()
    if word in SPOKEN:
        text = text.replace(word, SPOKEN[word])
    yield AgentResponse(content=text, chunk_type="final")


def for_speech(message: Message) -> AgentResponse:
    """Last stage (a plain ``map``): what the speech engine gets."""
    return AgentResponse(content=message.event.content, chunk_type="speech")


async def handle_new_call(system: VoiceAgentSystem, call_request: CallRequest) -> None:
    node = TokenNode(system.llm, call_request.agent.system_prompt or "You are a helpful voice agent.")
    bridge = Bridge(node)
    (
        bridge.on(UserStoppedSpeaking)
        .interrupt_on(UserStartedSpeaking, handler=node.on_interrupt_generate)
        .stream(node.generate)        # raw LLM tokens
        .stream(preprocess_chunks)    # cleaned
        .stream(postprocess_chunks)   # spoken style
        .map(for_speech)              # tagged for TTS
        .broadcast()
    )
    system.with_speaking_node(node, bridge)
    await system.start()
    await system.wait_for_shutdown()
