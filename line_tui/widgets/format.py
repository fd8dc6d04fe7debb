"""Shared formatting of durations, counts and literal text for the panels."""

from __future__ import annotations

from rich.text import Text


class Timings:
    """Whether measured times are shown. Snapshot tests hide them: they differ on every run."""

    visible = True


def duration(ns: int | float | None) -> str:
    """A short human duration: ``850µs``, ``12.3ms``, ``1.25s``; ``-`` when unknown."""
    if ns is None:
        return "-"
    if not Timings.visible:
        return "·"
    if ns < 1_000_000:
        return f"{ns / 1_000:.0f}µs"
    if ns < 1_000_000_000:
        return f"{ns / 1_000_000:.1f}ms"
    return f"{ns / 1_000_000_000:.2f}s"


def literal(text: str, style: str = "") -> Text:
    """User/LLM text as-is: ``[bold]`` in a chunk is shown, never interpreted as markup."""
    return Text(text, style=style, no_wrap=False)


def visible_whitespace(text: str) -> str:
    """Buffers show where their spaces and newlines are."""
    return text.replace("\n", "⏎").replace("\t", "→")
