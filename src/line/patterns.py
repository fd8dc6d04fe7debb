"""Which events a route (or an interrupt) reacts to: a class, a glob on the type name, or "*"."""

from __future__ import annotations

import inspect
from fnmatch import fnmatchcase
from typing import Any

from pydantic import BaseModel

from line.events import EventsRegistry


class EventPattern:
    """A validated ``on(...)``/``interrupt_on(...)`` argument; raises ``TypeError`` naming bad input."""

    __slots__ = ("event_type", "glob")

    def __init__(self, pattern: Any, *, where: str) -> None:
        self.event_type: type[BaseModel] | None = None
        self.glob: str | None = None
        if inspect.isclass(pattern) and issubclass(pattern, BaseModel):
            self.event_type = pattern
        elif isinstance(pattern, str) and pattern:
            self.glob = pattern
        else:
            raise TypeError(
                f"{where}: expected an event class (e.g. UserStoppedSpeaking), a glob on the event "
                f"type name (e.g. 'User*') or '*', got {type(pattern).__name__} {pattern!r}"
            )

    def matches(self, event_type: type) -> bool:
        if self.event_type is not None:
            return issubclass(event_type, self.event_type)
        glob = self.glob
        assert glob is not None
        if glob == "*" or fnmatchcase(event_type.__name__, glob):
            return True
        alias = EventsRegistry.get(event_type)
        return alias is not None and fnmatchcase(alias, glob)

    @property
    def name(self) -> str:
        return self.event_type.__name__ if self.event_type is not None else repr(self.glob)

    def __repr__(self) -> str:
        return f"EventPattern({self.name})"
