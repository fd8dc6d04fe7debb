"""The bus event log: bounded, filterable by type, with lineage (causes and effects)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, NamedTuple

from pydantic import BaseModel

from line.trace import TraceKind, TraceRecord

MAX_ENTRIES = 2000
PAYLOAD_CHARS = 80
MAX_PARENTS = MAX_ENTRIES * 4
_TURN_EVENTS = frozenset({"UserStartedSpeaking", "UserTranscriptionReceived", "UserStoppedSpeaking"})


class LogEntry(NamedTuple):
    """One published message: a single small object of plain values (the payload is cut
    text, the event itself is not kept). At 10,000 chunks/s the 2,000 kept entries are
    replaced every 0.2 s, and each object that lives that long is one the garbage collector's
    full passes must visit, so an entry is one tuple rather than a dataclass and its dict."""

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
    #: Items between stages are not published; their ids link a chunk to its trigger (two
    #: generations: when the newer one is full it becomes the older one, O(1) per item).
    _parent: dict[int, int | None] = field(default_factory=dict)
    _older_parent: dict[int, int | None] = field(default_factory=dict)
    #: A turn's words: UserStoppedSpeaking id -> the UserTranscriptionReceived of that turn (not
    #: its cause: the caller's events do not cause each other, but a reply answers those words).
    words: dict[int, int] = field(default_factory=dict)
    _said: dict[str, int] = field(default_factory=dict)  # per source: words of the turn under way

    def feed(self, record: TraceRecord) -> None:
        """Fold one record (``DebuggerState`` calls ``stage_out``/``publish`` directly)."""
        if record.kind is TraceKind.STAGE_OUT:
            self.stage_out(record)
        elif record.kind is TraceKind.BUS_PUBLISH:
            self.publish(record)

    def stage_out(self, record: TraceRecord) -> None:
        """An item between stages: remember its parent so a chunk links to its trigger."""
        message_id = record.message_id
        if message_id is None:
            return
        parents = self._parent
        parents[message_id] = record.caused_by
        if len(parents) >= MAX_PARENTS:  # keep the latest MAX_PARENTS..2 x MAX_PARENTS links
            self._older_parent = parents
            self._parent = {}

    def publish(self, record: TraceRecord) -> None:
        message_id = record.message_id
        if message_id is None:
            return
        data = record.data or {}
        event_type = data.get("event_type", "?")
        entry = LogEntry(message_id, record.t_ns, data.get("source", ""), event_type,
                         short_payload(data.get("event")), self._logged_ancestor(record.caused_by), record.run_id)
        entries = self.entries
        by_id = self.by_id
        if len(entries) == entries.maxlen:
            old = entries[0]
            by_id.pop(old.message_id, None)
            self.children.pop(old.message_id, None)
            self.words.pop(old.message_id, None)
        if event_type in _TURN_EVENTS:
            self._turn(event_type, entry)
        entries.append(entry)
        by_id[message_id] = entry
        caused_by = entry.caused_by
        if caused_by is not None and caused_by in by_id:
            children = self.children.get(caused_by)
            if children is None:
                self.children[caused_by] = [message_id]
            else:
                children.append(message_id)
        types = self.types
        types[event_type] = types.get(event_type, 0) + 1
        self.added += 1

    def _turn(self, event_type: str, entry: LogEntry) -> None:
        said = self._said
        if event_type == "UserTranscriptionReceived":
            said[entry.source] = entry.message_id
        elif event_type == "UserStartedSpeaking":
            said.pop(entry.source, None)
        else:  # UserStoppedSpeaking: the turn's words, if it had any
            words = said.pop(entry.source, None)
            if words is not None:
                self.words[entry.message_id] = words

    def _logged_ancestor(self, message_id: int | None) -> int | None:
        """Follow unpublished intermediate items up to a message that is in the log."""
        hops = 0
        by_id, parents, older = self.by_id, self._parent, self._older_parent
        while message_id is not None and message_id not in by_id and hops < 64:
            message_id = parents[message_id] if message_id in parents else older.get(message_id)
            hops += 1
        return message_id

    def visible(self, last: int | None = None) -> list[LogEntry]:
        """Entries the filter lets through, oldest first; only the ``last`` ones when given
        (read from the newest end, so a frame does not copy the whole log)."""
        if last is None:
            if self.filter_type is None:
                return list(self.entries)
            return [entry for entry in self.entries if entry.event_type == self.filter_type]
        newest: Iterator[LogEntry] = reversed(self.entries)
        if self.filter_type is not None:
            newest = (entry for entry in newest if entry.event_type == self.filter_type)
        shown = list(islice(newest, last))
        shown.reverse()
        return shown

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

    def in_reply_to(self, message_id: int) -> LogEntry | None:
        """The words of the user turn whose end led to ``message_id`` (None for the turn's own
        events, and for what no turn with words led to)."""
        for cause in reversed(self.causes(message_id)):
            words = self.words.get(cause.message_id)
            if words is not None:
                return self.by_id.get(words)
        return None

    def effects(self, message_id: int, limit: int = 12) -> list[LogEntry]:
        """Messages directly caused by ``message_id`` (bounded)."""
        return [self.by_id[i] for i in self.children.get(message_id, [])[:limit] if i in self.by_id]

    def clear(self) -> None:
        self.entries.clear()
        self.by_id.clear()
        self.children.clear()
        self.types.clear()
        self._parent = {}
        self._older_parent = {}
        self.words.clear()
        self._said.clear()
        self.filter_type = None
