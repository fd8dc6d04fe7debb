"""Recording the trace to a file while it runs, and reading it back.

:class:`TraceRecorder` observes a :class:`~line.trace.Tracer` and appends every record to a
file; :func:`load_recording` reads such a file back into the same :class:`~line.trace.TraceRecord`
objects, so a session can be replayed (``line-tui --replay``) or checked by a script.

The event loop only hands each batch of records to a writer thread; encoding and disk writes
happen there, so a slow disk never stalls the pipeline. The hand-over buffer is bounded
(``max_buffer``): when the writer falls behind, the oldest records are dropped, counted in
``dropped`` and reported in the file by an ``observer.overflow`` record — never silently.

File format (UTF-8, JSON Lines, version 1)
------------------------------------------

* Line 1 is a header: ``{"format": "line.trace", "version": 1, "monotonic_ns": ..., "wall_time": ...}``
  (the clock reading at creation in both clocks, to place the records' ``t_ns`` in wall time).
* Every other line is one record: ``{"kind": "stage.out", "t_ns": 123, "route": ..., "run_id": ...,
  "stage": ..., "message_id": ..., "caused_by": ..., "data": {...}}``; fields that are ``None``
  are left out. ``kind`` is a :class:`~line.trace.TraceKind` value.
* Inside ``data``, a pydantic model (an event) is ``{"$event": "<class name>", "$data": {fields}}``
  and is rebuilt into its class when one of that name is registered
  (:func:`line.events.event_type_named`), otherwise left as the dict of its fields. Any other
  value JSON cannot hold is written as its ``repr`` string.
* Lines are ASCII (other characters as JSON ``\\u`` escapes, so any text survives exactly).
  Each batch is flushed as it is written, so the file can be read while the session runs; a
  reader may then see a partial last line, which :func:`load_recording` reports and skips.

Secrets: every string given in ``secrets`` (API keys) and anything that looks like an API key
(``sk-...``, ``Bearer ...``; see :func:`line.llm.errors.redact`) is replaced by ``***`` before
it is written — also inside event texts, error messages and dict keys. Secrets shorter than
four characters are ignored, as by ``redact``: they cannot be removed without wrecking the text.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel, ValidationError

from line.events import event_type_named
from line.llm.errors import _KEY_PATTERNS, REDACTED
from line.trace import BoundedRecords, TraceKind, TraceObserver, Tracer, TraceRecord

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Recording",
    "RecordingError",
    "TraceRecorder",
    "decode_record",
    "encode_record",
    "load_recording",
]

logger = logging.getLogger("line.recording")

FORMAT = "line.trace"
FORMAT_VERSION = 1
DEFAULT_RECORDER_BUFFER = 100_000

_EVENT = "$event"
_EVENT_DATA = "$data"
_KINDS = {kind.value: kind for kind in TraceKind}
_INT_FIELDS = ("run_id", "stage", "message_id", "caused_by")


# -- encoding ----------------------------------------------------------------------------


def _safe_repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:  # a broken __repr__ must not lose the whole record
        return f"<unrepresentable {type(value).__name__}>"


def _encode_value(value: Any) -> Any:
    """``value`` as something ``json.dumps`` accepts; models tagged with their class name."""
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, BaseModel):
        try:
            fields = value.model_dump(mode="json")
        except Exception:  # a field JSON cannot hold: encode field by field (repr as last resort)
            fields = {name: _encode_value(getattr(value, name, None)) for name in type(value).model_fields}
        return {_EVENT: type(value).__name__, _EVENT_DATA: fields}
    if isinstance(value, dict):
        return {key if isinstance(key, str) else _safe_repr(key): _encode_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_encode_value(item) for item in value]
    return _safe_repr(value)


def encode_record(record: TraceRecord) -> dict[str, Any]:
    """One record as the JSON object written on its line (before redaction)."""
    obj: dict[str, Any] = {"kind": str(record.kind), "t_ns": record.t_ns}
    if record.route is not None:
        obj["route"] = record.route
    for name in _INT_FIELDS:
        value = getattr(record, name)
        if value is not None:
            obj[name] = value
    if record.data is not None:
        obj["data"] = _encode_value(record.data)
    return obj


def _dumps(obj: Any) -> str:
    # ASCII-only: any string (even one with a lone surrogate) survives the UTF-8 file exactly.
    return json.dumps(obj, separators=(",", ":"))


class _Redactor:
    """Removes secrets and key-like strings from encoded lines; cheap when nothing is suspicious.

    Unlike applying one replacement after another, every secret and key pattern is matched
    on the original text and the union of the matched spans is replaced, so overlapping
    matches cannot leave part of a key behind.
    """

    def __init__(self, secrets: Iterable[str | None]) -> None:
        raw = {s for s in secrets if s and len(s) >= 4}
        # A secret with quotes, backslashes or non-ASCII characters looks different once JSON-escaped.
        forms = set(raw)
        for secret in raw:
            forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
            forms.add(json.dumps(secret)[1:-1])
        self._raw = [re.compile(re.escape(s)) for s in raw]
        self._forms = [re.compile(re.escape(s)) for s in forms]
        self._suspect = re.compile("|".join([*map(re.escape, forms), "sk-", "(?i:bearer)"]))

    def line(self, obj: Any) -> str:
        text = _dumps(obj)
        if self._suspect.search(text) is None:
            return text
        text = _dumps(self._scrub(obj))  # redact string by string: the JSON stays valid
        if self._suspect.search(text) is not None:  # a secret outside any string (e.g. digits)
            text = self._redact(text, self._forms)
        return text

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._redact(value, self._raw) if self._suspect.search(value) else value
        if isinstance(value, dict):
            return {self._scrub(key): self._scrub(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self._scrub(item) for item in value]
        return value

    @staticmethod
    def _redact(text: str, secrets: list[re.Pattern[str]]) -> str:
        spans: list[tuple[int, int]] = []
        for pattern in secrets:
            spans.extend(match.span() for match in pattern.finditer(text))
        key, bearer = _KEY_PATTERNS
        spans.extend(match.span() for match in key.finditer(text))
        spans.extend((match.end(1), match.end()) for match in bearer.finditer(text))  # keep "Bearer "
        if not spans:
            return text
        spans.sort()
        parts: list[str] = []
        position = 0
        end = -1
        for span_start, span_end in spans:
            if span_start > end:  # a new span: keep the text before it
                if end >= 0:
                    parts.append(REDACTED)
                parts.append(text[position:span_start])
                end = span_end
            else:
                end = max(end, span_end)
            position = end
        parts.append(REDACTED)
        parts.append(text[position:])
        return "".join(parts)


class TraceRecorder:
    """Writes every trace record of ``tracer`` to ``path`` as JSON Lines while the session runs.

    Opens (and truncates) the file at once, so a bad path raises ``OSError`` here. Call
    :meth:`close` (or use it as a context manager) to write what is pending and detach.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        tracer: Tracer,
        *,
        secrets: Iterable[str | None] = (),
        max_buffer: int = DEFAULT_RECORDER_BUFFER,
        header: bool = True,
    ) -> None:
        self._buffer = BoundedRecords(max_buffer, label="recorder")  # raises on a bad max_buffer
        self.path = Path(path)
        self.max_buffer = max_buffer
        self.written = 0
        """Records written so far (the header not included)."""
        self._unwritten = 0  # records the file refused
        self.error: Exception | None = None
        """Why writing stopped, if it did (logged once; later records count as dropped)."""
        self._redactor = _Redactor(secrets)
        self._tracer = tracer
        self._in_flight = 0
        self._closing = False
        self._closed = False
        self._condition = threading.Condition()
        self._file = self.path.open("w", encoding="utf-8", newline="\n")
        if header:
            self._file.write(_dumps({"format": FORMAT, "version": FORMAT_VERSION,
                                     "monotonic_ns": time.monotonic_ns(), "wall_time": time.time()}) + "\n")
            self._file.flush()
        self._thread = threading.Thread(target=self._write_loop, name=f"line trace recorder {self.path.name}",
                                        daemon=True)
        self._thread.start()
        self._observer: TraceObserver = tracer.attach(self._take, max_buffer=max_buffer)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def dropped(self) -> int:
        """Records lost because the writer fell behind or the file could not be written."""
        return self._buffer.dropped + self._unwritten

    # -- on the event loop ---------------------------------------------------------------

    def _take(self, batch: list[TraceRecord]) -> None:
        """Tracer callback: hand the batch to the writer (bounded: drop oldest, counted)."""
        with self._condition:
            if self._closing:
                return
            self._buffer.extend(batch)
            self._condition.notify()

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Write every record observed so far and return once it is in the file.

        Blocks the caller (not the writer); returns ``False`` if ``timeout`` passed first or
        writing failed. The writer flushes on its own after every batch: this is for callers
        that must read the file at a precise point (tests, a "save now" action).
        """
        if self._closed:
            return self.error is None
        self._tracer.flush()
        with self._condition:
            done = self._condition.wait_for(
                lambda: (not self._buffer.has_pending and not self._in_flight)
                or self.error is not None,
                timeout,
            )
        return done and self.error is None

    def close(self) -> None:
        """Write what is pending, stop observing and close the file. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._tracer.detach(self._observer)  # hands over the records the tracer still held for us
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join()
        self._file.close()

    def __enter__(self) -> TraceRecorder:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- on the writer thread ------------------------------------------------------------

    def _next_batch(self) -> list[TraceRecord] | None:
        """Wait for records; ``None`` once closing and drained."""
        with self._condition:
            while not self._buffer.has_pending:
                if self._closing:
                    return None
                self._condition.wait()
            batch = self._buffer.take()
            self._in_flight = len(batch)
            return batch

    def _write_loop(self) -> None:
        while (batch := self._next_batch()) is not None:
            lines = []
            for record in batch:
                try:
                    lines.append(self._redactor.line(encode_record(record)))
                except Exception as exc:  # never lose the fact that a record existed
                    lines.append(self._redactor.line({
                        "kind": str(record.kind), "t_ns": record.t_ns,
                        "data": {"unencodable": f"{type(exc).__name__}: {_safe_repr(exc)}"}}))
            written = 0
            if self.error is None:
                try:
                    self._file.write("\n".join(lines) + "\n")
                    self._file.flush()
                    written = len(lines)
                except (OSError, ValueError) as exc:  # disk full, closed file, unencodable text
                    self.error = exc
                    logger.error("trace recording to %s stopped: %s", self.path, exc)
            with self._condition:
                self.written += written
                self._unwritten += len(batch) - written
                self._in_flight = 0
                self._condition.notify_all()


