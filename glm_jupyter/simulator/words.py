"""Deterministic pseudo-words for `generate` turns, one token at a time."""

from __future__ import annotations

import random
from collections.abc import Iterator

# Every word is at most 7 characters so a word plus a full stop is still one token.
_WORDS = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "vector",
    "matrix",
    "kernel",
    "tensor",
    "cell",
    "output",
    "input",
    "value",
    "number",
    "answer",
    "model",
    "token",
    "stream",
    "cache",
    "prompt",
    "reply",
    "think",
    "reason",
    "step",
    "result",
    "check",
    "plot",
    "data",
    "frame",
    "column",
    "row",
    "index",
    "sum",
    "mean",
    "graph",
    "node",
    "edge",
    "path",
    "loop",
    "call",
    "tool",
    "code",
    "test",
    "case",
    "field",
    "note",
    "draft",
    "line",
    "the",
    "a",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "with",
    "as",
    "this",
    "that",
    "it",
    "we",
    "then",
    "so",
    "next",
    "each",
    "more",
    "less",
    "over",
    "under",
)
_SENTENCE_END = 0.08  # chance that a word ends its sentence
_PARAGRAPH_END = 0.15  # chance that a finished sentence also ends its paragraph


def generated_tokens(count: int, seed: int, stream: str) -> Iterator[str]:
    """Yield `count` tokens of pseudo-text; the same seed and stream name give the same text."""
    # A string seed is hashed with SHA-512 by `random`, so the text is stable across runs.
    rng = random.Random(f"{seed}:{stream}")
    choice, chance = rng.choice, rng.random
    words = _WORDS
    capital = True  # the next word starts a sentence
    paragraph = False  # the next word starts a paragraph
    for i in range(count):
        word = choice(words)
        if capital:
            word = word.capitalize()
        prefix = "" if i == 0 else ("\n\n" if paragraph else " ")
        capital = i == count - 1 or chance() < _SENTENCE_END
        paragraph = capital and chance() < _PARAGRAPH_END
        yield (prefix + word + ".") if capital else (prefix + word)
