"""Chunk and completion objects of one response, shaped the way each dialect shapes them."""

from __future__ import annotations

import time
import uuid
from typing import Any

from .dialects import SIMULATOR_ID, Dialect
from .plan import Counts, Plan, PlannedCall

Json = dict[str, Any]


def response_id(d: Dialect) -> str:
    """A fresh response id in the dialect's style."""
    if d.name == "zai":
        return time.strftime("%Y%m%d%H%M%S") + uuid.uuid4().hex[:16]
    if d.name == "openrouter":
        return f"gen-{int(time.time())}-{uuid.uuid4().hex[:20]}"
    return d.response_id_prefix + uuid.uuid4().hex


class ChunkBuilder:
    """Builds the objects of one response in one dialect."""

    def __init__(self, d: Dialect, model: str, rid: str | None = None) -> None:
        self.d = d
        self.model = model
        self.id = rid or response_id(d)
        self.created = int(time.time())

    def _head(self, kind: str) -> Json:
        head: Json = {"id": self.id, "created": self.created, "object": kind, "model": self.model}
        if self.d.openai_style:
            head["system_fingerprint"] = SIMULATOR_ID
        return head

    def chunk(self, choices: list[Json], **extra: Any) -> Json:
        """A `chat.completion.chunk` with the given choices and top-level extras."""
        return {**self._head("chat.completion.chunk"), "choices": choices, **extra}

    def _delta_chunk(self, delta: Json) -> Json:
        choice: Json = {"index": 0, "delta": delta}
        if self.d.openai_style:
            choice["finish_reason"] = None  # zai leaves the key out until the last chunk
        return self.chunk([choice])

    def _with_role(self, fields: Json) -> Json:
        return {"role": "assistant", **fields} if self.d.role_in_deltas else fields

    def opening(self) -> Json | None:
        """The role-only chunk some servers send first, or None."""
        if self.d.opening_delta is None:
            return None
        return self._delta_chunk(dict(self.d.opening_delta))

    def reasoning(self, text: str) -> Json:
        """A chunk carrying one reasoning token."""
        fields: Json = {self.d.reasoning_field: text}
        if self.d.name in ("ollama", "openrouter"):
            fields = {"content": "", **fields}
        if self.d.name == "openrouter":
            fields["reasoning_details"] = [
                {"type": "reasoning.text", "text": text, "format": "unknown", "index": 0}
            ]
        return self._delta_chunk(self._with_role(fields))

    def content(self, text: str) -> Json:
        """A chunk carrying one content token."""
        return self._delta_chunk(self._with_role({"content": text}))

    def _tool_chunk(self, entry: Json) -> Json:
        # Z.ai sends tool-call deltas without a role; Ollama and OpenRouter repeat it, and
        # OpenRouter's content beside a tool call is null, not "".
        delta: Json = {"tool_calls": [entry]}
        if self.d.openai_style and self.d.role_in_deltas:
            content = None if self.d.name == "openrouter" else ""
            delta = {"role": "assistant", "content": content, **delta}
        return self._delta_chunk(delta)

    def tool_whole(self, call: PlannedCall) -> Json:
        """A chunk carrying a complete tool call."""
        function = {"name": call.name, "arguments": call.arguments}
        return self._tool_chunk(
            {"id": call.id, "index": call.index, "type": "function", "function": function}
        )

    def tool_start(self, call: PlannedCall) -> Json:
        """The first chunk of a streamed tool call: id, type and name."""
        function: Json = {"name": call.name}
        if self.d.tool_start_has_arguments:
            function["arguments"] = ""
        return self._tool_chunk(
            {"id": call.id, "index": call.index, "type": "function", "function": function}
        )

    def tool_arguments(self, index: int, fragment: str) -> Json:
        """A later chunk of a streamed tool call: a piece of its arguments."""
        return self._tool_chunk({"index": index, "function": {"arguments": fragment}})

    def usage(self, counts: Counts) -> Json:
        """The usage object in the dialect's shape."""
        usage: Json = {
            "prompt_tokens": counts.prompt,
            "completion_tokens": counts.completion,
            "total_tokens": counts.total,
        }
        if self.d.usage_detail in ("full", "cached"):
            usage["prompt_tokens_details"] = {"cached_tokens": counts.cached}
        if self.d.usage_detail == "full":
            usage["completion_tokens_details"] = {"reasoning_tokens": counts.reasoning}
        if self.d.name == "openrouter":
            usage["cost"] = counts.cost
        return usage

    def _timings(self, counts: Counts) -> Json:
        return {
            "cache_n": counts.cached,
            "prompt_n": max(counts.prompt - counts.cached, 0),
            "predicted_n": counts.completion,
        }

    def finish(self, plan: Plan) -> Json:
        """The chunk carrying `finish_reason` (and usage, where the dialect puts it there)."""
        reason = plan.finish_reason
        name = self.d.name
        if name == "zai":
            choice: Json = {
                "index": 0,
                "finish_reason": reason,
                "delta": {"role": "assistant", "content": ""},
            }
            return self.chunk([choice], usage=self.usage(plan.counts))
        if name == "llamacpp":
            choice = {"finish_reason": reason, "index": 0, "delta": {}}
            counts = plan.counts
            return self.chunk([choice], usage=self.usage(counts), timings=self._timings(counts))
        delta: Json = {"content": ""}
        if self.d.role_in_deltas:
            delta = {"role": "assistant", "content": ""}
        choice = {"index": 0, "delta": delta, "finish_reason": reason}
        if name == "openrouter":
            choice["native_finish_reason"] = reason
        return self.chunk([choice])

    def usage_chunk(self, plan: Plan) -> Json:
        """The trailing usage chunk of OpenAI-style streams: `choices` empty, except on
        OpenRouter, which repeats the finishing choice beside the usage."""
        if self.d.name == "openrouter":
            return {**self.finish(plan), "usage": self.usage(plan.counts)}
        return self.chunk([], usage=self.usage(plan.counts))

    def completion(self, reasoning: str, content: str, plan: Plan) -> Json:
        """A whole non-streamed `chat.completion` object."""
        message: Json = {"role": "assistant", "content": content}
        if not content and plan.tool_calls and self.d.openai_style:
            message["content"] = None
        if reasoning:
            message[self.d.reasoning_field] = reasoning
            if self.d.name == "openrouter":
                message["reasoning_details"] = [
                    {"type": "reasoning.text", "text": reasoning, "format": "unknown", "index": 0}
                ]
        if plan.tool_calls:
            message["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in plan.tool_calls
            ]
        choice = {"index": 0, "message": message, "finish_reason": plan.finish_reason}
        result = {
            **self._head("chat.completion"),
            "choices": [choice],
            "usage": self.usage(plan.counts),
        }
        if self.d.name == "llamacpp":
            result["timings"] = self._timings(plan.counts)
        return result
