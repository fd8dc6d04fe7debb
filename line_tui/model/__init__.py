"""The debugger's view state: pure Python folds of trace records (no textual, no rich).

Widgets render from these objects; tests check them without a terminal. Everything here
comes from the public ``line.trace`` stream, so anything the TUI shows a user can compute too.
"""

from line_tui.model.debugger import DebuggerState

__all__ = ["DebuggerState"]
