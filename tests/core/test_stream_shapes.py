"""stream() decides by the *result*: async/sync generators, partials, lambdas, awaitables."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from line import Bridge, Bus, Message
from line.events import AgentResponse, UserStoppedSpeaking

from .helpers import Consumer


async def run_route(stage: Callable[[Message], Any], *later: Callable[[Message], Any]) -> list[str]:
    bus = Bus()
    consumer = Consumer(bus)
    bridge = Bridge("agent")
    builder = bridge.on(UserStoppedSpeaking).stream(stage)
    for fn in later:
        builder = builder.stream(fn)
    builder.broadcast()
    bus.register_bridge("agent", bridge)
    await bus.start()
    await bus.publish(UserStoppedSpeaking(), source="user")
    await bus.wait_idle()
    await bus.cleanup()
    return consumer.texts


async def agen(message: Message, prefix: str = "") -> AsyncIterator[AgentResponse | None]:
    for word in ("one", "two", "three"):
        yield AgentResponse(content=prefix + word)
        yield None  # skipped


def gen(message: Message) -> Iterator[AgentResponse]:
    for word in ("a", "b"):
        yield AgentResponse(content=word)


async def returns_async_iterable(message: Message) -> AsyncIterator[AgentResponse | None]:
    return agen(message, prefix="aw-")


class Node:
    def __init__(self) -> None:
        self.calls = 0

    async def generate(self, message: Message) -> AsyncIterator[AgentResponse]:
        self.calls += 1
        yield AgentResponse(content="method")


class OnlyAiter:
    """An async iterable that is not an iterator: it has ``__aiter__`` and nothing else."""

    def __init__(self, words: tuple[str, ...]) -> None:
        self.words = words

    def __aiter__(self) -> AsyncIterator[AgentResponse]:
        return agen_of(self.words)


async def agen_of(words: tuple[str, ...]) -> AsyncIterator[AgentResponse]:
    for word in words:
        yield AgentResponse(content=word)


def logged(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A typical user decorator: a plain (sync) wrapper, ``functools.wraps``, calls ``fn``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    return wrapper


class DecoratedNode:
    @logged
    async def generate(self, message: Message) -> AsyncIterator[AgentResponse]:
        yield AgentResponse(content="decorated")
        yield AgentResponse(content="method")


async def returns_one_event(message: Message) -> AgentResponse:
    return AgentResponse(content="one event")


@pytest.mark.parametrize(
    ("stage", "expected"),
    [
        (agen, ["one", "two", "three"]),
        (gen, ["a", "b"]),
        (functools.partial(agen, prefix="p-"), ["p-one", "p-two", "p-three"]),
        (lambda m: agen(m, prefix="l-"), ["l-one", "l-two", "l-three"]),
        (lambda m: [AgentResponse(content="x"), None, AgentResponse(content="y")], ["x", "y"]),
        (returns_async_iterable, ["aw-one", "aw-two", "aw-three"]),
        (lambda m: AgentResponse(content="single"), ["single"]),
        (lambda m: None, []),
        (Node().generate, ["method"]),
        (lambda m: OnlyAiter(("only", "aiter")), ["only", "aiter"]),
        (DecoratedNode().generate, ["decorated", "method"]),
        (logged(Node().generate), ["method"]),
        (returns_one_event, ["one event"]),
    ],
    ids=["async-gen", "sync-gen", "partial", "lambda-agen", "list", "awaitable", "single", "none", "method",
         "only-aiter", "decorated-method", "decorated-bound-method", "async-def-one-event"],
)
async def test_stream_accepts_every_callable_shape(stage: Callable[[Message], Any], expected: list[str]) -> None:
    assert await run_route(stage) == expected


async def test_later_stages_are_flat_maps_and_keep_order() -> None:
    async def split(message: Message) -> AsyncIterator[AgentResponse]:
        for char in message.event.content:
            yield AgentResponse(content=char)

    def double(message: Message) -> Iterator[AgentResponse]:
        yield message.event
        yield AgentResponse(content=message.event.content.upper())

    assert await run_route(agen, split, double) == [
        c for word in ("one", "two", "three") for ch in word for c in (ch, ch.upper())
    ]


async def test_generator_closed_when_a_later_stage_fails() -> None:
    closed: list[str] = []

    async def source(message: Message) -> AsyncIterator[AgentResponse]:
        try:
            for i in range(10):
                yield AgentResponse(content=str(i))
        finally:
            closed.append("source")

    def explode(message: Message) -> AgentResponse:
        if message.event.content == "2":
            raise ValueError("bad chunk 2")
        return message.event

    assert await run_route(source, explode) == ["0", "1"]
    assert closed == ["source"]
