"""The conversation a reasoning node sees, and its OpenAI-style rendering."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from line.events import (
    AgentResponse,
    AgentSpeechSent,
    ToolCall,
    ToolResult,
    UserTranscriptionReceived,
)

__all__ = ["ConversationContext", "format_events_for_llm"]


@dataclass
class ConversationContext:
    """A snapshot of the conversation handed to ``process_context``.

    ``events`` holds user transcriptions, what the agent actually said (``AgentSpeechSent``,
    with ``interrupted=True`` when the user cut it), tool calls and tool results, oldest first.
    """

    events: list[Any] = field(default_factory=list)
    system_prompt: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    def get_latest_user_transcript_message(self) -> str | None:
        for event in reversed(self.events):
            if isinstance(event, UserTranscriptionReceived):
                return event.content
        return None

    def format_for_llm(self) -> list[dict[str, Any]]:
        """Chat-completions messages: system prompt, then the turns."""
        return format_events_for_llm(self.events, self.system_prompt)

    def __len__(self) -> int:
        return len(self.events)


def _assistant_text(event: Any) -> str:
    if isinstance(event, AgentSpeechSent) and event.interrupted:
        # Tell the model where it was cut so it does not assume the user heard the rest.
        return f"{event.content} [interrupted by the user]" if event.content else ""
    return str(event.content)


def format_events_for_llm(events: Iterable[Any], system_prompt: str = "") -> list[dict[str, Any]]:
    """Render events as OpenAI chat messages; consecutive assistant text is merged."""
    messages: list[dict[str, Any]] = []
    if system_prompt:
        messages.append({"role": "system", "content": system_prompt})
    for event in events:
        if isinstance(event, UserTranscriptionReceived):
            messages.append({"role": "user", "content": event.content})
        elif isinstance(event, AgentSpeechSent | AgentResponse):
            text = _assistant_text(event)
            if not text:
                continue
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant":
                # Text said around a tool call joins that message: chat APIs require the tool
                # results to follow the assistant message that made the calls.
                last["content"] = (last["content"] or "") + text
            else:
                messages.append({"role": "assistant", "content": text})
        elif isinstance(event, ToolCall):
            call = {
                "id": event.tool_call_id,
                "type": "function",
                "function": {"name": event.tool_name, "arguments": json.dumps(event.tool_args)},
            }
            last = messages[-1] if messages else None
            if last is not None and last["role"] == "assistant" and "tool_calls" in last:
                last["tool_calls"].append(call)
            else:
                messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        elif isinstance(event, ToolResult):
            content = event.result_str if event.success else f"error: {event.error}"
            messages.append({"role": "tool", "tool_call_id": event.tool_call_id or "",
                             "content": content or ""})
    return messages


def recent(events: Sequence[Any], limit: int) -> list[Any]:
    """The last ``limit`` events (all of them when ``limit`` <= 0)."""
    return list(events[-limit:]) if limit > 0 else list(events)
