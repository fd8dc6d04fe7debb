"""Building the debugger app for tests: the deterministic states' factory and waits."""

from line_tui.demo_states import SIZE, STORY, agent_turns, idle, make_app, settle

__all__ = ["SIZE", "STORY", "agent_turns", "idle", "make_app", "settle"]
