"""A deterministic, offline LLM for tests, demos and benchmarks.

Replies are chosen by :class:`ScriptRule` regexes (or callables) on the latest user message,
split into word-ish tokens (``re.findall(r"\\S+\\s*")``) and streamed one :class:`LLMChunk` per
token, with a seeded time-to-first-token and per-token pacing. With all delays at 0 every chunk
still goes through ``await asyncio.sleep(0)``, so a stream always yields to the loop and can be
cancelled between any two chunks.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from line.llm.base import LLMChunk, LLMStream, LLMToolCall, LLMUsage, as_messages
from line.llm.errors import LLMError

__all__ = ["DEFAULT_REPLIES", "ScriptRule", "ScriptedLLM", "ScriptedStream", "tokenize"]

DEFAULT_REPLIES: tuple[str, ...] = (
    "Sure, I can help with that. Dr. Smith's office opens at 9 a.m. on weekdays. "
    "Would you like me to book the first available slot?",
    "Good question! The current rate is 3.5 percent, up from 3.2 last year. "
    "That works out to about $35 per month on a $1,000 balance. Anything else?",
    "Let me check that for you. Mr. Jones left a message at 4:30 p.m. yesterday. "
    "He said the parcel, e.g. the one from the U.S. office, arrived late. Shall I call him back?",
    "I understand. Version 2.0 of the app fixes that issue, i.e. the login loop. "
    "Please update it and try again. If it still fails, I'll open a ticket!",
)

DEFAULT_AFTER_TOOL = "Here is what I found: {result}."

_TOKEN = re.compile(r"\S+\s*")
_LEADING_SPACE = re.compile(r"^\s+")


def tokenize(text: str) -> list[str]:
    """Word-ish tokens that keep their trailing whitespace: ``"".join(tokenize(t)) == t``."""
    tokens = _TOKEN.findall(text)
    lead = _LEADING_SPACE.match(text)
    if lead and tokens:
        tokens[0] = lead.group(0) + tokens[0]
    elif lead:
        tokens = [lead.group(0)]
    return tokens


Matcher = str | re.Pattern[str] | Callable[[str], bool]
ToolCallSpec = LLMToolCall | Mapping[str, Any]


@dataclass(slots=True)
class ScriptRule:
    """When ``match`` matches the latest user message, reply with ``reply`` and/or ``tool_calls``.

    ``match`` is a regex (searched, case-insensitive) or a callable on the message text.
    ``tool_calls`` items are :class:`LLMToolCall` or mappings ``{"name", "arguments", "id"?}``;
    ``tool_calls`` may also be a callable that builds them from the user's message text (so the
    arguments can come from what was said: ``lambda text: [{"name": "calc", "arguments": ...}]``).
    When the conversation already holds a ``tool`` message after the latest user message, the
    reply is ``after_tool`` with ``{result}`` replaced by that tool message's content.
    ``fail_after=N`` raises ``LLMError(code="scripted")`` after N chunks; ``stall_after=N``
    delivers N chunks then waits until cancelled.
    """

    match: Matcher
    reply: str | None = None
    tool_calls: list[ToolCallSpec] | Callable[[str], Sequence[ToolCallSpec]] | None = None
    after_tool: str | None = None
    fail_after: int | None = None
    stall_after: int | None = None

    def matches(self, text: str) -> bool:
        if callable(self.match) and not isinstance(self.match, re.Pattern):
            return bool(self.match(text))
        pattern = self.match if isinstance(self.match, re.Pattern) else re.compile(self.match, re.IGNORECASE)
        return pattern.search(text) is not None


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) if isinstance(part, Mapping) else str(part) for part in content
        ).strip()
    return str(content)


@dataclass(slots=True)
class _Plan:
    tokens: list[str]
    tool_calls: tuple[LLMToolCall, ...]
    delays: list[float]
    fail_after: int | None
    stall_after: int | None
    usage: LLMUsage
    rule: ScriptRule | None


class ScriptedLLM:
    """Offline :class:`~line.llm.base.LLMClient`. See the module docstring.

    ``tokens_per_second=0`` means no per-token delay; ``jitter`` is relative (0.2 = each delay
    drawn uniformly within ±20%). The same seed and the same sequence of requests give the same
    chunks and the same delays.
    """

    def __init__(
        self,
        rules: Sequence[ScriptRule] | None = None,
        default_replies: Sequence[str] | None = None,
        time_to_first_token: float = 0.0,
        tokens_per_second: float = 0.0,
        jitter: float = 0.0,
        seed: int = 0,
    ) -> None:
        if time_to_first_token < 0 or tokens_per_second < 0 or jitter < 0:
            raise ValueError("time_to_first_token, tokens_per_second and jitter must be >= 0")
        self.rules: list[ScriptRule] = list(rules or [])
        self.default_replies: tuple[str, ...] = tuple(default_replies or DEFAULT_REPLIES)
        if not self.default_replies:
            raise ValueError("default_replies must not be empty")
        self.time_to_first_token = time_to_first_token
        self.tokens_per_second = tokens_per_second
        self.jitter = jitter
        self.seed = seed
        #: Every request, as a copy of its messages, in order.
        self.requests: list[list[dict[str, Any]]] = []
        self.tools_seen: list[list[dict[str, Any]] | None] = []
        self.streams: list[ScriptedStream] = []
        self.streams_started = 0
        self.streams_cancelled = 0
        self.streams_finished = 0
        self._defaults_used = 0
        self._tool_call_counter = 0

    def generate_stream(
        self, messages: list[dict[str, Any]] | Any, tools: list[dict[str, Any]] | None = None
    ) -> ScriptedStream:
        messages = as_messages(messages)
        self.requests.append(messages)
        self.tools_seen.append(list(tools) if tools is not None else None)
        index = len(self.requests) - 1
        stream = ScriptedStream(self, self._plan(messages, index), index)
        self.streams.append(stream)
        return stream

    async def aclose(self) -> None:
        """Nothing to close (for parity with network clients)."""

    # ------------------------------------------------------------------ planning

    def _plan(self, messages: Sequence[Mapping[str, Any]], index: int) -> _Plan:
        rng = random.Random(f"line.llm.scripted:{self.seed}:{index}")
        last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
        user_text = _content_text(messages[last_user].get("content")) if last_user >= 0 else ""
        tool_results = [
            _content_text(m.get("content")) for m in messages[last_user + 1 :] if m.get("role") == "tool"
        ]
        rule = next((r for r in self.rules if r.matches(user_text)), None)
        tool_calls: tuple[LLMToolCall, ...] = ()
        if tool_results:
            template = (
                rule.after_tool if rule is not None and rule.after_tool is not None else DEFAULT_AFTER_TOOL
            )
            reply = template.replace("{result}", "; ".join(tool_results))
        elif rule is not None and (rule.reply is not None or rule.tool_calls):
            reply = rule.reply or ""
            specs = rule.tool_calls(user_text) if callable(rule.tool_calls) else rule.tool_calls or ()
            tool_calls = tuple(self._tool_call(spec) for spec in specs)
        else:
            reply = self.default_replies[(self.seed + self._defaults_used) % len(self.default_replies)]
            self._defaults_used += 1
        tokens = tokenize(reply)
        delays = [self._delay(self.time_to_first_token, rng)]
        per_token = 1.0 / self.tokens_per_second if self.tokens_per_second > 0 else 0.0
        delays += [self._delay(per_token, rng) for _ in range(max(len(tokens) + bool(tool_calls) - 1, 0))]
        prompt_tokens = sum(len(tokenize(_content_text(m.get("content")))) for m in messages)
        usage = LLMUsage(prompt_tokens, len(tokens), prompt_tokens + len(tokens))
        return _Plan(
            tokens=tokens,
            tool_calls=tool_calls,
            delays=delays,
            fail_after=rule.fail_after if rule is not None else None,
            stall_after=rule.stall_after if rule is not None else None,
            usage=usage,
            rule=rule,
        )

    def _delay(self, base: float, rng: random.Random) -> float:
        if base <= 0:
            return 0.0
        if self.jitter <= 0:
            return base
        return max(0.0, base * (1.0 + rng.uniform(-self.jitter, self.jitter)))

    def _tool_call(self, spec: ToolCallSpec) -> LLMToolCall:
        self._tool_call_counter += 1
        if isinstance(spec, LLMToolCall):
            return spec
        arguments = dict(spec.get("arguments") or {})
        return LLMToolCall(
            id=str(spec.get("id") or f"call_scripted_{self._tool_call_counter}"),
            name=str(spec["name"]),
            arguments=arguments,
            raw_arguments=json.dumps(arguments),
        )


class ScriptedStream(LLMStream):
    """One scripted reply. ``planned_tokens``/``planned_delays`` show what it will do."""

    def __init__(self, client: ScriptedLLM, plan: _Plan, index: int) -> None:
        self._client = client
        self._plan = plan
        self.index = index
        self._position = 0  # chunks produced so far
        self._counted_start = False
        super().__init__()

    @property
    def planned_tokens(self) -> list[str]:
        return list(self._plan.tokens)

    @property
    def planned_delays(self) -> list[float]:
        """Delay before each chunk (the first is the time to first token)."""
        return list(self._plan.delays)

    @property
    def planned_tool_calls(self) -> tuple[LLMToolCall, ...]:
        return self._plan.tool_calls

    @property
    def rule(self) -> ScriptRule | None:
        return self._plan.rule

    def _on_cancel(self) -> None:
        self._client.streams_cancelled += 1

    async def _produce(self) -> LLMChunk | None:
        plan = self._plan
        if not self._counted_start:
            self._counted_start = True
            self._client.streams_started += 1
        position = self._position
        total = len(plan.tokens) + (1 if plan.tool_calls else 0)
        if position >= total:
            self._client.streams_finished += 1
            return None
        if plan.fail_after is not None and position >= plan.fail_after:
            raise LLMError(f"scripted failure after {position} chunks", code="scripted")
        if plan.stall_after is not None and position >= plan.stall_after:
            # Stall until cancelled: a future nobody resolves.
            await asyncio.get_running_loop().create_future()
        delay = plan.delays[position] if position < len(plan.delays) else 0.0
        if delay > 0:
            await asyncio.sleep(delay)
        else:
            await asyncio.sleep(0)  # zero-delay mode still yields, so the stream stays cancellable
        self._position = position + 1
        last = self._position == total
        if position < len(plan.tokens):
            finish = "stop" if last else None
            return LLMChunk(
                text=plan.tokens[position], finish_reason=finish, usage=plan.usage if last else None
            )
        return LLMChunk(tool_calls=plan.tool_calls, finish_reason="tool_calls", usage=plan.usage)
