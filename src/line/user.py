"""The simulated caller: publishes speech events and receives what the agent says.

In a real deployment the voice harness plays this part; here the TUI (keyboard) and tests
drive it. It only accepts ``AgentResponse`` from speaking nodes, as a phone line would.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from line.bridge import Bridge
from line.bus import Message
from line.events import (
    AgentError,
    AgentResponse,
    EndCall,
    UserStartedSpeaking,
    UserStoppedSpeaking,
    UserTranscriptionReceived,
)

if TYPE_CHECKING:
    from line.system import VoiceAgentSystem

__all__ = ["USER_ID", "UserEndpoint"]

USER_ID = "user"


class UserEndpoint:
    """``system.user``: speak with ``start_speaking``/``stop_speaking`` or ``say``."""

    def __init__(self, system: VoiceAgentSystem) -> None:
        self.system = system
        self.bridge = Bridge(USER_ID)
        self.speaking = False
        self.received: list[str] = []
        self.errors: list[AgentError] = []
        self.bridge.on(AgentResponse, filter_fn=self._from_speaking_node).map(self._receive)
        self.bridge.on(EndCall).map(self._end_call)
        self.bridge.on(AgentError).map(self._error)

    def _from_speaking_node(self, message: Message) -> bool:
        return message.source in self.system.speaking_node_ids

    def _receive(self, message: Message) -> None:
        self.received.append(message.event.content)

    def _end_call(self, message: Message) -> None:
        self.system.mark_call_ended(message.event)

    def _error(self, message: Message) -> None:
        self.errors.append(message.event)

    @property
    def heard(self) -> str:
        """Everything the agent said that reached the caller, in order."""
        return "".join(self.received)

    async def start_speaking(self) -> Message | None:
        """The caller starts talking (a barge-in while the agent speaks). No-op if already talking."""
        if self.speaking:
            return None
        self.speaking = True
        return await self.bridge.send(UserStartedSpeaking())

    async def stop_speaking(self, text: str = "") -> Message:
        """The caller stops: publishes the transcription (if any) then ``UserStoppedSpeaking``."""
        if not self.speaking:
            await self.start_speaking()
        self.speaking = False
        if text:  # two facts of the caller, neither caused by the other: no lineage between them
            await self.bridge.send(UserTranscriptionReceived(content=text))
        return await self.bridge.send(UserStoppedSpeaking())

    async def say(self, text: str) -> Message:
        """A whole user turn: started, transcription, stopped."""
        await self.start_speaking()
        return await self.stop_speaking(text)
