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

from line.trace import TraceKind, TraceRecord

USER_BRIDGE = "user"
MAX_TURNS = 200
MAX_PENDING = 4096


@dataclass
class Turn:
    role: str  # "user" | "agent"
    text: str = ""
    cut: str = ""
    run_id: int | None = None
    interrupted: bool = False
    failed: bool = False
    finished: bool = False


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
        kind = record.kind
        if kind is TraceKind.ROUTE_DEFINED:
            if record.get("bridge") == USER_BRIDGE:
                self.user_routes.add(record.route or "")
        elif kind is TraceKind.BUS_PUBLISH:
            self._published(record)
        elif kind is TraceKind.BUS_DELIVER:
            if record.route in self.user_routes and record.message_id in self._pending:
                run_id, text = self._pending.pop(record.message_id)  # type: ignore[arg-type]
                self._agent_turn(run_id).text += text
        elif kind is TraceKind.BUS_DROP:
            if record.route in self.user_routes and record.message_id in self._pending:
                run_id, text = self._pending.pop(record.message_id)  # type: ignore[arg-type]
                self._agent_turn(run_id).cut += text
        elif kind is TraceKind.INTERRUPT_ACCEPTED and record.run_id is not None:
            turn = self._by_run.get(record.run_id)
            if turn is None and buffered:
                # Cut before the caller heard a word: the turn still shows, all of it cut.
                turn = self._agent_turn(record.run_id)
            if turn is not None:
                turn.interrupted = True
                if buffered:
                    turn.cut += buffered
        elif kind is TraceKind.RUN_FINISHED and record.run_id is not None:
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

    def _published(self, record: TraceRecord) -> None:
        event_type = record.get("event_type")
        event = record.get("event")
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
