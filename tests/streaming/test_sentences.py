"""Sentence buffering: exact reassembly for any chunking, and no split inside "Dr." or "3.5"."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from line.streaming import SentenceBuffer
from line.streaming.sentences import _ends_sentence
from line.trace import TraceKind, Tracer, reset_trace_context, set_trace_context

TOKENS = ["Dr.", "Mr.", "e.g.", "a.m.", "3.5", "J.", "Hello", "world", "wait...", "really?", "yes!", "ok.",
          "“quoted.”", "(aside.)", "…", "U.S.", "no", "\n", "  "]

texts = st.lists(st.sampled_from(TOKENS), max_size=40).map(" ".join) | st.text(max_size=120)


def run(text: str, cuts: list[int], max_chars: int = 40) -> list[str]:
    buffer = SentenceBuffer(max_chars=max_chars)
    pieces: list[str] = []
    start = 0
    for cut in sorted(set(cuts)):
        pieces += buffer.push(text[start:cut])
        start = cut
    pieces += buffer.push(text[start:])
    rest = buffer.flush()
    return pieces + ([rest] if rest else [])


@settings(max_examples=300, deadline=None)
@given(data=st.data(), text=texts, max_chars=st.integers(5, 80))
def test_pieces_reassemble_the_input_and_end_at_boundaries(data: Any, text: str, max_chars: int) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    pieces = run(text, cuts, max_chars)
    assert "".join(pieces) == text
    for piece in pieces[:-1]:
        stripped = piece.rstrip()
        at_boundary = piece != stripped and _ends_sentence(stripped, len(stripped))
        assert at_boundary or len(piece) >= max_chars or (piece[-1:].isspace() and len(piece) <= max_chars), piece


@pytest.mark.parametrize("step", [1, 2, 3, 5, 100])
def test_abbreviations_decimals_initials_and_ellipses_do_not_split(step: int) -> None:
    text = "Dr. Smith paid 3.5 dollars at 9 a.m. today. J. R. R. Tolkien wrote... a lot! Done"
    cuts = list(range(step, len(text), step))
    assert run(text, cuts, max_chars=200) == [
        "Dr. Smith paid 3.5 dollars at 9 a.m. today. ",
        "J. R. R. Tolkien wrote... a lot! ",
        "Done",
    ]


def test_decimal_point_at_chunk_end_waits_for_the_next_chunk() -> None:
    buffer = SentenceBuffer()
    assert buffer.push("It costs 3.") == []
    assert buffer.push("5 euros. And") == ["It costs 3.5 euros. "]
    assert buffer.flush() == "And"


def test_max_chars_cuts_at_the_last_space() -> None:
    buffer = SentenceBuffer(max_chars=10)
    assert buffer.push("aaaa bbbb cccc") == ["aaaa bbbb "]
    assert buffer.flush() == "cccc"


def test_min_chars_merges_short_sentences() -> None:
    buffer = SentenceBuffer(min_chars=10)
    assert buffer.push("Hi. How are you? Fine") == ["Hi. How are you? "]


def test_invalid_limits_are_rejected() -> None:
    with pytest.raises(ValueError, match="min_chars"):
        SentenceBuffer(min_chars=50, max_chars=10)


def test_buffer_contents_are_reported_to_the_trace() -> None:
    tracer = Tracer()
    records: list[Any] = []
    tracer.attach(records.extend)
    token = set_trace_context(tracer, "route", 7)
    try:
        buffer = SentenceBuffer(name="speech")
        buffer.push("Hello wor")
        buffer.push("ld. Next")
        buffer.flush()
    finally:
        reset_trace_context(token)
    tracer.flush()
    contents = [r.get("contents") for r in records if r.kind is TraceKind.BUFFER]
    assert contents == ["Hello wor", "Next", ""]
    assert all(r.route == "route" and r.run_id == 7 and r.get("name") == "speech"
               for r in records if r.kind is TraceKind.BUFFER)
