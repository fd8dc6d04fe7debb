"""The README's agent example is a working agent (run headlessly, one turn, one barge-in)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from line import VoiceAgentSystem
from line.llm import ScriptedLLM, ScriptRule
from line_tui.loader import load_agent

README = Path(__file__).resolve().parent.parent / "README.md"


def agent_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    [block] = [b for b in blocks if "async def handle_new_call" in b]
    return block


async def test_the_readme_agent_answers_and_can_be_interrupted(tmp_path: Path) -> None:
    path = tmp_path / "agent.py"
    path.write_text(agent_example())
    entry = load_agent(str(path))
    llm = ScriptedLLM(rules=[ScriptRule(match="story", reply="Once upon a time there was a bus.", stall_after=3),
                             ScriptRule(match=".*", reply="Hello there, caller.")])
    system = VoiceAgentSystem(llm=llm)
    task = asyncio.create_task(entry.handler(system, None))  # type: ignore[arg-type]
    try:
        await system.wait_started()
        await system.user.say("hi")
        await system.bus.wait_idle()
        assert system.user.heard == "Hello there, caller."
        await system.user.say("tell me a story")
        async with asyncio.timeout(5):
            while system.user.heard != "Hello there, caller.Once upon a ":  # noqa: ASYNC110
                await asyncio.sleep(0)
        await system.user.start_speaking()
        await system.bus.wait_idle()
        assert llm.streams[-1].cancelled
        assert system.user.heard == "Hello there, caller.Once upon a "
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await system.cleanup()
