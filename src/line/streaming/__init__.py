"""Reusable streaming helpers (sentence buffering, validation, merging, caching, limits)."""

from line.streaming.cache import ResponseCache, cached_stream, conversation_key
from line.streaming.limits import limit_chunks, rate_limit
from line.streaming.merge import merge_streams
from line.streaming.sentences import ABBREVIATIONS, SentenceBuffer, buffer_sentences
from line.streaming.stage import SentenceStage
from line.streaming.validation import ChunkValidator, with_completion

__all__ = [
    "ABBREVIATIONS",
    "ChunkValidator",
    "ResponseCache",
    "SentenceBuffer",
    "SentenceStage",
    "buffer_sentences",
    "cached_stream",
    "conversation_key",
    "limit_chunks",
    "merge_streams",
    "rate_limit",
    "with_completion",
]
