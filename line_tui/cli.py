"""``line-tui``: run an agent (a built-in scenario, a file or a module) in the debugger."""

from __future__ import annotations

import argparse
import inspect
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from line.app import CallHandler
from line.llm import LLMClient
from line_tui.loader import AgentEntry, AgentLoadError, load_agent
from line_tui.scenarios import DEFAULT_SCENARIO, SCENARIOS

if TYPE_CHECKING:
    from line.recording import Recording
    from line_tui.app import DebuggerOptions

EPILOG = """\
LLM: by default an embedded scripted LLM (no key, no network). Give --base-url and/or --model
(or set OPENAI_BASE_URL) to use any OpenAI-compatible server, e.g.
  line-tui --base-url http://127.0.0.1:8080/v1 --model local      (llama.cpp server)
  OPENAI_API_KEY=... line-tui --model gpt-4o-mini                  (OpenAI)
The API key is read from OPENAI_API_KEY (or --api-key) and is never shown or recorded.

Your own agent: line-tui path/to/agent.py  (or a dotted module name). The module needs
`async def handle_new_call(system, call_request)` or a `VoiceAgentApp(...)` instance.
"""


def non_negative_number(text: str) -> float:
    """An argparse type: a finite number >= 0 (the scripted LLM's speed and delay), so a bad
    value stops the command line with a clear message instead of failing inside the app."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="line-tui",
        description="Live debugger for streaming voice agents built on line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("agent", nargs="?", help="scenario name, agent .py file, or module (default: scenario)")
    parser.add_argument("--scenario", default=None, help=f"built-in scenario (default {DEFAULT_SCENARIO!r})")
    parser.add_argument("--list-scenarios", action="store_true", help="list the built-in scenarios and exit")
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible server URL (enables the real LLM)")
    parser.add_argument("--model", default=None, help="model name for the OpenAI-compatible server")
    parser.add_argument("--api-key", default=None, help="API key (default: $OPENAI_API_KEY)")
    parser.add_argument("--record", metavar="FILE", default=None, help="write the trace as JSONL while running")
    parser.add_argument("--replay", metavar="FILE", default=None, help="view a recording (read-only)")
    parser.add_argument("--tokens-per-second", type=non_negative_number, default=25.0,
                        help="scripted LLM speed (default 25; 0 = as fast as possible)")
    parser.add_argument("--time-to-first-token", type=non_negative_number, default=0.3,
                        help="scripted LLM delay, seconds (default 0.3)")
    parser.add_argument("--seed", type=int, default=0, help="scripted LLM seed (replies and jitter)")
    return parser


def llm_factory(args: argparse.Namespace) -> tuple[Callable[[], LLMClient], tuple[str, ...]]:
    """The LLM the options ask for, as a factory (one client per call), and the secrets to redact."""
    api_key = args.api_key or os.environ.get("OPENAI_API_KEY")
    if args.base_url or args.model or os.environ.get("OPENAI_BASE_URL"):
        from line.llm import OpenAIClient

        def openai_client() -> LLMClient:
            return OpenAIClient(model=args.model, base_url=args.base_url, api_key=api_key)  # type: ignore[no-any-return]

        return openai_client, (api_key,) if api_key else ()

    from line.llm import ScriptedLLM

    def scripted() -> LLMClient:
        return ScriptedLLM(time_to_first_token=args.time_to_first_token, tokens_per_second=args.tokens_per_second,
                           jitter=0.3 if args.tokens_per_second else 0.0, seed=args.seed)

    return scripted, ()


def main(argv: list[str] | None = None, entry: AgentEntry | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_scenarios:
        for name in SCENARIOS:
            try:
                doc = load_agent(name).doc
            except AgentLoadError as exc:
                doc = f"(cannot load: {exc.message})"
            print(f"{name:<14} {doc}")
        return 0
    from line_tui.app import DebuggerOptions, LineDebugger

    options = DebuggerOptions(entry=entry)
    if args.replay:
        try:
            load_replay(args.replay, options)
        except OSError as exc:
            print(f"line-tui: cannot read recording {args.replay}: {exc}", file=sys.stderr)
            return 2
    elif entry is None:
        target = args.agent or args.scenario or DEFAULT_SCENARIO
        try:
            options.entry = load_agent(target)
        except AgentLoadError as exc:
            print(f"line-tui: {exc.message}", file=sys.stderr)
            if exc.details:
                print(exc.details, file=sys.stderr)
            return 2
        options.target = target
    options.llm_factory, options.secrets = llm_factory(args)
    options.record_path = args.record
    app = LineDebugger(options)
    app.run()
    return app.return_code or 0  # Textual sets 1 when the app crashed


def load_replay(path: str, options: DebuggerOptions) -> None:
    """Read the recording at ``path`` into ``options`` (``OSError`` when it cannot be read)."""
    from line.recording import load_recording

    recording = load_recording(path)
    options.replay_records = recording.records
    options.replay_errors = [str(error) for error in recording.errors]
    options.replay_path = path
    options.replay_origin_ns = recording_start_ns(recording)


def recording_start_ns(recording: Recording) -> int | None:
    """When the recording started, on its records' clock: its header's ``monotonic_ns``, or its
    first record's time when that is earlier or the header has none (None: nothing to go by)."""
    header = recording.header or {}
    starts = [header.get("monotonic_ns"), recording.records[0].t_ns if recording.records else None]
    known = [start for start in starts if isinstance(start, int) and not isinstance(start, bool)]
    return min(known) if known else None


def run_handler(handler: CallHandler, argv: list[str] | None = None) -> int:
    """``VoiceAgentApp(handle_new_call).run()``: debug that agent."""
    module_name = getattr(handler, "__module__", "agent")
    module = sys.modules.get(module_name)
    origin = getattr(module, "__file__", None) or module_name
    # `python agent.py` runs the module as __main__: name the agent after its file instead.
    name = Path(origin).stem if module_name == "__main__" else module_name.rpartition(".")[2]
    doc = (inspect.getdoc(module) or "").split("\n\n")[0] if module is not None else ""
    entry = AgentEntry(name=name, handler=handler, origin=str(origin), doc=doc)
    return main(sys.argv[1:] if argv is None else argv, entry=entry)
