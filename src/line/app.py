"""VoiceAgentApp: the entry point of an agent module (Line 0.1.x compatible).

``VoiceAgentApp(handle_new_call).run()`` opens the line_tui debugger on the agent (there is
no telephony here: the keyboard is the caller). ``line-tui agent.py`` finds the app too.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

from line.call_request import CallRequest
from line.system import VoiceAgentSystem

__all__ = ["CallHandler", "VoiceAgentApp"]

CallHandler = Callable[[VoiceAgentSystem, CallRequest], Awaitable[Any]]


class VoiceAgentApp:
    def __init__(self, call_handler: CallHandler) -> None:
        if not callable(call_handler):
            raise TypeError(f"VoiceAgentApp(call_handler): expected an async function, got {call_handler!r}")
        self.call_handler = call_handler

    def run(self, argv: list[str] | None = None) -> int:
        """Open the debugger on this agent. The TUI is imported only here: ``line`` itself
        never depends on textual."""
        cli: Any = importlib.import_module("line_tui.cli")
        return int(cli.run_handler(self.call_handler, argv))
