"""DebuggerState: everything the screen shows, folded from trace records."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    log: EventLogModel = field(default_factory=EventLogModel)
    stats: Metrics = field(default_factory=Metrics)
    #: The cards are ``stats``' own interruption fold: made in ``__post_init__``.
    interruptions: InterruptionsModel = field(init=False)
    ids: Numbering = field(default_factory=Numbering)
    version: int = 0  # bumped per batch; widgets redraw only when it changed
    records_seen: int = 0
    records_dropped: int = 0  # by the observer, when the UI fell behind (reported, not hidden)
    paused: bool = False
    call_ended: bool = False
    errors: list[str] = field(default_factory=list)
    last_t_ns: int = 0
    #: Where the event log's times count from: the call's start (live) or the recording's
    #: (replay); when not given, the first record's time.
    origin_ns: int | None = None
    _handlers: dict[TraceKind, Callable[[TraceRecord], None]] | None = field(
        default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.interruptions = InterruptionsModel(self.stats)

    def feed(self, records: Iterable[TraceRecord]) -> None:
        batch = records if isinstance(records, list) else list(records)
        if not batch:
            return
        if self.origin_ns is None:
            self.origin_ns = batch[0].t_ns
        handlers = self._handlers
        if handlers is None:
            handlers = self._handlers = self._make_handlers()
        for record in batch:
            handler = handlers.get(record.kind)
            if handler is not None:
                handler(record)
        self.stats.feed(batch)
        self.records_seen += len(batch)
        self.last_t_ns = batch[-1].t_ns
        self.version += 1

    def _make_handlers(self) -> dict[TraceKind, Callable[[TraceRecord], None]]:
        """One function per record kind doing what every model does with it (kinds no model
        uses are absent): a dict lookup per record instead of every model testing the kind."""
        routes, conversation, log = self.routes, self.conversation, self.log
        handlers = routes.handlers()
        ids = self.ids

        def both(*steps: Callable[[TraceRecord], None]) -> Callable[[TraceRecord], None]:
            def run(record: TraceRecord) -> None:
                for step in steps:
                    step(record)
            return run

        def publish(record: TraceRecord) -> None:
            ids.note_message(record.message_id)
            ids.note_run(record.run_id)
            log.publish(record)
            conversation.published(record)
            if record.data is not None and record.data.get("event_type") == "EndCall":
                self.call_ended = True

        def run_started(record: TraceRecord) -> None:
            routes.run_started(record)
            ids.note_run(record.run_id)

        def stage_out(record: TraceRecord) -> None:
            routes.stage_out(record)
            log.stage_out(record)

        def interrupt_accepted(record: TraceRecord) -> None:
            buffered = self.buffers.last_contents_of_run(record.run_id) if record.run_id else ""
            conversation.interrupt_accepted(record, buffered)
            self.interruptions.accepted(record.run_id, buffered)

        def error(record: TraceRecord) -> None:
            routes.error(record)
            self.errors.append(f"{record.route}: {record.get('exc_type')}: {record.get('message')}")
            del self.errors[:-20]

        def paused(_: TraceRecord) -> None:
            self.paused = True

        def resumed(_: TraceRecord) -> None:
            self.paused = False

        def overflow(record: TraceRecord) -> None:
            self.records_dropped += record.get("dropped", 0)

        handlers.update({
            TraceKind.BUS_PUBLISH: publish,
            TraceKind.STAGE_OUT: stage_out,
            TraceKind.RUN_STARTED: run_started,
            TraceKind.BUS_DELIVER: conversation.delivered,
            TraceKind.BUS_DROP: both(routes.dropped, conversation.dropped),
            TraceKind.ROUTE_DEFINED: both(routes.define, conversation.route_defined),
            TraceKind.RUN_FINISHED: both(routes.run_finished, conversation.run_finished),
            TraceKind.INTERRUPT_ACCEPTED: interrupt_accepted,
            TraceKind.INTERRUPT_LANDED: routes.interrupt_landed,
            TraceKind.BUFFER: self.buffers.feed,
            TraceKind.ERROR: error,
            TraceKind.PIPELINE_PAUSED: paused,
            TraceKind.PIPELINE_RESUMED: resumed,
            TraceKind.OBSERVER_OVERFLOW: overflow,
        })
        return handlers

    def new_call(self) -> None:
        """Forget the conversation and its cards; keep route definitions and counters."""
        self.conversation.clear()
        self.interruptions.clear()
        self.log.clear()
        self.buffers.buffers.clear()
        self.errors.clear()
        self.call_ended = False
        self.version += 1

