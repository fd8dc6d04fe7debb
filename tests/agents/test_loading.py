"""Loading an agent the ways ``line-tui`` can: a file, a dotted module name, ``python agent.py``;
and the clear errors when it cannot (what the CLI tests in tests/tui/test_cli.py don't cover)."""

from __future__ import annotations

import importlib
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from line.llm import ScriptedLLM
from line_tui.app import DebuggerOptions, LineDebugger
from line_tui.loader import AgentLoadError, load_agent

AGENTS = Path(__file__).parent

Write = Callable[[str, str], str]


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Write]:
    """``write(module, source)`` puts a module in a fresh package on sys.path; returns its dotted name."""
    name = f"own_agents_{uuid.uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    def write(module: str, source: str) -> str:
        (tmp_path / name / f"{module}.py").write_text(textwrap.dedent(source))
        return f"{name}.{module}"

    yield write
    for loaded in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[loaded]


NO_ENTRY_POINT = """
    from line import VoiceAgentApp

    async def handle_call(system, call_request):  # a typo: not handle_new_call
        await system.start()
"""

FAILS_AT_IMPORT = """
    import os

    API_KEY = os.environ.get("LINE_TEST_NO_SUCH_VARIABLE")
    if API_KEY is None:
        raise RuntimeError("set LINE_TEST_NO_SUCH_VARIABLE first")
"""


def test_a_file_without_an_entry_point_says_which_names_were_looked_for(tmp_path: Path) -> None:
    agent = tmp_path / "typo_agent.py"
    agent.write_text(textwrap.dedent(NO_ENTRY_POINT))
    with pytest.raises(AgentLoadError) as caught:
        load_agent(str(agent))
    assert caught.value.message == (f"no agent entry point in {agent}: looked for app (a VoiceAgentApp) "
                                    "and handle_new_call(system, call_request)")


def test_a_module_without_an_entry_point_says_which_names_were_looked_for(package: Write) -> None:
    name = package("typo_agent", NO_ENTRY_POINT)
    with pytest.raises(AgentLoadError, match=rf"no agent entry point in {name}: looked for app \(a VoiceAgentApp\) "
                                             r"and handle_new_call\(system, call_request\)"):
        load_agent(name)


def test_a_plain_def_handle_new_call_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    agent = tmp_path / "sync_agent.py"
    agent.write_text("def handle_new_call(system, call_request):\n    pass\n")
    with pytest.raises(AgentLoadError, match=r"handle_new_call must be an `async def`"):
        load_agent(str(agent))


def test_an_exception_at_import_time_gives_its_type_message_and_traceback(tmp_path: Path) -> None:
    agent = tmp_path / "needs_key.py"
    agent.write_text(textwrap.dedent(FAILS_AT_IMPORT))
    modules_before = set(sys.modules)
    with pytest.raises(AgentLoadError) as caught:
        load_agent(str(agent))
    error = caught.value
    assert error.message == f"RuntimeError while importing {agent}: set LINE_TEST_NO_SUCH_VARIABLE first"
    assert f'File "{agent}", line 6' in error.details
    assert 'raise RuntimeError("set LINE_TEST_NO_SUCH_VARIABLE first")' in error.details
    assert set(sys.modules) == modules_before, "a module that failed to import is not left half-loaded"


def test_an_exception_at_import_time_of_a_module_gives_its_traceback(package: Write) -> None:
    name = package("needs_key", FAILS_AT_IMPORT)
    with pytest.raises(AgentLoadError) as caught:
        load_agent(name)
    assert caught.value.message == f"RuntimeError while importing {name}: set LINE_TEST_NO_SUCH_VARIABLE first"
    assert "needs_key.py\", line 6" in caught.value.details


def test_a_syntax_error_in_a_module_names_its_file_and_line(package: Write) -> None:
    name = package("broken", "async def handle_new_call(system, call_request):\n    await system.start(\n")
    with pytest.raises(AgentLoadError) as caught:
        load_agent(name)
    message = caught.value.message
    assert message.startswith("syntax error in ") and "broken.py, line 2" in message


def test_an_unknown_module_name_says_nothing_was_found() -> None:
    with pytest.raises(AgentLoadError, match=r"no file, module or scenario named 'tests\.agents\.no_such_agent'"):
        load_agent("tests.agents.no_such_agent")
    with pytest.raises(AgentLoadError, match=r"no file, module or scenario named 'no_such_package_x\.agent'"):
        load_agent("no_such_package_x.agent")


