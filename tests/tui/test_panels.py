"""What the panels say: the routes panel's stage rows fit their column at the size the README
documents (160x48) and in the two-column layout of narrower terminals, and an interruption card
does not repeat itself."""

from __future__ import annotations

import re

import pytest
from rich.text import Text

from line.trace import TraceKind, TraceRecord
from line_tui.demo_states import STATES
from line_tui.widgets.format import Timings
from line_tui.widgets.interruptions_panel import InterruptionsPanel
from line_tui.widgets.routes_panel import HEADER, RoutesPanel, stage_row

from .helpers import SIZE

DURATION = r"(?:\d+(?:\.\d+)?(?:µs|ms|s)|-)"
ROW = re.compile(rf"^ *\d+ +\d+ +\d+ +\d+ +{DURATION} +{DURATION}$")


def plain(widget: object) -> str:
    return str(widget.content.plain)  # type: ignore[attr-defined]


@pytest.mark.parametrize("size", [SIZE, (129, 40), (100, 30), (80, 24)], ids=lambda size: "x".join(map(str, size)))
async def test_each_stage_row_fits_the_routes_column(size: tuple[int, int], monkeypatch: pytest.MonkeyPatch) -> None:
    state = STATES["one-turn"]
    app = state.build()
    monkeypatch.setattr(Timings, "visible", True)  # real durations: the widest the row gets
    async with app.run_test(size=size) as pilot:
        await state.drive(pilot)
        narrow = size[0] < 130
        assert app.screen.has_class("-narrow") is narrow
        routes, conversation, metrics, log = (app.query_one(f"#{name}").region
                                              for name in ("routes", "conversation", "metrics", "log"))
        assert routes.right <= conversation.x and routes.right <= metrics.x, "routes on the left"
        if narrow:  # two columns: the conversation above the metrics and the events
            assert conversation.x == metrics.x == log.x and conversation.bottom <= metrics.y < log.y
            # The routes scroll in their own box: the interruption cards below stay in view.
            cards = app.query_one("#interruptions").region
            assert cards.x < conversation.x and cards.y < app.query_one("#speech").region.y
        else:  # three columns: the conversation in the middle
            assert conversation.right <= metrics.x and metrics.x == log.x
        panel = app.query_one(RoutesPanel)
        width = panel.content_region.width
        widest = Text()
        stage_row(widest, 9999, 9999, 999, 99, 123_400_000, 999_900_000)  # "123.4ms", "999.9ms"
        assert len(HEADER) <= width and len(widest.plain.rstrip("\n")) <= width

        rendered = [panel.render_line(y).text.rstrip() for y in range(panel.size.height)]
        rows = [line for line in rendered if ROW.match(line)]
        stages = sum(len(r.stages) for r in app.state.routes.routes.values() if r.bridge != "user")
        assert len(rows) == stages, "each stage's numbers on one line of their own:\n" + "\n".join(rendered)
        assert not [line for line in rendered if line.lstrip().startswith(("p95", "p50"))], "nothing wrapped"


async def test_an_interruption_card_names_what_it_awaited_only_when_it_is_not_the_stage() -> None:
    state = STATES["barge-in"]
    app = state.build()
    async with app.run_test(size=SIZE) as pilot:
        await state.drive(pilot)
        (card,) = app.state.interruptions.cards
        assert card.stage_name == card.awaiting == "TokenNode.generate"  # cut inside the generator
        shown = plain(app.query_one(InterruptionsPanel))
        assert "landed in TokenNode.generate\n" in shown and "awaiting" not in shown

        # A run cut while it waited on something else keeps saying what.
        route, run_id, waited = card.route, 10_000, "backpressure: inbox of user is full"
        t_ns = app.state.last_t_ns
        app.state.feed([
            TraceRecord(TraceKind.INTERRUPT_ACCEPTED, t_ns, route=route, run_id=run_id,
                        data={"trigger": "UserStartedSpeaking", "idle": False, "stage": 2, "awaiting": waited}),
            TraceRecord(TraceKind.INTERRUPT_LANDED, t_ns + 1, route=route, run_id=run_id, stage=2,
                        data={"awaiting": waited, "stage_name": "speakable", "since_accepted_ns": 1}),
        ])
        app.redraw(force=True)
        await pilot.pause()
        shown = plain(app.query_one(InterruptionsPanel))
        assert f"landed in speakable (awaiting {waited})" in shown
