"""Small per-call numbers for message and run ids, so the screen reads ``#3`` not ``#10452``.

The trace carries process-wide ids; the debugger numbers them in order of appearance per call
(which also keeps screenshots identical from run to run). Only the latest ids keep their
numbers, so memory stays bounded (a 10,000 chunks/s reply makes 20,000 ids a second): an id
shown again after 50,000 newer ones (an old interruption card's run) gets a new number.
"""

from __future__ import annotations

#: Ids kept per generation; between KEPT and 2 x KEPT of the latest ids keep their numbers.
KEPT = 50_000


class _Numbers:
    """Numbers 1, 2, 3… for ids in order of appearance, bounded in two generations (O(1))."""

    __slots__ = ("_newer", "_next", "_older")

    def __init__(self) -> None:
        self._newer: dict[int, int] = {}
        self._older: dict[int, int] = {}
        self._next = 1

    def note(self, key: int) -> int:
        number = self._newer.get(key)
        if number is None:
            number = self._older.get(key)
            if number is None:
                number = self._next
                self._next += 1
            self._newer[key] = number
            if len(self._newer) >= KEPT:
                self._older, self._newer = self._newer, {}
        return number


class Numbering:
    def __init__(self) -> None:
        self._messages = _Numbers()
        self._runs = _Numbers()

    def note_message(self, message_id: int | None) -> None:
        """Give ``message_id`` its number now (numbers follow order of appearance)."""
        if message_id is not None:
            self._messages.note(message_id)

    def note_run(self, run_id: int | None) -> None:
        if run_id is not None:
            self._runs.note(run_id)

    def message(self, message_id: int | None) -> str:
        if message_id is None:
            return "-"
        return f"#{self._messages.note(message_id)}"

    def run(self, run_id: int | None) -> str:
        if run_id is None:
            return "-"
        return f"r{self._runs.note(run_id)}"
