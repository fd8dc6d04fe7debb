"""``python -m line_tui.screenshots DIR``: SVG screenshots of key states for the README."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from line.llm import ScriptedLLM, ScriptRule
from line_tui.app import DebuggerOptions, LineDebugger
from line_tui.widgets.format import Timings

STORY = "Once upon a time, Dr. Lee found 3.5 coins. She kept them. Then a dragon came by and asked for one."


async def _wait(app: LineDebugger, pilot: object, condition: object) -> None:
    for _ in range(500):
        await pilot.pause()  # type: ignore[attr-defined]
        if condition():  # type: ignore[operator]
            break
    app.redraw(force=True)
    await pilot.pause()  # type: ignore[attr-defined]


async def shoot(directory: Path) -> list[Path]:
    Timings.visible = False
    written: list[Path] = []

    def llm() -> ScriptedLLM:
        return ScriptedLLM(rules=[ScriptRule(match="story", reply=STORY, stall_after=11),
                                  ScriptRule(match=".*", reply=STORY)])

    app = LineDebugger(DebuggerOptions(target="buffered", llm_factory=llm))
    async with app.run_test(size=(160, 48)) as pilot:
        def idle() -> bool:
            return app.session is not None and app.session.system.bus.idle

        await _wait(app, pilot, idle)
        await pilot.press(*"hello", "enter")
        await _wait(app, pilot, lambda: idle() and any(t.role == "agent" and t.finished
                                                       for t in app.state.conversation.turns))
        written.append(Path(app.save_screenshot("after-one-turn.svg", str(directory))))
        await pilot.press(*"tell me a story", "enter")
        await _wait(app, pilot, lambda: app.session is not None
                    and app.session.llm.streams[-1].chunks_delivered == 11)  # type: ignore[attr-defined]
        await pilot.press("x")
        await _wait(app, pilot, lambda: idle() and app.state.interruptions.total == 1)
        written.append(Path(app.save_screenshot("barge-in.svg", str(directory))))
    return written


def main() -> None:
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    for path in asyncio.run(shoot(directory)):
        print(path)


if __name__ == "__main__":
    main()
