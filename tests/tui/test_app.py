"""The debugger driven by keys (Textual Pilot): typing is speaking, barge-in, panels, errors."""

from __future__ import annotations

from textual import events

from line_tui.widgets.buffers_panel import BuffersPanel
from line_tui.widgets.conversation_panel import ConversationPanel
from line_tui.widgets.interruptions_panel import InterruptionsPanel
from line_tui.widgets.routes_panel import RoutesPanel

from .helpers import SIZE, STORY, agent_turns, idle, make_app, settle


def plain(widget: object) -> str:
    return str(widget.content.plain)  # type: ignore[attr-defined]


async def test_typing_a_turn_streams_the_reply_through_every_stage() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press(*"hello", "enter")
        await settle(pilot, lambda: idle(app) and bool(agent_turns(app)) and agent_turns(app)[-1].finished,
                     "the reply finished")
        turn = agent_turns(app)[-1]
        assert turn.text == STORY and not turn.interrupted
        conversation = plain(app.query_one(ConversationPanel))
        assert "you  hello" in conversation
        assert "[bold]dragon[/]" in conversation, "markup in chunk text renders literally"
        routes = plain(app.query_one(RoutesPanel))
        assert "stream:TokenNode.generate" in routes and "stream:sentences" in routes
        route = next(r for r in app.state.routes.routes.values() if r.bridge == "TokenNode")
        generate, sentences, speakable = route.stages
        assert generate.items_in == 1 and generate.items_out == len(STORY.split()) + 1  # + completion marker
        assert sentences.items_in == generate.items_out
        assert speakable.items_out == sentences.items_out == 5 + 1  # five sentences + the marker


async def test_typing_over_the_reply_is_a_barge_in() -> None:
    app = make_app(stall_after=11)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press(*"tell me a story", "enter")
        llm = app.session.llm  # type: ignore[union-attr]
        await settle(pilot, lambda: bool(llm.streams) and llm.streams[-1].chunks_delivered == 11, "LLM stalled")
        await pilot.press("x")  # the first keystroke interrupts
        await settle(pilot, lambda: idle(app) and app.state.interruptions.total == 1, "interrupt handled")
        turn = agent_turns(app)[-1]
        assert turn.interrupted
        assert turn.text == "Once upon a time, Dr. Lee found 3.5 coins. "
        assert turn.cut == "She kept ", "what sat in the sentence buffer shows as cut"
        assert llm.streams[-1].cancelled
        card = app.state.interruptions.cards[-1]
        assert card.stage_name == "TokenNode.generate" and card.delivered == 1 and card.handler_ok
        assert "interrupted" in plain(app.query_one(InterruptionsPanel))
        assert "(empty)" in plain(app.query_one(BuffersPanel))


async def test_a_failing_stage_shows_its_error_and_the_app_keeps_running() -> None:
    from line.llm import ScriptRule

    app = make_app(rules=[ScriptRule(match="fail", reply="Doomed reply here.", fail_after=2),
                          ScriptRule(match=".*", reply="Fine again.")])
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        await pilot.press(*"please fail", "enter")
        await settle(pilot, lambda: idle(app) and bool(app.state.errors), "error shown")
        assert "LLMError" in plain(app.query_one(RoutesPanel))
        await pilot.press(*"again", "enter")
        await settle(pilot, lambda: idle(app) and agent_turns(app)[-1].text == "Fine again.", "next turn works")


async def test_a_flood_of_keys_loses_nothing() -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, lambda: idle(app), "agent started")
        text = "abc " * 500
        driver = app._driver
        assert driver is not None
        for char in text:  # as fast as a terminal can deliver them: no waiting between keys
            key = events.Key("space" if char == " " else char, char)
            key.set_sender(app)
            driver.send_message(key)
        await pilot.press("enter")
        await settle(pilot, lambda: idle(app) and bool(agent_turns(app)) and agent_turns(app)[-1].finished, "reply")
        user_turns = [t for t in app.state.conversation.turns if t.role == "user"]
        assert user_turns[-1].text == text.strip()
        assert app.state.log.types["UserStartedSpeaking"] == 1, "one turn, one UserStartedSpeaking"
