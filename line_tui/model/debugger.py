"""DebuggerState: everything the screen shows, folded from trace records."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from line.trace import TraceKind, TraceRecord
from line_tui.model.buffers import BuffersModel
from line_tui.model.conversation import ConversationModel
from line_tui.model.event_log import EventLogModel
from line_tui.model.interruptions import InterruptionsModel
from line_tui.model.metrics import Metrics
from line_tui.model.numbering import Numbering
from line_tui.model.routes import RoutesModel


@dataclass
class DebuggerState:
    routes: RoutesModel = field(default_factory=RoutesModel)
    conversation: ConversationModel = field(default_factory=ConversationModel)
    buffers: BuffersModel = field(default_factory=BuffersModel)
    interruptions: InterruptionsModel = field(default_factory=InterruptionsModel)
    log: EventLogModel = field(default_factory=EventLogModel)
    stats: Metrics = field(default_factory=Metrics)
    ids: Numbering = field(default_factory=Numbering)
    version: int = 0  # bumped per batch; widgets redraw only when it changed
    records_seen: int = 0
    records_dropped: int = 0  # by the observer, when the UI fell behind (reported, not hidden)
    paused: bool = False
    call_ended: bool = False
    errors: list[str] = field(default_factory=list)
    last_t_ns: int = 0

    def feed(self, records: Iterable[TraceRecord]) -> None:
        batch = list(records)
        if not batch:
            return
        routes = self.routes.feed
        conversation = self.conversation.feed
        log = self.log.feed
        for record in batch:
            kind = record.kind
            routes(record)
            if kind is TraceKind.BUS_PUBLISH:
                self.ids.message(record.message_id)
                if record.run_id is not None:
                    self.ids.run(record.run_id)
                log(record)
                conversation(record)
                event_type = record.get("event_type")
                if event_type == "EndCall":
                    self.call_ended = True
            elif kind is TraceKind.STAGE_OUT:
                log(record)
            elif kind is TraceKind.BUFFER:
                self.buffers.feed(record)
            elif kind is TraceKind.RUN_STARTED:
                self.ids.run(record.run_id)
            elif kind is TraceKind.INTERRUPT_ACCEPTED:
                buffered = self.buffers.last_contents_of_run(record.run_id) if record.run_id else ""
                conversation(record, buffered)
                self.interruptions.feed(record, buffered)
            elif kind in _INTERRUPT_KINDS:
                self.interruptions.feed(record)
                if kind is TraceKind.RUN_FINISHED:
                    conversation(record)
            elif kind in (TraceKind.BUS_DELIVER, TraceKind.BUS_DROP, TraceKind.ROUTE_DEFINED):
                conversation(record)
            elif kind is TraceKind.ERROR:
                self.errors.append(f"{record.route}: {record.get('exc_type')}: {record.get('message')}")
                del self.errors[:-20]
            elif kind is TraceKind.PIPELINE_PAUSED:
                self.paused = True
            elif kind is TraceKind.PIPELINE_RESUMED:
                self.paused = False
            elif kind is TraceKind.OBSERVER_OVERFLOW:
                self.records_dropped += record.get("dropped", 0)
        self.stats.feed(batch)
        self.records_seen += len(batch)
        self.last_t_ns = batch[-1].t_ns
        self.version += 1

    def new_call(self) -> None:
        """Forget the conversation and its cards; keep route definitions and counters."""
        self.conversation.clear()
        self.interruptions.cards.clear()
        self.log.clear()
        self.buffers.buffers.clear()
        self.errors.clear()
        self.call_ended = False
        self.version += 1


_INTERRUPT_KINDS = frozenset({
    TraceKind.INTERRUPT_LANDED,
    TraceKind.INTERRUPT_CLOSED,
    TraceKind.HANDLER_STARTED,
    TraceKind.HANDLER_FINISHED,
    TraceKind.RUN_FINISHED,
})
