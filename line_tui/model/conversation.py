"""The conversation as the caller heard it.

An agent turn collects the ``AgentResponse`` chunks of one route run that were *delivered* to
the caller (``bus.deliver`` to a route of the ``user`` bridge). Chunks that were published
but dropped by a barge-in (``bus.drop``), and whatever sat in the run's buffers when the
interrupt was accepted, make up the *cut* part.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

from line.growing_text import GrowingText
from line.trace import TraceKind, TraceRecord

USER_BRIDGE = "user"
MAX_TURNS = 200
MAX_PENDING = 4096
class Turn:
    """One turn of the conversation; an agent turn grows as its chunks are delivered."""

    __slots__ = ("_cut", "_text", "failed", "finished", "interrupted", "role", "run_id")

    def __init__(self, role: str, text: str = "", cut: str = "", run_id: int | None = None,
                 interrupted: bool = False, failed: bool = False, finished: bool = False) -> None:
        self.role = role  # "user" | "agent"
        self._text = GrowingText(text)
        self._cut = GrowingText(cut)  # published but never heard (dropped, or left in buffers)
        self.run_id = run_id
        self.interrupted = interrupted
        self.failed = failed
        self.finished = finished

    @property
    def text(self) -> str:
        return self._text.value

    @property
    def cut(self) -> str:
        return self._cut.value

    @property
    def heard(self) -> GrowingText:
        return self._text

    @property
    def unheard(self) -> GrowingText:
        return self._cut

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Turn):
            return NotImplemented
        return (self.role, self.text, self.cut, self.run_id, self.interrupted, self.failed, self.finished) == \
            (other.role, other.text, other.cut, other.run_id, other.interrupted, other.failed, other.finished)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Turn(role={self.role!r}, text={self.text!r}, cut={self.cut!r}, run_id={self.run_id!r}, "
                f"interrupted={self.interrupted!r}, failed={self.failed!r}, finished={self.finished!r})")


@dataclass
class ConversationModel:
    turns: deque[Turn] = field(default_factory=lambda: deque(maxlen=MAX_TURNS))
    user_routes: set[str] = field(default_factory=set)
    _pending: OrderedDict[int, tuple[int | None, str]] = field(default_factory=OrderedDict)
    _by_run: dict[int | None, Turn] = field(default_factory=dict)
    # Runs that finished before the caller heard them (their chunks still queued): the turn is
    # made on the first delivery and must then show as finished.
    _finished: OrderedDict[int, str] = field(default_factory=OrderedDict)
    speaking: bool = False

    def feed(self, record: TraceRecord, buffered: Any = None) -> None:
        """Fold one record (``DebuggerState`` calls the method of its kind directly)."""
        kind = record.kind
        if kind is TraceKind.ROUTE_DEFINED:
            self.route_defined(record)
        elif kind is TraceKind.BUS_PUBLISH:
            self.published(record)
        elif kind is TraceKind.BUS_DELIVER:
            self.delivered(record)
        elif kind is TraceKind.BUS_DROP:
            self.dropped(record)
        elif kind is TraceKind.INTERRUPT_ACCEPTED:
            self.interrupt_accepted(record, buffered)
        elif kind is TraceKind.RUN_FINISHED:
            self.run_finished(record)

    def route_defined(self, record: TraceRecord) -> None:
        if record.get("bridge") == USER_BRIDGE:
            self.user_routes.add(record.route or "")

    def delivered(self, record: TraceRecord) -> None:
        """A chunk reached the caller: it was heard."""
        if record.route in self.user_routes:
            pending = self._pending.pop(record.message_id, None)  # type: ignore[arg-type]
            if pending is not None:
                self._agent_turn(pending[0]).heard.append(pending[1])

    def dropped(self, record: TraceRecord) -> None:
        """A chunk was dropped on its way to the caller: it was cut."""
        if record.route in self.user_routes:
            pending = self._pending.pop(record.message_id, None)  # type: ignore[arg-type]
            if pending is not None:
                self._agent_turn(pending[0]).unheard.append(pending[1])

    def interrupt_accepted(self, record: TraceRecord, buffered: Any = None) -> None:
        if record.run_id is None:
            return
        turn = self._by_run.get(record.run_id)
        if turn is None and buffered:
            # Cut before the caller heard a word: the turn still shows, all of it cut.
            turn = self._agent_turn(record.run_id)
        if turn is not None:
            turn.interrupted = True
            if buffered:
                turn.unheard.append(buffered)

    def run_finished(self, record: TraceRecord) -> None:
        if record.run_id is None:
            return
        status = record.get("status", "")
        turn = self._by_run.get(record.run_id)
        if turn is not None:
            self._finish(turn, status)
        else:
            self._finished[record.run_id] = status
            if len(self._finished) > MAX_PENDING:
                self._finished.popitem(last=False)

    @staticmethod
    def _finish(turn: Turn, status: str) -> None:
        turn.finished = True
        turn.interrupted = turn.interrupted or status == "interrupted"
        turn.failed = status == "failed"

    def published(self, record: TraceRecord) -> None:
        data = record.data or {}
        event_type = data.get("event_type")
        event = data.get("event")
        if event_type == "UserTranscriptionReceived":
            self.turns.append(Turn("user", text=getattr(event, "content", ""), finished=True))
            self.speaking = False
        elif event_type == "UserStartedSpeaking":
            self.speaking = True
        elif event_type == "UserStoppedSpeaking":
            self.speaking = False
        elif event_type == "AgentResponse" and record.message_id is not None:
            self._pending[record.message_id] = (record.run_id, getattr(event, "content", ""))
            if len(self._pending) > MAX_PENDING:
                self._pending.popitem(last=False)

    def _agent_turn(self, run_id: int | None) -> Turn:
        if run_id is not None and run_id in self._by_run:
            return self._by_run[run_id]
        last = self.turns[-1] if self.turns else None
        if run_id is None and last is not None and last.role == "agent" and last.run_id is None:
            return last  # chunks published outside any run (a greeting) form one turn
        turn = Turn("agent", run_id=run_id, finished=run_id is None)
        self.turns.append(turn)
        if run_id is not None:
            self._by_run[run_id] = turn
            status = self._finished.pop(run_id, None)
            if status is not None:
                self._finish(turn, status)
            if len(self._by_run) > MAX_TURNS:
                del self._by_run[next(iter(self._by_run))]
        return turn

    def clear(self) -> None:
        self.turns.clear()
        self._by_run.clear()
        self._pending.clear()
        self._finished.clear()
