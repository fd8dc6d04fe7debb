"""Streaming LLM clients for routes: a provider-neutral stream type, an offline scripted LLM,
and an OpenAI-compatible client.

``import line.llm`` does not import ``openai``; :class:`OpenAIClient` is loaded on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from line.llm.base import LLMChunk, LLMClient, LLMStream, LLMToolCall, LLMUsage
from line.llm.errors import LLMError, classify_openai_error, redact
from line.llm.scripted import ScriptedLLM, ScriptedStream, ScriptRule

if TYPE_CHECKING:
    from line.llm.openai_client import OpenAIClient, OpenAIStream

__all__ = [
    "LLMChunk",
    "LLMClient",
    "LLMError",
    "LLMStream",
    "LLMToolCall",
    "LLMUsage",
    "OpenAIClient",
    "OpenAIStream",
    "ScriptRule",
    "ScriptedLLM",
    "ScriptedStream",
    "classify_openai_error",
    "redact",
]


def __getattr__(name: str) -> Any:
    if name in ("OpenAIClient", "OpenAIStream"):
        from line.llm import openai_client

        return getattr(openai_client, name)
    raise AttributeError(f"module 'line.llm' has no attribute {name!r}")
