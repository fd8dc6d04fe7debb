"""One card per interruption: trigger, where it landed, how long closing and handling took."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from line.trace import TraceKind, TraceRecord

MAX_CARDS = 50


@dataclass
class InterruptCard:
    route: str
    run_id: int
    trigger: str
    accepted_ns: int
    stage: int | None = None
    stage_name: str | None = None
    awaiting: str | None = None
    close_ns: int | None = None  # accepted → generators closed
    handler_ns: int | None = None  # accepted → handler finished
    handler: str | None = None
    handler_ok: bool | None = None
    delivered: int | None = None
    cut: int | None = None  # chunks published but dropped from queues
    buffered_cut: str = ""  # text that sat in the run's buffers when the interrupt was accepted


@dataclass
class InterruptionsModel:
    cards: deque[InterruptCard] = field(default_factory=lambda: deque(maxlen=MAX_CARDS))
    _open: dict[int, InterruptCard] = field(default_factory=dict)
    total: int = 0

    def feed(self, record: TraceRecord, buffered: str = "") -> None:
        kind = record.kind
        run_id = record.run_id
        if kind is TraceKind.INTERRUPT_ACCEPTED:
            if run_id is None or record.get("idle"):
                return  # nothing was running: not an interruption
            card = InterruptCard(record.route or "?", run_id, record.get("trigger", "?"), record.t_ns,
                                 stage=record.get("stage"), awaiting=record.get("awaiting"),
                                 buffered_cut=buffered)
            self.cards.append(card)
            self._open[run_id] = card
            if len(self._open) > MAX_CARDS:
                del self._open[next(iter(self._open))]
            self.total += 1
            return
        if run_id is None:
            return
        card = self._open.get(run_id)
        if card is None:
            return
        if kind is TraceKind.INTERRUPT_LANDED:
            card.stage = record.stage
            card.stage_name = record.get("stage_name")
            card.awaiting = record.get("awaiting")
        elif kind is TraceKind.INTERRUPT_CLOSED:
            card.close_ns = record.get("since_accepted_ns")
        elif kind is TraceKind.HANDLER_STARTED:
            card.handler = record.get("handler")
        elif kind is TraceKind.HANDLER_FINISHED:
            card.handler_ns = record.get("since_accepted_ns")
            card.handler_ok = record.get("ok")
            self._open.pop(run_id, None)
        elif kind is TraceKind.RUN_FINISHED:  # comes before the handler's records
            card.delivered = record.get("delivered")
            card.cut = record.get("cut")
