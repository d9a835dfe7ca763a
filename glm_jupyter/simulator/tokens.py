"""Deterministic tokenizer, canonical prompt text and the context (prefix) cache."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from bisect import bisect_left
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A token is a run of at most 8 visible characters with the whitespace before it; trailing
# whitespace at the very end of a text is one more token. Tokens concatenate back to the text.
TOKEN_PATTERN = re.compile(r"\s*\S{1,8}|\s+")


def tokenize(text: str) -> list[str]:
    """Split text into simulator tokens."""
    return TOKEN_PATTERN.findall(text)


def count_tokens(text: str) -> int:
    """Number of simulator tokens in text."""
    return sum(1 for _ in TOKEN_PATTERN.finditer(text))


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


PATCH = 28  # pixels on a side per image token (14-pixel patches merged two by two)
MAX_IMAGE_TOKENS = 16_384
UNSIZED_IMAGE_TOKENS = 1_024  # an image whose size cannot be read from its header


def image_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from a PNG or JPEG header, or None."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    i = 2
    while data[:2] == b"\xff\xd8" and i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker, length = data[i + 1], int.from_bytes(data[i + 2 : i + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(data[i + 7 : i + 9], "big"), int.from_bytes(
                data[i + 5 : i + 7], "big"
            )
        i += 2 + length
    return None


def image_tokens(url: str) -> int:
    """What one image part costs in prompt tokens: one per 28x28 pixels of the picture."""
    head, _, payload = url.partition(",")
    if not head.startswith("data:") or ";base64" not in head:
        return UNSIZED_IMAGE_TOKENS
    try:
        size = image_size(base64.b64decode(payload[:64_000] + "=" * (-len(payload[:64_000]) % 4)))
    except ValueError:
        size = None
    if size is None:
        return UNSIZED_IMAGE_TOKENS
    width, height = size
    return min(max(1, -(-width // PATCH) * -(-height // PATCH)), MAX_IMAGE_TOKENS)


def _image_text(part: Mapping[str, Any]) -> str:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    url = url if isinstance(url, str) else ""
    # The picture's digest keeps two images apart in the prefix cache; each ▮ is one token.
    digest = hashlib.sha256(url.encode()).hexdigest()[:16]
    return f"<|image {digest}|>" + " ▮" * (image_tokens(url) - 1)


def _content_text(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        pieces = []
        for part in content:
            if isinstance(part, Mapping) and isinstance(part.get("text"), str):
                pieces.append(part["text"])
            elif isinstance(part, Mapping) and part.get("type") == "image_url":
                pieces.append(_image_text(part))
            else:
                pieces.append(_compact(part))
        return "".join(pieces)
    return _compact(content)


def _reasoning_text(message: Mapping[str, Any]) -> str:
    for key in ("reasoning_content", "reasoning"):
        value = message.get(key)
        if isinstance(value, str) and value:
            return value
    details = message.get("reasoning_details")
    if isinstance(details, list):
        return "".join(
            d["text"] for d in details if isinstance(d, Mapping) and isinstance(d.get("text"), str)
        )
    return ""


def prompt_text(body: Mapping[str, Any]) -> str:
    """Canonical text of a request's prompt: tools first, then each message in order."""
    parts: list[str] = []
    tools = body.get("tools")
    if tools:
        # Tools lead, as GLM's chat template renders them into the system prompt: changing
        # the tool list therefore invalidates the whole cached prefix, as it would on Z.ai.
        parts.append("<|tools|>" + _compact(tools))
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, Mapping):
            parts.append(_compact(message))
            continue
        parts.append(f"<|{message.get('role', '')}|>")
        reasoning = _reasoning_text(message)
        if reasoning:
            parts.append(f"<think>{reasoning}</think>")
        parts.append(_content_text(message.get("content")))
        calls = message.get("tool_calls")
        for call in calls if isinstance(calls, list) else []:
            function = call.get("function", call) if isinstance(call, Mapping) else call
            parts.append(f"<tool_call>{_compact(function)}</tool_call>")
    return "\n".join(parts)


@dataclass(frozen=True)
class Prompt:
    """A prompt's canonical text and the end offset of each of its tokens."""

    text: str
    ends: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> Prompt:
        """Tokenize text once so later cache look-ups need no tokenizer."""
        return cls(text, tuple(m.end() for m in TOKEN_PATTERN.finditer(text)))

    @property
    def tokens(self) -> int:
        """Number of tokens in the prompt."""
        return len(self.ends)


def _common_chars(a: str, b: str) -> int:
    # Binary search on slices keeps the comparison in C; each step only compares the new part.
    lo, hi = 0, min(len(a), len(b))
    if a.startswith(b[:hi]):
        return hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a.startswith(b[lo:mid], lo):
            lo = mid
        else:
            hi = mid - 1
    return lo


def shared_tokens(a: Prompt, b: Prompt) -> int:
    """Length in tokens of the longest common token prefix of two prompts."""
    chars = _common_chars(a.text, b.text)
    # Every token ending before the first differing character is the same in both texts
    # (the tokenizer only looks one character past a token); a token ending exactly there is
    # shared only when both texts end a token at that offset.
    n = bisect_left(a.ends, chars)
    if n < len(a.ends) and n < len(b.ends) and a.ends[n] == chars == b.ends[n]:
        n += 1
    return n


class PrefixCache:
    """Remembers recent prompts and reports how many leading tokens a new one shares.

    Like a provider's cache it is bounded: the newest `size` prompts are kept, and a prompt
    that a newer one extends is dropped for it (the newer one answers every look-up the older
    one could), so an agent run's append-only prompts cost one entry however long it goes.
    """

    def __init__(self, size: int = 32) -> None:
        self._prompts: deque[Prompt] = deque(maxlen=size)

    def cached_tokens(self, prompt: Prompt) -> int:
        """Longest common token prefix with any remembered prompt (0 when none)."""
        return max((shared_tokens(prompt, seen) for seen in self._prompts), default=0)

    def add(self, prompt: Prompt) -> None:
        """Remember a prompt for later look-ups."""
        kept = [p for p in self._prompts if not prompt.text.startswith(p.text)]
        if len(kept) != len(self._prompts):
            self._prompts.clear()
            self._prompts.extend(kept)
        self._prompts.append(prompt)

    def clear(self) -> None:
        """Forget every prompt."""
        self._prompts.clear()
