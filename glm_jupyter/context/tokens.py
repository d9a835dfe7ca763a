"""A fast, deterministic, slightly conservative estimate of how many BPE tokens a text costs."""

from __future__ import annotations

import re

# BPE vocabularies hold most short English words and word pieces, so a run of ASCII letters
# costs about one token per 4-8 letters: one per 6 overestimates plain English a little and
# stays close on identifiers and rare words. The GLM, Llama 3 and OpenAI tokenizers split numbers
# into groups of at most 3 digits. Letters of other alphabets (accents, Greek, Cyrillic, ...)
# merge less, so their runs split every 3. Chinese, Japanese and Korean characters are about one
# token each, like punctuation and symbols, which rarely merge with their neighbours in Markdown
# tables. Whitespace folds into the next token, so it costs nothing.
_CJK = "\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[A-Za-z]{{1,6}}|\d{{1,3}}|[^\W\d_A-Za-z{_CJK}]{{1,3}}|\S")


def estimate_tokens(text: str) -> int:
    """Estimated number of BPE tokens in `text`, erring on the high side."""
    return len(_TOKEN.findall(text))
