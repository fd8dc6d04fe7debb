"""The command line: documented options, scenario list, clear load errors, `python agent.py`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from line_tui.cli import build_parser, main
from line_tui.scenarios import SCENARIOS


def test_help_documents_every_option() -> None:
    text = build_parser().format_help()
    for option in ("--scenario", "--list-scenarios", "--base-url", "--model", "--record", "--replay",
                   "--tokens-per-second", "--seed", "--api-key"):
        assert option in text


def test_list_scenarios_names_each_with_its_description(capsys: object) -> None:
    assert main(["--list-scenarios"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert names == list(SCENARIOS)
    assert "cannot load" not in out


def test_missing_agent_file_exits_with_a_clear_message(capsys: object, tmp_path: Path) -> None:
    assert main([str(tmp_path / "nope.py")]) == 2
    assert "agent file not found" in capsys.readouterr().err  # type: ignore[attr-defined]


def test_syntax_error_names_file_and_line(capsys: object, tmp_path: Path) -> None:
    agent = tmp_path / "broken.py"
    agent.write_text("async def handle_new_call(system, call_request):\n    return (\n")
    assert main([str(agent)]) == 2
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "syntax error in" in err and "broken.py" in err and "line 2" in err


def test_python_agent_py_opens_the_debugger_cli(tmp_path: Path) -> None:
    agent = tmp_path / "agent.py"
    agent.write_text(textwrap.dedent("""
        from line import VoiceAgentApp

        async def handle_new_call(system, call_request):
            await system.start()

        app = VoiceAgentApp(handle_new_call)

        if __name__ == "__main__":
            app.run()
    """))
    result = subprocess.run([sys.executable, str(agent), "--list-scenarios"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == next(iter(SCENARIOS))
