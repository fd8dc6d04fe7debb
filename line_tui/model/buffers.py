"""Buffers reported through ``line.trace.report_buffer``: latest contents and age."""

from __future__ import annotations

from dataclasses import dataclass, field

from line.trace import TraceRecord


@dataclass
class BufferView:
    name: str
    route: str | None
    run_id: int | None
    contents: str
    age_ns: int  # age of the oldest byte when reported
    reported_ns: int
    updates: int = 1

    def age_at(self, now_ns: int) -> int:
        """The oldest byte's age now (it keeps ageing while nothing is reported)."""
        if not self.contents:
            return 0
        return self.age_ns + max(0, now_ns - self.reported_ns)


@dataclass
class BuffersModel:
    buffers: dict[str, BufferView] = field(default_factory=dict)

    def feed(self, record: TraceRecord) -> None:
        name = record.get("name", "buffer")
        key = f"{record.route}/{name}"
        previous = self.buffers.get(key)
        self.buffers[key] = BufferView(
            name=name,
            route=record.route,
            run_id=record.run_id,
            contents=record.get("contents", ""),
            age_ns=record.get("age_ns", 0),
            reported_ns=record.t_ns,
            updates=previous.updates + 1 if previous else 1,
        )

    def last_contents_of_run(self, run_id: int | None) -> str:
        return "".join(view.contents for view in self.buffers.values() if view.run_id == run_id)