# -- reading -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RecordingError:
    """A line of a recording that could not be read (or only partly), and why."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass(slots=True)
class Recording:
    """What :func:`load_recording` read: every good record, and a clear error per bad line."""

    records: list[TraceRecord] = field(default_factory=list)
    errors: list[RecordingError] = field(default_factory=list)
    header: dict[str, Any] | None = None

    @property
    def version(self) -> int | None:
        return self.header.get("version") if self.header is not None else None


def _decode_value(value: Any, problems: list[str]) -> Any:
    if isinstance(value, dict):
        if len(value) == 2 and _EVENT in value and isinstance(value.get(_EVENT_DATA), dict):
            name = value[_EVENT]
            fields = {key: _decode_value(item, problems) for key, item in value[_EVENT_DATA].items()}
            event_type = event_type_named(name) if isinstance(name, str) else None
            if event_type is None:
                return fields
            try:
                return event_type.model_validate(fields)
            except ValidationError as exc:
                problems.append(f"event {name} kept as a dict: {exc.errors()[0]['msg']}")
                return fields
        return {key: _decode_value(item, problems) for key, item in value.items()}
    if isinstance(value, list):
        return [_decode_value(item, problems) for item in value]
    return value


def decode_record(obj: Any, problems: list[str] | None = None) -> TraceRecord:
    """The record a line's JSON object describes; raises ``ValueError`` saying what is wrong.

    ``problems`` collects what was read only in part (an event kept as a dict).
    """
    if not isinstance(obj, dict):
        raise ValueError(f"not a trace record (a JSON {type(obj).__name__}, expected an object)")
    kind_name = obj.get("kind")
    kind = _KINDS.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        raise ValueError(f"unknown record kind {kind_name!r}" if "kind" in obj else "not a trace record (no 'kind')")
    t_ns = obj.get("t_ns")
    if not isinstance(t_ns, int) or isinstance(t_ns, bool):
        raise ValueError(f"field 't_ns' must be an integer, got {t_ns!r}")
    route = obj.get("route")
    if route is not None and not isinstance(route, str):
        raise ValueError(f"field 'route' must be a string, got {route!r}")
    ints: list[int | None] = []
    for name in _INT_FIELDS:
        value = obj.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"field {name!r} must be an integer, got {value!r}")
        ints.append(value)
    data = obj.get("data")
    if data is not None and not isinstance(data, dict):
        raise ValueError(f"field 'data' must be an object, got {type(data).__name__}")
    if data is not None:
        data = _decode_value(data, problems if problems is not None else [])
    return TraceRecord(kind, t_ns, route, ints[0], ints[1], ints[2], ints[3], data)


def _parse_lines(lines: Iterable[bytes], recording: Recording) -> None:
    for number, raw in enumerate(lines, start=1):
        text_bytes = raw.rstrip(b"\r\n")
        if not text_bytes.strip():
            continue
        try:
            text = text_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            recording.errors.append(RecordingError(number, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"))
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            cut = "" if raw.endswith(b"\n") else "; the file ends mid-line (cut short while writing?)"
            recording.errors.append(RecordingError(number, f"not valid JSON ({exc.msg} at column {exc.colno}){cut}"))
            continue
        if number == 1 and isinstance(obj, dict) and obj.get("format") == FORMAT:
            recording.header = obj
            version = obj.get("version")
            if not isinstance(version, int) or version > FORMAT_VERSION:
                recording.errors.append(RecordingError(
                    number, f"format version {version!r} is not one this reader knows ({FORMAT_VERSION}); "
                            "reading what it can"))
            continue
        problems: list[str] = []
        try:
            record = decode_record(obj, problems)
        except ValueError as exc:
            recording.errors.append(RecordingError(number, str(exc)))
            continue
        recording.records.append(record)
        recording.errors.extend(RecordingError(number, problem) for problem in problems)


def load_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a recording: every good line, and a :class:`RecordingError` per bad one.

    A truncated or corrupted file still loads; only an unreadable one (missing, a directory,
    no permission) raises ``OSError``.
    """
    recording = Recording()
    with Path(path).open("rb") as file:
        _parse_lines(file, recording)
    return recording
