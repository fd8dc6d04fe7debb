"""Events that travel on the bus: immutable pydantic v2 models.

Every event subclasses :class:`Event`. Subclasses register themselves by class name so a
recording can be read back into the same types (:func:`event_type_named`). Unknown fields
are rejected at construction: a typo in a field name is a clear ``ValidationError`` where the
event is made, never a mystery deep inside a route.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AgentError",
    "AgentGenerationComplete",
    "AgentHandoff",
    "AgentResponse",
    "AgentSpeechSent",
    "AgentStartedSpeaking",
    "AgentStoppedSpeaking",
    "EndCall",
    "Event",
    "EventsRegistry",
    "LogMetric",
    "ToolCall",
    "ToolResult",
    "TransferCall",
    "UserStartedSpeaking",
    "UserStoppedSpeaking",
    "UserTranscriptionReceived",
    "UserUnknownInputReceived",
    "event_type_named",
]

_by_name: dict[str, type[Event]] = {}


class Event(BaseModel):
    """Base of all bus events. Subclass it to define your own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Optional alias matched by glob patterns in ``bridge.on("user.*")`` besides the class name.
    alias: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _by_name.setdefault(cls.__name__, cls)


def event_type_named(name: str) -> type[Event] | None:
    """The event class registered under ``name`` (its class name), if any."""
    return _by_name.get(name)


class _EventsRegistry:
    """Line 0.1.x compatible alias registry: ``EventsRegistry.register("user.stop", Cls)``."""

    def __init__(self) -> None:
        self.events: dict[type, str] = {}

    def register(self, alias: str, event_type: type) -> None:
        if not isinstance(alias, str):
            raise TypeError(f"alias must be a string, got {alias!r}")
        if event_type in self.events:
            raise ValueError(f"{event_type.__name__} already registered as {self.events[event_type]!r}")
        self.events[event_type] = alias

    def get(self, event_type: type) -> str | None:
        return self.events.get(event_type) or getattr(event_type, "alias", None)


EventsRegistry = _EventsRegistry()


class AgentResponse(Event):
    """One chunk of what the agent says."""

    content: str
    chunk_type: str = "text"


class AgentGenerationComplete(Event):
    """Marks the end of one generated reply."""

    total_length: int = Field(default=0, ge=0)
    chunk_count: int = Field(default=0, ge=0)


class AgentError(Event):
    """Something failed; published by the router (stage/handler errors) and the LLM clients.

    ``route`` and ``stage`` say where, ``error_type`` what (exception class name), ``error``
    the human-readable message.
    """

    error: str
    code: str | None = None
    error_type: str | None = None
    route: str | None = None
    stage: str | None = None


class AgentStartedSpeaking(Event):
    pass


class AgentStoppedSpeaking(Event):
    pass


class AgentSpeechSent(Event):
    """What was actually delivered to the user for one agent turn (possibly cut short)."""

    content: str
    interrupted: bool = False


class UserStartedSpeaking(Event):
    pass


class UserStoppedSpeaking(Event):
    pass


class UserTranscriptionReceived(Event):
    content: str


class UserUnknownInputReceived(Event):
    input_data: str


class ToolCall(Event):
    tool_name: str
    tool_args: dict[str, Any] = Field(default_factory=dict)
    tool_call_id: str = Field(default_factory=lambda: f"call_{uuid.uuid4().hex[:12]}")
    raw_response: dict[str, Any] = Field(default_factory=dict)


class ToolResult(Event):
    tool_name: str = ""
    tool_args: dict[str, Any] = Field(default_factory=dict)
    result: Any = None
    error: str | None = None
    metadata: dict[str, Any] | None = None
    tool_call_id: str | None = None

    @property
    def success(self) -> bool:
        return self.error is None

    @property
    def result_str(self) -> str | None:
        if self.result is None:
            return None
        if isinstance(self.result, str):
            return self.result
        try:
            return json.dumps(self.result)
        except (TypeError, ValueError):
            return str(self.result)


class EndCall(Event):
    """Ends the call (the harness and the TUI show "call ended")."""

    reason: str | None = None

    @property
    def content(self) -> str:
        return repr(self)


class TransferCall(Event):
    target_phone_number: str


class AgentHandoff(Event):
    target_agent: str
    reason: str = ""


class LogMetric(Event):
    name: str
    value: Any
