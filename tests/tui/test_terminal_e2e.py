"""End to end in a real terminal (tmux): launch the `line-tui` console script, type a turn,
barge in, quit. (`python -m line_tui` is covered in test_cli.py.)"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .terminal import Terminal, needs_tmux

pytestmark = needs_tmux

#: The console script pip installed next to this interpreter (`.venv/bin/line-tui`).
LINE_TUI = Path(sys.executable).parent / "line-tui"


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    terminal = Terminal()
    yield terminal
    terminal.close()


def test_type_a_turn_barge_in_and_quit(terminal: Terminal, tmp_path: Path) -> None:
    """Type a turn, wait for the reply to stream, type over it: "interrupted"; quit with status 0."""
    record = tmp_path / "trace.jsonl"
    assert LINE_TUI.is_file(), f"the console script is not installed at {LINE_TUI}"
    # Slow enough that the reply is still streaming when we type over it.
    terminal.start(f"{shlex.quote(str(LINE_TUI))} --tokens-per-second 4 --time-to-first-token 0 "
                   f"--record {shlex.quote(str(record))}")
    terminal.wait_for("conversation as heard")
    terminal.type("hello there")
    terminal.press("Enter")
    terminal.wait_for("you  hello there")
    terminal.wait_for("││ agent ")  # the first sentence of the reply was heard (middle column)
    terminal.type("wait")
    screen = terminal.wait_for("⟂")  # the conversation marks where the reply was cut
    assert "interrupted r" in screen, "an interruption card shows"
    terminal.press("C-q")
    terminal.wait_for("EXITED 0")
    text = record.read_text()
    assert "UserTranscriptionReceived" in text and "interrupt.accepted" in text
