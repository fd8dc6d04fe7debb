"""LLM failures as one exception type with a stable ``code``, and secret redaction.

Every client raises :class:`LLMError` from the stream's ``__anext__``; ``chunks_before`` says how
many chunks the consumer had already received (they stay valid: a dropped stream keeps its text).
This module does not import ``openai``: :func:`classify_openai_error` imports it when called.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal, get_args

if TYPE_CHECKING:
    from line.events import AgentError

__all__ = ["LLMError", "LLMErrorCode", "as_llm_error", "classify_openai_error", "redact"]

LLMErrorCode = Literal[
    "auth",
    "rate_limit",
    "model_not_found",
    "bad_request",
    "server_error",
    "connection",
    "stream_dropped",
    "timeout",
    "scripted",
    "unknown",
]
LLM_ERROR_CODES: tuple[str, ...] = get_args(LLMErrorCode)

#: Codes worth retrying when nothing was delivered yet (a started stream is never retried).
RETRYABLE_CODES = frozenset({"rate_limit", "server_error", "connection", "timeout"})

REDACTED = "***"
# Safety net for keys we were not told about: OpenAI-style secret keys and bearer tokens.
_KEY_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-*]{8,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-.~+/=]{8,}"),
)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every secret (and anything that looks like an API key) replaced by ``***``."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _KEY_PATTERNS[0].sub(REDACTED, text)
    return _KEY_PATTERNS[1].sub(lambda m: m.group(1) + REDACTED, text)


class LLMError(Exception):
    """An LLM request or stream failed.

    ``code`` is one of :data:`LLMErrorCode`; ``status`` the HTTP status when there was one;
    ``chunks_before`` the number of chunks delivered before the failure.
    """

    def __init__(
        self,
        message: str,
        *,
        code: LLMErrorCode = "unknown",
        status: int | None = None,
        chunks_before: int = 0,
    ) -> None:
        if code not in LLM_ERROR_CODES:
            raise ValueError(f"unknown LLMError code {code!r}; expected one of {LLM_ERROR_CODES}")
        super().__init__(message)
        self.message = message
        self.code: LLMErrorCode = code
        self.status = status
        self.chunks_before = chunks_before

    @property
    def retryable(self) -> bool:
        """Worth retrying: a transient failure before anything was delivered."""
        return self.code in RETRYABLE_CODES and self.chunks_before == 0

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"LLMError(code={self.code!r}, status={self.status!r}, "
            f"chunks_before={self.chunks_before}, message={self.message!r})"
        )

    def to_event(self, *, route: str | None = None, stage: str | None = None) -> AgentError:
        """This error as a bus :class:`line.events.AgentError` (message redacted once more)."""
        from line.events import AgentError

        message = redact(self.message)
        if self.chunks_before:
            message = f"{message} (after {self.chunks_before} chunks)"
        return AgentError(error=message, code=self.code, error_type="LLMError", route=route, stage=stage)


def as_llm_error(exc: Exception, *, secrets: Iterable[str | None] = ()) -> LLMError:
    """Any exception as an :class:`LLMError` (``openai`` ones classified, others ``unknown``)."""
    if isinstance(exc, LLMError):
        return exc
    module = type(exc).__module__.split(".")[0]
    if module in ("openai", "httpx", "httpx2", "httpcore", "anyio"):
        return classify_openai_error(exc, secrets=secrets)
    return LLMError(redact(f"{type(exc).__name__}: {exc}", secrets), code="unknown")


def _server_message(exc: BaseException) -> str:
    """The provider's own error message (from an OpenAI-style JSON body), else the exception text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and isinstance(inner.get("message"), str):
            return str(inner["message"])
        if isinstance(body.get("message"), str):
            return str(body["message"])
    message = getattr(exc, "message", None)
    return message if isinstance(message, str) else str(exc)


def classify_openai_error(
    exc: BaseException,
    *,
    model: str | None = None,
    base_url: str | None = None,
    secrets: Iterable[str | None] = (),
    mid_stream: bool = False,
) -> LLMError:
    """Map an ``openai`` (or ``httpx2``) exception to an :class:`LLMError` with a clear message.

    ``mid_stream`` says the response had started (its body was being read): connection
    failures are then ``stream_dropped``. Messages are redacted of ``secrets`` and anything
    that looks like an API key.
    """
    import httpx2
    import openai

    secrets = tuple(secrets)
    where = f" at {base_url}" if base_url else ""
    detail = redact(_server_message(exc), secrets)
    status = getattr(exc, "status_code", None)
    status = status if isinstance(status, int) else None

    def make(code: LLMErrorCode, message: str) -> LLMError:
        return LLMError(redact(message, secrets), code=code, status=status)

    if isinstance(exc, openai.AuthenticationError):
        return make("auth", "authentication failed (HTTP 401): check OPENAI_API_KEY / --api-key")
    if isinstance(exc, openai.PermissionDeniedError):
        return make("auth", f"permission denied (HTTP 403){where}: {detail}")
    if isinstance(exc, openai.RateLimitError):
        return make("rate_limit", f"rate limited (HTTP 429){where}: {detail}")
    if isinstance(exc, openai.NotFoundError):
        name = f"model {model!r}" if model else "model"
        return make("model_not_found", f"{name} not found (HTTP 404){where}: {detail}")
    if isinstance(exc, openai.APIStatusError):
        if status is not None and status >= 500:
            return make("server_error", f"server error (HTTP {status}){where}: {detail}")
        if status is not None and 400 <= status < 500:
            return make("bad_request", f"request rejected (HTTP {status}){where}: {detail}")
        return make("unknown", f"unexpected HTTP {status}{where}: {detail}")
    if isinstance(exc, openai.APITimeoutError | httpx2.TimeoutException):
        phase = "while streaming" if mid_stream else "before the response started"
        return make("timeout", f"request timed out {phase}{where}")
    if isinstance(exc, openai.APIConnectionError | httpx2.TransportError):
        # openai wraps transport errors raised before the response in APIConnectionError; a bare
        # httpx2 read/protocol error only escapes while a body is being read.
        if mid_stream or isinstance(exc, httpx2.RemoteProtocolError | httpx2.ReadError):
            cause = exc.__cause__ or exc
            return make(
                "stream_dropped", f"stream dropped mid-response{where}: {redact(str(cause), secrets)}"
            )
        cause = exc.__cause__ or exc
        return make("connection", f"could not connect{where}: {redact(str(cause), secrets)}")
    if isinstance(exc, openai.APIError):
        # An error event inside an otherwise successful stream.
        return make("server_error", f"provider error{where}: {detail}")
    return make("unknown", f"{type(exc).__name__}: {detail}")