def test_a_missing_dependency_of_an_agent_module_is_not_reported_as_a_missing_agent(package: Write) -> None:
    # "own_agents" (missing) is a prefix of the agent's package name "own_agents_<hex>": the agent
    # exists, its dependency does not.
    agent = package("agent", "import own_agents\n")
    assert agent.startswith("own_agents")
    with pytest.raises(AgentLoadError) as caught:
        load_agent(agent)
    assert caught.value.message == f"ModuleNotFoundError while importing {agent}: No module named 'own_agents'"
    assert "import own_agents" in caught.value.details


def test_a_dotted_name_is_found_in_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``line-tui pkg.agent`` from a project's root: the console script's sys.path lacks the working directory."""
    name = f"my_voice_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text("")
    (tmp_path / name / "agent.py").write_text((AGENTS / "echo_agent.py").read_text())
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    try:
        entry = load_agent(f"{name}.agent")
    finally:
        for loaded in [m for m in sys.modules if m.startswith(name)]:
            del sys.modules[loaded]
    assert entry.name == "agent" and entry.handler.__module__ == f"{name}.agent"


def test_loading_files_again_and_again_does_not_grow_sys_path() -> None:
    load_agent(str(AGENTS / "echo_agent.py"))
    size = len(sys.path)
    for _ in range(3):
        load_agent(str(AGENTS / "echo_agent.py"))
        load_agent(str(AGENTS / "counter_agent.py"))
    assert len(sys.path) == size
    assert sys.path.count(str(AGENTS.resolve())) == 1


# -- `python agent.py`: VoiceAgentApp(handle_new_call).run() ------------------------------------


def test_voice_agent_app_run_goes_through_line_tui_cli_run_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    import line_tui.cli

    module = importlib.import_module("tests.agents.echo_agent")
    calls: list[tuple[object, object]] = []

    def run_handler(handler: object, argv: object = None) -> int:
        calls.append((handler, argv))
        return 7

    monkeypatch.setattr(line_tui.cli, "run_handler", run_handler)
    assert module.app.run(["--seed", "3"]) == 7
    assert calls == [(module.handle_new_call, ["--seed", "3"])]


def test_run_handler_opens_the_debugger_on_that_agent(monkeypatch: pytest.MonkeyPatch) -> None:
    module = importlib.import_module("tests.agents.tool_agent")
    opened: list[DebuggerOptions] = []
    monkeypatch.setattr(LineDebugger, "run", lambda self, *args, **kwargs: opened.append(self.options))
    monkeypatch.setattr(sys, "argv", ["tool_agent.py", "--tokens-per-second", "0", "--time-to-first-token", "0"])
    assert module.app.run() == 0  # argv defaults to sys.argv[1:], as `python tool_agent.py ...` gives them
    [options] = opened
    assert options.entry is not None and options.entry.handler is module.handle_new_call
    assert options.entry.name == "tool_agent"
    assert options.target is None, "the agent is given directly, nothing is loaded by name"
    assert options.llm_factory is not None
    llm = options.llm_factory()
    assert isinstance(llm, ScriptedLLM)
    assert (llm.tokens_per_second, llm.time_to_first_token) == (0, 0)


def test_line_tui_with_a_dotted_module_name_opens_the_debugger_on_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from line_tui.cli import main

    opened: list[DebuggerOptions] = []
    monkeypatch.setattr(LineDebugger, "run", lambda self, *args, **kwargs: opened.append(self.options))
    assert main(["tests.agents.counter_agent"]) == 0
    [options] = opened
    module = importlib.import_module("tests.agents.counter_agent")
    assert options.target == "tests.agents.counter_agent"
    assert options.entry is not None and options.entry.handler is module.handle_new_call


def test_python_agent_py_names_the_agent_after_its_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as a script the module is ``__main__``; the debugger's title must still say which agent."""
    import types

    from line_tui.cli import run_handler

    script = types.ModuleType("__main__", "Weather desk: answers with a forecast.\n\nMore text.")
    script.__file__ = str(AGENTS / "weather_desk.py")

    async def handle_new_call(system: object, call_request: object) -> None:
        """A handler defined in the script."""

    handle_new_call.__module__ = "__main__"
    monkeypatch.setitem(sys.modules, "__main__", script)
    opened: list[DebuggerOptions] = []
    monkeypatch.setattr(LineDebugger, "run", lambda self, *args, **kwargs: opened.append(self.options))
    assert run_handler(handle_new_call, []) == 0
    [options] = opened
    assert options.entry is not None
    assert (options.entry.name, options.entry.doc) == ("weather_desk", "Weather desk: answers with a forecast.")
