"""A real terminal for end-to-end tests: a tmux server of the test's own."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest

needs_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class Terminal:
    """A tmux server of its own (``-L``): no other session or option can change its size."""

    def __init__(self, columns: int = 160, lines: int = 48) -> None:
        self.socket = f"line-e2e-{uuid.uuid4().hex[:8]}"
        self.size = (columns, lines)

    def __call__(self, *args: str) -> str:
        result = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20,
                                check=False)
        return result.stdout

    def start(self, command: str) -> None:
        """Run ``command`` in the repository; ``EXITED <status>`` shows when it ends."""
        columns, lines = self.size
        # The test process's environment can carry COLUMNS/LINES; they would override the pane's size.
        self("new-session", "-d", "-s", "main", "-x", str(columns), "-y", str(lines),
             f"cd {Path.cwd()} && unset COLUMNS LINES && TERM=xterm-256color {command}; echo EXITED $?; sleep 30")

    def type(self, text: str) -> None:
        self("send-keys", "-t", "main", "-l", text)

    def press(self, key: str) -> None:
        self("send-keys", "-t", "main", key)

    def wait_for(self, wanted: str, limit: float = 30.0) -> str:
        """Poll the terminal's contents until ``wanted`` shows (a condition, not a fixed sleep)."""
        deadline = time.monotonic() + limit
        screen = ""
        while time.monotonic() < deadline:
            screen = self("capture-pane", "-p", "-t", "main")
            if wanted in screen:
                return screen
            time.sleep(0.05)
        raise AssertionError(f"{wanted!r} never appeared; the screen was:\n{screen}")

    def close(self) -> None:
        self("kill-server")
