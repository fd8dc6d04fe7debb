"""Streaming chat completions through the ``openai`` async client (OpenAI or any compatible server).

Configuration falls back to ``OPENAI_MODEL`` (default ``gpt-4o-mini``), ``OPENAI_BASE_URL`` and
``OPENAI_API_KEY``; with no key anywhere the placeholder ``sk-no-key`` is sent (local servers
such as llama.cpp ignore it). Requests are never retried (``max_retries=0``): a voice agent would
rather fail fast and say so.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from line.llm.base import LLMChunk, LLMStream, LLMToolCall, LLMUsage, as_messages
from line.llm.errors import LLMError, classify_openai_error, redact

if TYPE_CHECKING:
    import openai

__all__ = ["DEFAULT_MODEL", "NO_KEY", "OpenAIClient", "OpenAIStream"]

DEFAULT_MODEL = "gpt-4o-mini"
NO_KEY = "sk-no-key"


class OpenAIClient:
    """:class:`~line.llm.base.LLMClient` over ``openai.AsyncOpenAI`` chat completions.

    The ``AsyncOpenAI`` client (and its HTTP connection pool) is created on first use; close it
    with :meth:`aclose` (alias :meth:`close`) or ``async with OpenAIClient(...)``.
    """

    def __init__(
        self,
        model: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 30.0,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        self.model = model or os.environ.get("OPENAI_MODEL") or DEFAULT_MODEL
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self._api_key = api_key or os.environ.get("OPENAI_API_KEY") or NO_KEY
        self.timeout = timeout
        self.extra_body = dict(extra_body) if extra_body else None
        self._client: openai.AsyncOpenAI | None = None

    @property
    def has_api_key(self) -> bool:
        return self._api_key != NO_KEY

    @property
    def client(self) -> openai.AsyncOpenAI:
        """The underlying ``openai.AsyncOpenAI`` (created on first access)."""
        if self._client is None:
            import openai

            self._client = openai.AsyncOpenAI(
                api_key=self._api_key,
                base_url=self.base_url,
                timeout=self.timeout,
                max_retries=0,
            )
        return self._client

    def generate_stream(
        self, messages: list[dict[str, Any]] | Any, tools: list[dict[str, Any]] | None = None
    ) -> OpenAIStream:
        messages = as_messages(messages)
        """A stream for this request. Nothing is sent until it is first iterated."""
        return OpenAIStream(self, messages, tools)

    def _secrets(self) -> tuple[str, ...]:
        return (self._api_key,) if self.has_api_key else ()

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets())

    async def aclose(self) -> None:
        """Close the HTTP connection pool. The client can be used again afterwards."""
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    async def close(self) -> None:
        await self.aclose()

    async def __aenter__(self) -> OpenAIClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        key = "set" if self.has_api_key else "none"
        base_url = self._redact(self.base_url) if self.base_url else None
        return f"OpenAIClient(model={self.model!r}, base_url={base_url!r}, api_key=<{key}>)"


class _PendingToolCall:
    __slots__ = ("arguments", "id", "name")

    def __init__(self) -> None:
        self.id = ""
        self.name = ""
        self.arguments: list[str] = []

    def assemble(self, index: int) -> LLMToolCall:
        raw = "".join(self.arguments)
        call_id = self.id or f"call_{index}"
        if not raw.strip():
            return LLMToolCall(id=call_id, name=self.name, arguments={}, raw_arguments=raw)
        try:
            parsed = json.loads(raw)
        except ValueError as exc:
            return LLMToolCall(call_id, self.name, {}, raw, f"invalid JSON arguments: {exc}")
        if not isinstance(parsed, dict):
            return LLMToolCall(
                call_id, self.name, {}, raw, f"arguments are not a JSON object: {type(parsed).__name__}"
            )
        return LLMToolCall(id=call_id, name=self.name, arguments=parsed, raw_arguments=raw)


class OpenAIStream(LLMStream):
    """One streamed chat completion. Cancelling closes the HTTP response at once."""

    def __init__(
        self, client: OpenAIClient, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None
    ) -> None:
        self._owner = client
        self.messages = messages
        self.tools = tools
        self._response: Any = None  # openai.AsyncStream[ChatCompletionChunk] once the request succeeded
        self._pending_calls: dict[int, _PendingToolCall] = {}
        self._ended = False
        super().__init__()

    def _release_needed(self) -> bool:
        return self._response is not None

    async def _release(self) -> None:
        response, self._response = self._response, None
        if response is None:
            return
        # Close openai's SSE generator (it is suspended at a yield here, never running: _release
        # only runs while no _produce() is in flight) and then the HTTP response itself.
        iterator = getattr(response, "_iterator", None)
        aclose = getattr(iterator, "aclose", None)
        try:
            if aclose is not None:
                await aclose()
        finally:
            await response.close()

    def _classify(self, exc: BaseException, *, mid_stream: bool) -> LLMError:
        owner = self._owner
        return classify_openai_error(
            exc, model=owner.model, base_url=owner.base_url, secrets=owner._secrets(), mid_stream=mid_stream
        )

    async def _open(self) -> None:
        import openai

        owner = self._owner
        kwargs: dict[str, Any] = {
            "model": owner.model,
            "messages": self.messages,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if self.tools:
            kwargs["tools"] = self.tools
        if owner.extra_body:
            kwargs["extra_body"] = owner.extra_body
        try:
            self._response = await owner.client.chat.completions.create(**kwargs)
        except openai.OpenAIError as exc:
            raise self._classify(exc, mid_stream=False) from exc

    async def _produce(self) -> LLMChunk | None:
        import httpx2
        import openai

        if self._ended:
            return None
        if self._response is None:
            await self._open()
        while True:
            try:
                raw = await self._response.__anext__()
            except StopAsyncIteration:
                self._ended = True
                calls = self._flush_tool_calls()
                return LLMChunk(tool_calls=calls) if calls else None
            except (openai.OpenAIError, httpx2.HTTPError) as exc:
                raise self._classify(exc, mid_stream=True) from exc
            chunk = self._convert(raw)
            if chunk is not None:
                return chunk

    def _convert(self, raw: Any) -> LLMChunk | None:
        """An LLMChunk for one ``ChatCompletionChunk``, or None when it carries nothing useful."""
        usage = self._usage(getattr(raw, "usage", None))
        choices = getattr(raw, "choices", None) or []
        if not choices:  # the usage-only final chunk (stream_options.include_usage)
            return LLMChunk(usage=usage) if usage is not None else None
        choice = choices[0]
        delta = getattr(choice, "delta", None)
        text = (getattr(delta, "content", None) or "") if delta is not None else ""
        for call_delta in (getattr(delta, "tool_calls", None) or []) if delta is not None else []:
            index = getattr(call_delta, "index", None)
            index = index if isinstance(index, int) else len(self._pending_calls)
            pending = self._pending_calls.setdefault(index, _PendingToolCall())
            if getattr(call_delta, "id", None):
                pending.id = call_delta.id
            function = getattr(call_delta, "function", None)
            if function is not None:
                name = getattr(function, "name", None)
                if name and name != pending.name:
                    pending.name += name  # sent once by OpenAI; some servers stream it in pieces
                if getattr(function, "arguments", None):
                    pending.arguments.append(function.arguments)
        finish_reason = getattr(choice, "finish_reason", None)
        calls: tuple[LLMToolCall, ...] = ()
        if finish_reason is not None:
            calls = self._flush_tool_calls()
        if not text and not calls and finish_reason is None and usage is None:
            return None
        return LLMChunk(text=text, tool_calls=calls, finish_reason=finish_reason, usage=usage)

    def _flush_tool_calls(self) -> tuple[LLMToolCall, ...]:
        pending, self._pending_calls = self._pending_calls, {}
        return tuple(pending[index].assemble(index) for index in sorted(pending))

    @staticmethod
    def _usage(raw: Any) -> LLMUsage | None:
        if raw is None:
            return None
        prompt = int(getattr(raw, "prompt_tokens", 0) or 0)
        completion = int(getattr(raw, "completion_tokens", 0) or 0)
        total = int(getattr(raw, "total_tokens", 0) or 0) or prompt + completion
        return LLMUsage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)
