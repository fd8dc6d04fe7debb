"""The bus event log: bounded, filterable by type, with lineage (causes and effects)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from line.trace import TraceKind, TraceRecord

MAX_ENTRIES = 2000
PAYLOAD_CHARS = 80


@dataclass
class LogEntry:
    message_id: int
    t_ns: int
    source: str
    event_type: str
    payload: str
    caused_by: int | None
    run_id: int | None


def short_payload(event: Any) -> str:
    """``field=value`` pairs of an event, cut to a readable length (raw text, never markup)."""
    if isinstance(event, BaseModel):
        # `content` is what people look for: shown first and without its name.
        fields = event.__dict__
        parts = [repr(fields["content"])] if "content" in fields else []
        parts += [f"{name}={value!r}" for name, value in fields.items() if name != "content"]
        text = " ".join(parts)
    else:
        text = repr(event)
    return text if len(text) <= PAYLOAD_CHARS else text[: PAYLOAD_CHARS - 1] + "…"


@dataclass
class EventLogModel:
    entries: deque[LogEntry] = field(default_factory=lambda: deque(maxlen=MAX_ENTRIES))
    by_id: dict[int, LogEntry] = field(default_factory=dict)
    children: dict[int, list[int]] = field(default_factory=dict)
    types: dict[str, int] = field(default_factory=dict)
    filter_type: str | None = None
    added: int = 0  # total ever appended (widgets use it to append incrementally)
    #: Items between stages are not published; their ids link a chunk to its trigger.
    _parent: dict[int, int | None] = field(default_factory=dict)

    def feed(self, record: TraceRecord) -> None:
        if record.message_id is None:
            return
        if record.kind is TraceKind.STAGE_OUT:
            self._parent[record.message_id] = record.caused_by
            if len(self._parent) > MAX_ENTRIES * 8:
                del self._parent[next(iter(self._parent))]
            return
        event_type = record.get("event_type", "?")
        entry = LogEntry(record.message_id, record.t_ns, record.get("source", ""), event_type,
                         short_payload(record.get("event")), self._logged_ancestor(record.caused_by),
                         record.run_id)
        if len(self.entries) == self.entries.maxlen:
            old = self.entries[0]
            self.by_id.pop(old.message_id, None)
            self.children.pop(old.message_id, None)
        self.entries.append(entry)
        self.by_id[entry.message_id] = entry
        if entry.caused_by is not None and entry.caused_by in self.by_id:
            self.children.setdefault(entry.caused_by, []).append(entry.message_id)
        self.types[event_type] = self.types.get(event_type, 0) + 1
        self.added += 1

    def _logged_ancestor(self, message_id: int | None) -> int | None:
        """Follow unpublished intermediate items up to a message that is in the log."""
        hops = 0
        while message_id is not None and message_id not in self.by_id and hops < 64:
            message_id = self._parent.get(message_id)
            hops += 1
        return message_id

    def visible(self) -> list[LogEntry]:
        if self.filter_type is None:
            return list(self.entries)
        return [entry for entry in self.entries if entry.event_type == self.filter_type]

    def cycle_filter(self) -> str | None:
        """Next type to show (None = all), in order of first appearance."""
        names = list(self.types)
        if not names:
            self.filter_type = None
        elif self.filter_type is None:
            self.filter_type = names[0]
        else:
            index = names.index(self.filter_type) + 1 if self.filter_type in names else 0
            self.filter_type = names[index] if index < len(names) else None
        return self.filter_type

    def causes(self, message_id: int, limit: int = 12) -> list[LogEntry]:
        """The chain of messages that led to ``message_id``, oldest first (bounded)."""
        chain: list[LogEntry] = []
        entry = self.by_id.get(message_id)
        while entry is not None and entry.caused_by is not None and len(chain) < limit:
            entry = self.by_id.get(entry.caused_by)
            if entry is not None:
                chain.append(entry)
        chain.reverse()
        return chain

    def effects(self, message_id: int, limit: int = 12) -> list[LogEntry]:
        """Messages directly caused by ``message_id`` (bounded)."""
        return [self.by_id[i] for i in self.children.get(message_id, [])[:limit] if i in self.by_id]

    def clear(self) -> None:
        self.entries.clear()
        self.by_id.clear()
        self.children.clear()
        self.types.clear()
        self._parent.clear()
        self.filter_type = None
