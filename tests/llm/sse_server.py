"""A tiny OpenAI-compatible chat-completions server for tests, built on asyncio streams only.

HTTP/1.1 on 127.0.0.1 (random free port), one request per connection (``Connection: close``).
Streaming replies are SSE over chunked transfer encoding, so a connection dropped mid-body is
an incomplete message to the client, as with a real server. Each request takes the next
:class:`Script` from :attr:`SSEServer.scripts` (or a default two-chunk reply).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 429: "Too Many Requests"}
REASONS |= {500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class ToolCallScript:
    name: str
    arguments: str  # raw JSON text, streamed in ``pieces`` parts
    id: str = "call_abc123"
    pieces: int = 3


@dataclass
class Script:
    """What the server does for one request.

    ``gate``/``gate_after``: after sending ``gate_after`` chunks, wait for ``gate`` (an
    asyncio.Event) before sending the rest, watching for the client going away meanwhile.
    ``drop_after``: close the connection abruptly after that many content chunks.
    ``status`` != 200: answer with an OpenAI-style JSON error body; ``echo_auth`` puts the
    request's Authorization header into the error message (as some servers do).
    """

    chunks: list[str] = field(default_factory=lambda: ["Hello", " world", "!"])
    tool_calls: list[ToolCallScript] = field(default_factory=list)
    finish_reason: str | None = None  # default: "tool_calls" if tool_calls else "stop"
    usage: dict[str, int] | None = None
    delay: float = 0.0
    gate: asyncio.Event | None = None
    gate_after: int = 0
    headers_gate: asyncio.Event | None = None  # wait for it before sending the response headers
    drop_after: int | None = None
    status: int = 200
    error_message: str = "something went wrong"
    error_type: str = "server_error"
    error_code: str | None = None
    echo_auth: bool = False
    send_done: bool = True
    # How tool-call deltas are laid out: "sequential" (each call whole, one after the other, as
    # OpenAI does), "alternating" (round-robin, one delta of each call in turn: call 0's header,
    # call 1's header, call 0's first argument fragment, call 1's, ...; as some servers do) or
    # "together" (round-robin, with one delta of every call in the same chunk).
    tool_call_layout: str = "sequential"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class SSEServer:
    def __init__(self) -> None:
        self.scripts: deque[Script] = deque()
        self.requests: list[Seen] = []
        self.disconnected = asyncio.Event()
        self.disconnected_at: float | None = None
        self.chunks_sent = 0  # content chunks written, over all requests
        self.chunk_sent = asyncio.Event()  # set whenever a content chunk was written
        self.gate_reached = asyncio.Event()  # a script is waiting on its gate
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def add(self, script: Script | None = None, **kwargs: Any) -> Script:
        script = script or Script(**kwargs)
        self.scripts.append(script)
        return script

    async def start(self) -> SSEServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    # ------------------------------------------------------------------ connection handling

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            request = await self._read_request(reader)
            if request is not None:
                self.requests.append(request)
                script = self.scripts.popleft() if self.scripts else Script()
                await self._respond(script, request, reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            self._mark_disconnected()
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _read_request(self, reader: asyncio.StreamReader) -> Seen | None:
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        raw = await reader.readexactly(length) if length else b""
        body = json.loads(raw) if raw else {}
        return Seen(method=method, path=path, headers=headers, body=body)

    def _mark_disconnected(self) -> None:
        if not self.disconnected.is_set():
            self.disconnected_at = time.monotonic()
            self.disconnected.set()

    async def _respond(
        self, script: Script, request: Seen, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        if script.status != 200:
            message = script.error_message
            if script.echo_auth:
                message += f" (credential: {request.headers.get('authorization', '')})"
            error = {"message": message, "type": script.error_type, "param": None, "code": script.error_code}
            payload = json.dumps({"error": error}).encode()
            reason = REASONS.get(script.status, "Error")
            writer.write(
                f"HTTP/1.1 {script.status} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
            return

        if script.headers_gate is not None:
            self.gate_reached.set()
            eof_before_headers = asyncio.ensure_future(reader.read(1))
            try:
                if not await self._wait_or_eof(script.headers_gate.wait(), eof_before_headers):
                    return
            finally:
                eof_before_headers.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await eof_before_headers
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        await writer.drain()
        # The client sends nothing more on this connection: a read returning means it went away.
        eof = asyncio.ensure_future(reader.read(1))
        try:
            model = request.body.get("model", "test-model")
            events = self._events(script, model)
            for index, (is_content, event) in enumerate(events):
                if (
                    is_content
                    and script.drop_after is not None
                    and self._content_index(events, index) >= (script.drop_after)
                ):
                    writer.transport.abort()  # no terminating chunk: an incomplete body
                    return
                if (
                    is_content
                    and script.gate is not None
                    and self._content_index(events, index) == script.gate_after
                ):
                    self.gate_reached.set()
                    if not await self._wait_or_eof(script.gate.wait(), eof):
                        return
                if (
                    script.delay
                    and is_content
                    and not await self._wait_or_eof(asyncio.sleep(script.delay), eof)
                ):
                    return
                if eof.done():
                    self._mark_disconnected()
                    return
                await self._send(writer, f"data: {json.dumps(event)}\n\n")
                if is_content:
                    self.chunks_sent += 1
                    self.chunk_sent.set()
            if script.send_done:
                await self._send(writer, "data: [DONE]\n\n")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        finally:
            eof.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await eof

    @staticmethod
    def _content_index(events: list[tuple[bool, dict[str, Any]]], index: int) -> int:
        return sum(1 for is_content, _ in events[:index] if is_content)

    async def _wait_or_eof(self, waitable: Any, eof: asyncio.Future[bytes]) -> bool:
        """Wait for ``waitable``; False (and the disconnect recorded) if the client left first."""
        waiter = asyncio.ensure_future(waitable)
        try:
            await asyncio.wait({waiter, eof}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if not waiter.done():
                waiter.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waiter
        if eof.done():
            self._mark_disconnected()
            return False
        return True

    async def _send(self, writer: asyncio.StreamWriter, text: str) -> None:
        data = text.encode()
        writer.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        await writer.drain()

    @staticmethod
    def _events(script: Script, model: str) -> list[tuple[bool, dict[str, Any]]]:
        """(is_content, chunk) pairs: content chunks are the text and tool-call deltas."""

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "chatcmpl-test",
                "object": "chat.completion.chunk",
                "created": 1700000000,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
            }

        events: list[tuple[bool, dict[str, Any]]] = [(False, chunk({"role": "assistant", "content": ""}))]
        events += [(True, chunk({"content": text})) for text in script.chunks]
        per_call: list[list[dict[str, Any]]] = []  # each call's deltas, in order
        for index, call in enumerate(script.tool_calls):
            size = max(1, -(-len(call.arguments) // call.pieces))
            pieces = [call.arguments[i : i + size] for i in range(0, len(call.arguments), size)] or [""]
            first = {"index": index, "id": call.id, "type": "function", "function": {"name": call.name}}
            first["function"]["arguments"] = ""
            per_call.append([first] + [{"index": index, "function": {"arguments": piece}} for piece in pieces])
        layout = script.tool_call_layout
        if layout == "sequential":
            events += [(True, chunk({"tool_calls": [delta]})) for deltas in per_call for delta in deltas]
        elif layout in ("alternating", "together"):
            rounds = [[deltas[i] for deltas in per_call if i < len(deltas)]
                      for i in range(max((len(d) for d in per_call), default=0))]
            if layout == "alternating":
                events += [(True, chunk({"tool_calls": [delta]})) for deltas in rounds for delta in deltas]
            else:
                events += [(True, chunk({"tool_calls": deltas})) for deltas in rounds]
        else:
            raise ValueError(f"unknown tool_call_layout {layout!r}")
        finish = script.finish_reason or ("tool_calls" if script.tool_calls else "stop")
        events.append((False, chunk({}, finish)))
        if script.usage is not None:
            events.append(
                (
                    False,
                    {
                        "id": "chatcmpl-test",
                        "object": "chat.completion.chunk",
                        "created": 1700000000,
                        "model": model,
                        "choices": [],
                        "usage": script.usage,
                    },
                )
            )
        return events
