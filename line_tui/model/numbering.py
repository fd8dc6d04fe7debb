"""Small per-call numbers for message and run ids, so the screen reads ``#3`` not ``#10452``.

The trace carries process-wide ids; the debugger numbers them in order of appearance per call
(which also keeps screenshots identical from run to run).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Numbering:
    _messages: dict[int, int] = field(default_factory=dict)
    _runs: dict[int, int] = field(default_factory=dict)

    def message(self, message_id: int | None) -> str:
        if message_id is None:
            return "-"
        number = self._messages.setdefault(message_id, len(self._messages) + 1)
        return f"#{number}"

    def run(self, run_id: int | None) -> str:
        if run_id is None:
            return "-"
        number = self._runs.setdefault(run_id, len(self._runs) + 1)
        return f"r{number}"
