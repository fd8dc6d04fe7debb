"""``python -m line_tui.screenshots DIR``: an SVG of each state in :mod:`line_tui.demo_states`.

The same deterministic states are pinned by the snapshot tests, so the README's pictures
show exactly what the tests check.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from line_tui.demo_states import STATES, DemoState


async def shoot(state: DemoState, directory: Path) -> Path:
    app = state.build()
    async with app.run_test(size=state.size) as pilot:
        await state.drive(pilot)
        return Path(app.save_screenshot(f"{state.name}.svg", str(directory)))


def main() -> None:
    directory = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    for state in STATES.values():
        print(asyncio.run(shoot(state, directory)))


if __name__ == "__main__":
    main()
