"""LLMError, redaction and openai exception classification (no network)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import httpx2
import openai
import pytest

from line.llm import LLMError, classify_openai_error, redact

KEY = "sk-secret-test-key"
REQUEST = httpx2.Request("POST", "http://127.0.0.1:1/v1/chat/completions")


def status_error(cls: type[openai.APIStatusError], status: int, message: str) -> openai.APIStatusError:
    body = {"error": {"message": message, "type": "x", "code": None}}
    response = httpx2.Response(status, request=REQUEST, json=body)
    return cls(message, response=response, body=body["error"])


def test_redact_secrets_and_key_shapes() -> None:
    assert redact(f"bad key {KEY}!", [KEY]) == "bad key ***!"
    assert redact("Authorization: Bearer abcdefghijklmnop") == "Authorization: Bearer ***"
    assert redact("unknown sk-proj-ABCDEFGHIJKLMNOP leaked") == "unknown *** leaked"
    assert redact("nothing to hide", [None, "", "ab"]) == "nothing to hide"


def test_llm_error_fields_and_event() -> None:
    err = LLMError(f"oops {KEY}", code="rate_limit", status=429, chunks_before=0)
    assert err.retryable
    event = err.to_event(route="agent", stage="llm")
    assert event.code == "rate_limit" and event.error_type == "LLMError"
    assert event.route == "agent" and event.stage == "llm"
    assert KEY not in event.error  # redacted by shape even when the key was not named
    err.chunks_before = 3
    assert not err.retryable and "after 3 chunks" in err.to_event().error
    with pytest.raises(ValueError, match="unknown LLMError code"):
        LLMError("x", code="nope")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "code", "status", "needle"),
    [
        (
            status_error(openai.AuthenticationError, 401, f"Incorrect API key {KEY}"),
            "auth",
            401,
            "OPENAI_API_KEY",
        ),
        (status_error(openai.PermissionDeniedError, 403, "no"), "auth", 403, "permission denied"),
        (status_error(openai.RateLimitError, 429, "slow down"), "rate_limit", 429, "slow down"),
        (status_error(openai.NotFoundError, 404, "no such model"), "model_not_found", 404, "'my-model'"),
        (status_error(openai.BadRequestError, 400, "bad messages"), "bad_request", 400, "bad messages"),
        (status_error(openai.InternalServerError, 503, f"down {KEY}"), "server_error", 503, "HTTP 503"),
        (openai.APITimeoutError(request=REQUEST), "timeout", None, "timed out"),
        (openai.APIConnectionError(request=REQUEST), "connection", None, "could not connect"),
        (httpx2.RemoteProtocolError("peer closed", request=REQUEST), "stream_dropped", None, "peer closed"),
        (httpx2.ReadError("reset", request=REQUEST), "stream_dropped", None, "reset"),
        (ValueError("weird"), "unknown", None, "weird"),
    ],
)
def test_classify(exc: BaseException, code: str, status: int | None, needle: str) -> None:
    err = classify_openai_error(exc, model="my-model", secrets=[KEY])
    assert err.code == code and err.status == status
    assert needle in err.message
    assert KEY not in err.message


def test_connection_error_mid_stream_is_a_drop() -> None:
    exc = openai.APIConnectionError(request=REQUEST)
    assert classify_openai_error(exc, mid_stream=True).code == "stream_dropped"


def test_import_line_llm_does_not_import_openai() -> None:
    code = textwrap.dedent(
        """
        import sys
        import line.llm
        assert "openai" not in sys.modules, "openai imported eagerly"
        from line.llm import OpenAIClient
        assert "openai" in sys.modules or OpenAIClient
        print("ok")
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
