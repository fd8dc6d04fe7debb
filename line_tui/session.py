"""One call of an agent, running in the app's event loop with the keyboard as the caller."""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import Callable

from line import CallRequest, VoiceAgentSystem
from line.llm import LLMClient
from line.trace import TraceObserver, TraceRecord
from line_tui.loader import AgentEntry

#: The UI folds records 30 times a second; this bounds what waits in between (drops are counted).
OBSERVER_BUFFER = 200_000


class AgentSession:
    """Starts ``entry``'s ``handle_new_call`` and exposes what the keyboard can do to it."""

    def __init__(self, entry: AgentEntry, llm: LLMClient, call_request: CallRequest | None = None,
                 on_error: Callable[[str, str], object] | None = None) -> None:
        self.entry = entry
        self.llm = llm
        self.call_request = call_request or CallRequest()
        self.system = VoiceAgentSystem(llm=llm)
        self.error: str | None = None  # an exception while building or running the agent
        self.error_details: str = ""
        self.on_error = on_error  # told (message, traceback) whenever the agent fails, early or late
        self._task: asyncio.Task[None] | None = None
        self._observer: TraceObserver | None = None
        self.finished = asyncio.Event()

    async def start(self, on_records: Callable[[list[TraceRecord]], object]) -> None:
        """Observe the trace, run the agent's setup, and return once it started (or failed)."""
        self._observer = self.system.tracer.attach(on_records, max_buffer=OBSERVER_BUFFER)
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"agent {self.entry.name}")
        started = asyncio.ensure_future(self.system.wait_started())
        done = asyncio.ensure_future(self.finished.wait())
        try:
            await asyncio.wait({started, done}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in (started, done):
                waiter.cancel()
            await asyncio.gather(started, done, return_exceptions=True)
        if not self.system.started and self.error is None:
            self._failed(f"{self.entry.name}: handle_new_call returned without calling system.start()", "")

    def _failed(self, error: str, details: str) -> None:
        self.error, self.error_details = error, details
        if self.on_error is not None:
            self.on_error(error, details)

    async def _run(self) -> None:
        try:
            await self.entry.handler(self.system, self.call_request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._failed(f"{type(exc).__name__} in {self.entry.name}.handle_new_call: {exc}", traceback.format_exc())
        finally:
            self.finished.set()

    async def stop(self) -> None:
        """End the call: cancel the agent's task, stop every route, detach the observer."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.system.cleanup()
        if self._observer is not None:
            self.system.tracer.detach(self._observer)
            self._observer = None

    # -- what the keyboard does ---------------------------------------------------------

    @property
    def speaking(self) -> bool:
        return self.system.user.speaking

    async def typing_started(self) -> None:
        """The first keystroke while silent: the caller starts speaking (a barge-in if the agent talks)."""
        if self.system.started and not self.speaking and not self.system.ended:
            await self.system.user.start_speaking()

    async def submit(self, text: str) -> None:
        """Enter: the transcription, then ``UserStoppedSpeaking``."""
        if self.system.started and not self.system.ended:
            await self.system.user.stop_speaking(text.strip())

    async def toggle_speaking(self) -> None:
        """Speak without text (noise, a cough): start, or stop with no transcription."""
        if not self.system.started or self.system.ended:
            return
        if self.speaking:
            await self.system.user.stop_speaking("")
        else:
            await self.system.user.start_speaking()

    def toggle_pause(self) -> bool:
        bus = self.system.bus
        if bus.paused:
            bus.resume()
        else:
            bus.pause()
        return bus.paused

    def step(self) -> bool:
        return self.system.bus.step()
