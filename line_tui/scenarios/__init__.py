"""Built-in scenarios: one agent per pattern of the streaming-responses spec.

Each is an ordinary agent module (``handle_new_call(system, call_request)``), loaded the same
way as a user's own agent; read them as examples to copy.
"""

SCENARIOS: dict[str, str] = {
    "buffered": "line_tui.scenarios.buffered",
    "basic": "line_tui.scenarios.basic",
    "validated": "line_tui.scenarios.validated",
    "pipeline": "line_tui.scenarios.pipeline",
    "tools": "line_tui.scenarios.tools",
    "interruptible": "line_tui.scenarios.interruptible",
    "parallel": "line_tui.scenarios.parallel",
    "cached": "line_tui.scenarios.cached",
}

#: Multi-stage streaming, a sentence buffer and interruption, all visible at once.
DEFAULT_SCENARIO = "buffered"
