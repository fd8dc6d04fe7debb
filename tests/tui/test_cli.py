"""The command line: documented options, scenario list, clear load errors, `python agent.py`."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from line_tui.app import LineDebugger
from line_tui.cli import build_parser, main
from line_tui.scenarios import SCENARIOS

#: The console script pip installed next to this interpreter (`.venv/bin/line-tui`).
LINE_TUI = str(Path(sys.executable).parent / "line-tui")


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


@pytest.mark.parametrize("argv", [
    ["--tokens-per-second", "-5"],
    ["--time-to-first-token", "-1"],
    ["--tokens-per-second", "nan"],
    ["--time-to-first-token", "inf"],
    ["--tokens-per-second", "fast"],
])
def test_a_bad_number_exits_2_with_a_clear_message_and_never_starts_the_app(
        argv: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def never(*_: object, **__: object) -> None:
        raise AssertionError("the app was started")

    monkeypatch.setattr(LineDebugger, "run", never)
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"argument {argv[0]}: must be a number >= 0, got " in err and argv[1] in err
    assert "Traceback" not in err


def test_the_console_script_rejects_a_negative_speed_before_starting() -> None:
    result = subprocess.run([LINE_TUI, "--tokens-per-second", "-5"], capture_output=True, text=True,
                            timeout=60, check=False, stdin=subprocess.DEVNULL)
    assert result.returncode == 2
    assert "argument --tokens-per-second: must be a number >= 0, got -5" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_zero_speed_and_delay_are_accepted() -> None:
    args = build_parser().parse_args(["--tokens-per-second", "0", "--time-to-first-token", "0"])
    assert (args.tokens_per_second, args.time_to_first_token) == (0.0, 0.0)


@pytest.mark.parametrize("command", [[LINE_TUI], [sys.executable, "-m", "line_tui"]],
                         ids=["line-tui", "python -m line_tui"])
def test_help_through_the_console_script_and_python_m(command: list[str]) -> None:
    result = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: line-tui") and "--tokens-per-second" in result.stdout
