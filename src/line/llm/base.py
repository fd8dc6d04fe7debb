"""Provider-neutral streaming LLM types: chunks, tool calls, usage, and the cancellable stream.

An :class:`LLMStream` is an async iterator of :class:`LLMChunk`. It starts no I/O until it is
first iterated, and :meth:`LLMStream.cancel` stops it at once from any task: a consumer blocked
in ``__anext__`` is woken and its ``async for`` simply ends (``StopAsyncIteration``, never an
exception), and the underlying HTTP response is closed so the server sees the disconnect.

A stream created inside a route run registers its ``cancel`` with
:func:`line.run_context.register_cleanup`, so a barge-in closes it even if user code forgets.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from line.run_context import register_cleanup

if TYPE_CHECKING:
    from typing import Self

    from line.events import ToolCall
    from line.llm.errors import LLMError

__all__ = ["LLMChunk", "LLMClient", "LLMStream", "LLMToolCall", "LLMUsage"]

logger = logging.getLogger("line.llm")


@dataclass(slots=True, frozen=True)
class LLMToolCall:
    """One complete tool call, assembled from the streamed deltas.

    ``arguments`` is the parsed JSON object; when the model produced invalid JSON (or not an
    object) it is ``{}``, ``raw_arguments`` keeps the text and ``parse_error`` says why.
    """

    id: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    raw_arguments: str = ""
    parse_error: str | None = None

    def to_event(self) -> ToolCall:
        """This call as a bus :class:`line.events.ToolCall` event."""
        from line.events import ToolCall

        return ToolCall(tool_name=self.name, tool_args=dict(self.arguments), tool_call_id=self.id)

    def to_message(self) -> dict[str, Any]:
        """This call in the OpenAI chat format (an item of an assistant message's ``tool_calls``)."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.raw_arguments},
        }


@dataclass(slots=True, frozen=True)
class LLMUsage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(slots=True)
class LLMChunk:
    """One piece of a streamed reply.

    ``tool_calls`` holds complete calls only, delivered in the chunk where they complete (the
    one carrying ``finish_reason``, or a final chunk if the stream ended without one).
    """

    text: str = ""
    tool_calls: tuple[LLMToolCall, ...] = ()
    finish_reason: str | None = None
    usage: LLMUsage | None = None


