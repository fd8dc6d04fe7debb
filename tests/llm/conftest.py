"""Fixtures for the LLM client tests: a real local SSE server."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .sse_server import SSEServer


@pytest.fixture
async def sse_server() -> AsyncIterator[SSEServer]:
    server = await SSEServer().start()
    try:
        yield server
    finally:
        await server.stop()
