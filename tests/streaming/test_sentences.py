"""Sentence buffering: exact reassembly for any chunking, and no split inside "Dr." or "3.5"."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from line.streaming import SentenceBuffer
from line.streaming.sentences import _CLOSERS, _TERMINATORS, _ends_sentence
from line.trace import TraceKind, Tracer, reset_trace_context, set_trace_context

TOKENS = ["Dr.", "Mr.", "e.g.", "a.m.", "3.5", "J.", "Hello", "world", "wait...", "really?", "yes!", "ok.",
          "“quoted.”", "(aside.)", "…", "U.S.", "no", "\n", "  ", "incomprehensibilities"]

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


def run_split(text: str, cuts: list[int], min_chars: int, max_chars: int) -> tuple[list[str], str]:
    """The pieces ``push`` returned, and what ``flush`` returned, kept apart."""
    buffer = SentenceBuffer(min_chars=min_chars, max_chars=max_chars)
    pieces: list[str] = []
    start = 0
    for cut in [*sorted(set(cuts)), len(text)]:
        pieces += buffer.push(text[start:cut])
        start = cut
    return pieces, buffer.flush()


def boundaries(s: str, min_chars: int) -> list[int]:
    """Where, in a buffer holding ``s``, a sentence may end: the whitespace right after it."""
    return [j for j in range(max(1, min_chars), len(s))
            if s[j].isspace() and s[j - 1] in _TERMINATORS + _CLOSERS and _ends_sentence(s, j)]


def assert_piece_was_due(piece: str, s: str, min_chars: int, max_chars: int) -> None:
    """``piece`` was cut from a buffer whose text (from then on, to the end of input) is ``s``.

    Either it ends at the first sentence boundary at or after ``min_chars`` (plus the whitespace
    after it), or no such boundary came before ``max_chars`` and the size limit forced the cut: at
    the last space/newline within ``max_chars`` characters, or hard at ``max_chars`` without one.
    """
    assert s.startswith(piece) and piece, (piece, s)
    first = next(iter(boundaries(s, min_chars)), None)
    if first is not None and first <= max_chars and len(piece) > first and piece.rstrip() == s[:first]:
        return  # at the boundary, with (some of) the whitespace after it
    assert first is None or first >= max_chars, f"{piece!r} is not cut at the boundary {first} of {s!r}"
    assert len(s) >= max_chars, f"{piece!r} cut from {s!r} before it reached max_chars={max_chars}"
    window = s[:max_chars]
    space = max(window.rfind(" "), window.rfind("\n"))
    expected = window[: space + 1] if space > 0 else window
    assert piece == expected, f"size cut {piece!r}, expected {expected!r} (max_chars={max_chars})"


@settings(max_examples=300, deadline=None)
@given(data=st.data(), text=texts, max_chars=st.integers(5, 80))
def test_pieces_reassemble_the_input_and_end_at_boundaries(data: Any, text: str, max_chars: int) -> None:
    cuts = data.draw(st.lists(st.integers(0, len(text)), max_size=20))
    min_chars = data.draw(st.integers(0, max_chars) | st.just(0))
    pieces, rest = run_split(text, cuts, min_chars, max_chars)
    assert "".join(pieces) + rest == text
    offset = 0
    for piece in pieces:
        assert_piece_was_due(piece, text[offset:], min_chars, max_chars)
        offset += len(piece)
    # What waits for flush() held no boundary and never reached the size limit.
    assert len(rest) < max_chars and not boundaries(rest, min_chars), (rest, min_chars, max_chars)


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