class LLMStream:
    """Base of every LLM stream: an async iterator of :class:`LLMChunk` that can be cancelled.

    Subclasses implement :meth:`_produce` (the next chunk, or ``None`` at the end; raise
    :class:`~line.llm.errors.LLMError` on failure) and, when they hold resources such as an
    HTTP response, :meth:`_release_needed` and :meth:`_release`.

    States: iterating, then exactly one of ``finished`` (the reply ended normally), ``error``
    set (the provider failed), or ``cancelled`` (:meth:`cancel` was called first).
    """

    def __init__(self) -> None:
        self._cancelled = False
        self._finished = False
        self._started = False
        self.error: LLMError | None = None
        self.finish_reason: str | None = None
        self.usage: LLMUsage | None = None
        self.tool_calls: list[LLMToolCall] = []
        self.chunks_delivered = 0
        self._text_parts: list[str] = []
        # The task currently awaiting _produce(), and whether cancel() interrupted it.
        self._waiter: asyncio.Task[Any] | None = None
        self._interrupt_sent = False
        self._idle: asyncio.Event | None = None
        self._released = False
        self._close_task: asyncio.Task[None] | None = None
        self.registered_cleanup = register_cleanup(self.cancel)

    # ------------------------------------------------------------------ subclass hooks

    async def _produce(self) -> LLMChunk | None:
        raise NotImplementedError

    def _release_needed(self) -> bool:
        """True when :meth:`_release` has something to close (it is then run in a task on cancel)."""
        return False

    async def _release(self) -> None:
        """Close underlying resources. Called at most once, never while :meth:`_produce` runs."""

    def _on_cancel(self) -> None:
        """Called once, synchronously, when the stream is cancelled (for statistics)."""

    # ------------------------------------------------------------------ state

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    @property
    def finished(self) -> bool:
        """The reply ended normally (not cancelled, no error)."""
        return self._finished

    @property
    def done(self) -> bool:
        """Iteration is over, however it ended."""
        return self._cancelled or self._finished or self.error is not None

    @property
    def started(self) -> bool:
        """Iteration has begun (for network clients: the request was sent)."""
        return self._started

    @property
    def text_so_far(self) -> str:
        """All text delivered to the consumer so far."""
        if len(self._text_parts) > 1:
            self._text_parts[:] = ["".join(self._text_parts)]
        return self._text_parts[0] if self._text_parts else ""

    # ------------------------------------------------------------------ iteration

    def __aiter__(self) -> LLMStream:
        return self

    async def __anext__(self) -> LLMChunk:
        if self.done:
            await self._settle()
            raise StopAsyncIteration
        if self._waiter is not None:
            raise RuntimeError(f"{type(self).__name__} is already being iterated by another task")
        task = asyncio.current_task()
        baseline = task.cancelling() if task is not None else 0
        self._started = True
        self._waiter = task
        if self._idle is not None:
            self._idle.clear()
        try:
            chunk = await self._produce()
        except asyncio.CancelledError:
            if self._interrupt_sent and task is not None:
                self._interrupt_sent = False
                if task.uncancel() <= baseline:
                    # Our own cancel(): end the iteration quietly.
                    self._set_idle()
                    await self._settle()
                    raise StopAsyncIteration from None
            # The consuming task itself was cancelled: the stream cannot continue.
            self._mark_cancelled()
            raise
        except BaseException as exc:
            from line.llm.errors import LLMError, as_llm_error

            if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit, GeneratorExit
                self._mark_cancelled()
                raise
            error = exc if isinstance(exc, LLMError) else as_llm_error(exc)
            error.chunks_before = self.chunks_delivered
            self.error = error
            self._set_idle()
            await self._release_once()
            if error is exc:
                raise
            raise error from exc
        finally:
            self._set_idle()
        if self._cancelled:
            # cancel() arrived while _produce() was completing and its interruption was swallowed.
            if self._interrupt_sent and task is not None:
                self._interrupt_sent = False
                task.uncancel()
            await self._settle()
            raise StopAsyncIteration
        if chunk is None:
            self._finished = True
            await self._release_once()
            raise StopAsyncIteration
        self.chunks_delivered += 1
        if chunk.text:
            self._text_parts.append(chunk.text)
        if chunk.tool_calls:
            self.tool_calls.extend(chunk.tool_calls)
        if chunk.finish_reason is not None:
            self.finish_reason = chunk.finish_reason
        if chunk.usage is not None:
            self.usage = chunk.usage
        return chunk

    # ------------------------------------------------------------------ cancellation

    def cancel(self) -> None:
        """Stop the stream now. Idempotent; a no-op once the stream has ended.

        Safe from any task (and from synchronous cleanup code): a task blocked in ``__anext__``
        is woken and its iteration ends; the underlying close runs in a task owned by the stream
        (awaited by :meth:`aclose`).
        """
        if self.done:
            return
        self._mark_cancelled()
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            try:
                current = asyncio.current_task()
            except RuntimeError:
                current = None
            if waiter is not current:
                self._interrupt_sent = True
                waiter.cancel("LLMStream.cancel()")

    def _mark_cancelled(self) -> None:
        if self._cancelled:
            return
        self._cancelled = True
        self._on_cancel()
        self._schedule_release()

    def _schedule_release(self) -> None:
        if self._released or self._close_task is not None or not self._release_needed():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: aclose() releases inline
        self._close_task = loop.create_task(self._release_when_idle(), name=f"{type(self).__name__}.close")

    async def _release_when_idle(self) -> None:
        # Never close underneath a running _produce(): wait for the (interrupted) waiter to leave.
        if self._waiter is not None:
            if self._idle is None:
                self._idle = asyncio.Event()
            await self._idle.wait()
        await self._release_once()

    async def _release_once(self) -> None:
        if self._released:
            return
        self._released = True
        try:
            await self._release()
        except Exception:
            logger.warning("closing %r failed", self, exc_info=True)

    def _set_idle(self) -> None:
        self._waiter = None
        if self._idle is not None:
            self._idle.set()

    async def _settle(self) -> None:
        """Wait for the close task started by cancel(), if any (it is quick: a socket close)."""
        close_task = self._close_task
        if close_task is not None and not close_task.done() and close_task is not asyncio.current_task():
            await asyncio.shield(close_task)

    async def aclose(self) -> None:
        """Cancel (if still running) and wait until the underlying resources are closed."""
        self.cancel()
        close_task = self._close_task
        if close_task is not None:
            await asyncio.shield(close_task)
        elif self._waiter is None:
            await self._release_once()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = (
            "cancelled"
            if self._cancelled
            else "finished"
            if self._finished
            else f"error={self.error.code}"
            if self.error is not None
            else "streaming"
            if self._started
            else "pending"
        )
        return f"<{type(self).__name__} {state} chunks={self.chunks_delivered}>"


@runtime_checkable
class LLMClient(Protocol):
    """What a route needs from an LLM: a stream per request.

    ``generate_stream`` is a plain method: it returns the stream at once and starts no I/O until
    the stream is first iterated, so a stream that is never iterated leaves nothing behind.
    """

    def generate_stream(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None
    ) -> LLMStream: ...


def as_messages(conversation: Any) -> list[dict[str, Any]]:
    """Chat messages from a list of messages or from anything with ``format_for_llm()``.

    The spec passes its ``ConversationContext`` straight to ``generate_stream(context)``;
    both forms are accepted so its code runs unchanged.
    """
    format_for_llm = getattr(conversation, "format_for_llm", None)
    if callable(format_for_llm):
        conversation = format_for_llm()
    if not isinstance(conversation, list | tuple):
        raise TypeError(
            "generate_stream(messages): expected a list of chat messages or a ConversationContext, "
            f"got {type(conversation).__name__}"
        )
    return [dict(message) for message in conversation]
