"""One widget per file; each renders one part of ``DebuggerState`` with ``show(state)``."""
