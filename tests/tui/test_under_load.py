"""The debugger under a heavy stream: bounded rendering, a cheap fold, paced frames (figure 5)."""

from __future__ import annotations

from line.llm import ScriptRule
from line_tui.model.conversation import BLOCK, GrowingText, Turn
from line_tui.widgets.conversation_panel import TURN_TAIL_CHARS, ConversationPanel

from .helpers import SIZE, agent_turns, idle, make_app, settle


def test_growing_text_appends_and_reads_its_tail_without_joining() -> None:
    text = GrowingText("ab")
    pieces = [f"{i:05d} " for i in range(BLOCK * 3 + 7)]
    for piece in pieces:
        text.append(piece)
    text.append("")
    whole = "ab" + "".join(pieces)
    assert len(text) == len(whole)
    for chars in (0, 1, 5, 6, BLOCK * 6 + 3, len(whole) - 1, len(whole), len(whole) + 10):
        assert text.tail(chars) == whole[len(whole) - min(chars, len(whole)):], chars
    assert text.value == whole
    text.append("end")
    assert text.value == whole + "end" and text.tail(4) == " end"


def test_a_turn_reads_like_the_text_it_heard() -> None:
    turn = Turn("agent", run_id=3)
    turn.heard.append("Hello ")
    turn.heard.append("there.")
    turn.unheard.append(" Bye.")
    assert (turn.text, turn.cut) == ("Hello there.", " Bye.")
    assert turn == Turn("agent", "Hello there.", " Bye.", run_id=3)
    assert turn != Turn("agent", "Hello there.", run_id=3)


async def test_a_long_turn_shows_its_end_and_how_much_came_before() -> None:
    """A reply longer than the panel shows is shown by its last characters after a marker
    saying how many came before; the model keeps all of it; markup still renders literally."""
    reply = " ".join(f"word{i}" for i in range(1, 1200)) + " the [bold]end[/]."
    app = make_app(rules=[ScriptRule(match=".*", reply=reply)])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press(*"talk", "enter")
        await settle(pilot, lambda: idle(app) and bool(agent_turns(app)) and agent_turns(app)[-1].finished,
                     "the reply finished")
        heard = agent_turns(app)[-1].text
        assert len(heard) > TURN_TAIL_CHARS
        shown = app.query_one(ConversationPanel).content.plain  # type: ignore[union-attr]
        earlier = len(heard) - TURN_TAIL_CHARS
        assert f"agent … {earlier:,} earlier characters … {heard[earlier:]}" in shown
        assert shown.count("word") < TURN_TAIL_CHARS // 5
        assert "the [bold]end[/]." in shown
