"""End to end in a real terminal (tmux): launch line-tui, type a turn, see the reply, quit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

LINE_TUI = [sys.executable, "-m", "line_tui"]


@pytest.fixture
def tmux() -> Iterator[Callable[..., str]]:
    session = f"line-e2e-{uuid.uuid4().hex[:8]}"

    def run(*args: str) -> str:
        result = subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=20, check=False)
        return result.stdout

    run.session = session  # type: ignore[attr-defined]
    yield run
    subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True, check=False)


def wait_for_screen(tmux: Callable[..., str], session: str, wanted: str, limit: float = 30.0) -> str:
    """Poll the terminal's contents until ``wanted`` shows (a condition, not a fixed sleep)."""
    deadline = time.monotonic() + limit
    screen = ""
    while time.monotonic() < deadline:
        screen = tmux("capture-pane", "-p", "-t", session)
        if wanted in screen:
            return screen
        time.sleep(0.1)
    raise AssertionError(f"{wanted!r} never appeared; the screen was:\n{screen}")


def test_type_a_turn_barge_in_and_quit(tmux: Callable[..., str], tmp_path: Path) -> None:
    """Type a turn, wait for the reply to stream, type over it: "interrupted"; quit with status 0."""
    session: str = tmux.session  # type: ignore[attr-defined]
    record = tmp_path / "trace.jsonl"
    # Slow enough that the reply is still streaming when we type over it.
    command = " ".join([*LINE_TUI, "--tokens-per-second", "4", "--time-to-first-token", "0",
                        "--record", str(record)])
    tmux("new-session", "-d", "-s", session, "-x", "160", "-y", "48",
         f"cd {Path.cwd()} && TERM=xterm-256color {command}; echo EXITED $?; sleep 30")
    wait_for_screen(tmux, session, "conversation as heard")
    tmux("send-keys", "-t", session, "-l", "hello there")
    tmux("send-keys", "-t", session, "Enter")
    screen = wait_for_screen(tmux, session, "agent ")
    assert "you  hello there" in screen
    tmux("send-keys", "-t", session, "-l", "wait")
    screen = wait_for_screen(tmux, session, "interrupted")
    assert "⟂ interrupted" in screen, "the conversation marks where the reply was cut"
    tmux("send-keys", "-t", session, "C-q")
    wait_for_screen(tmux, session, "EXITED 0")
    text = record.read_text()
    assert "UserTranscriptionReceived" in text and "interrupt.accepted" in text
