"""Reply state and the MIME bundle: response JSON contract, Markdown panel, footer, TextBuffer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glm_jupyter.core.conversation import UsageLedger
from glm_jupyter.display.bundle import MIME_TYPE, VERSION, bundle, footer, markdown
from glm_jupyter.messages import (
    Event,
    Finish,
    ReasoningDelta,
    StreamFailure,
    StreamOpened,
    TextDelta,
    ToolCallDelta,
    Usage,
    UsageReport,
)
from glm_jupyter.reply import Reply, TextBuffer

from ..chunks import UNICODE_TEXT
from ..helpers import CONTRACT_KEYS

USAGE_KEYS = {"prompt_tokens", "completion_tokens", "cached_tokens", "reasoning_tokens"}
RECORDED_USAGE = Usage(
    prompt_tokens=173, completion_tokens=93, cached_tokens=172, reasoning_tokens=65
)


def make(*events: Event, model: str = "glm-5", provider: str = "zai") -> Reply:
    reply = Reply(model, provider)
    for event in events:
        reply.apply(event)
    return reply


def payload(reply: Reply) -> dict[str, Any]:
    data = bundle(reply)[MIME_TYPE]
    assert json.loads(json.dumps(data)) == data  # plain JSON all the way down
    return data


# --- the bundle ---------------------------------------------------------------------------------


def test_bundle_has_three_keys() -> None:
    out = bundle(make(StreamOpened(), TextDelta("Hi")))
    assert set(out) == {MIME_TYPE, "text/markdown", "text/plain"}
    assert MIME_TYPE == "application/vnd.glm.response+json"
    assert out["text/plain"] == "Hi"


def test_json_contract_while_streaming() -> None:
    data = payload(make(StreamOpened()))
    assert data.keys() >= CONTRACT_KEYS
    assert data["version"] == VERSION == 1
    assert (data["model"], data["provider"], data["status"]) == ("glm-5", "zai", "streaming")
    assert (data["reasoning"], data["content"], data["tool_calls"]) == ("", "", [])
    assert (data["usage"], data["cost_usd"], data["finish_reason"], data["error"]) == (
        None,
        None,
        None,
        None,
    )
    assert data["elapsed_s"] >= 0


def test_json_contract_when_done() -> None:
    reply = make(
        StreamOpened(),
        ReasoningDelta("Need the "),
        ReasoningDelta("weather."),
        TextDelta("I'll "),
        TextDelta("check."),
        ToolCallDelta(0, "call_1", "weather", ""),
        ToolCallDelta(0, arguments='{"location":'),
        ToolCallDelta(0, arguments='"Florence"}'),
        Finish("tool_calls"),
        UsageReport(RECORDED_USAGE),
    )
    reply.end("done")
    data = payload(reply)
    assert data.keys() >= CONTRACT_KEYS
    assert data["status"] == "done"
    assert data["reasoning"] == "Need the weather."
    assert data["content"] == "I'll check."
    assert data["tool_calls"] == [
        {
            "id": "call_1",
            "type": "function",
            "function": {"name": "weather", "arguments": '{"location":"Florence"}'},
        }
    ]
    assert set(data["usage"]) == USAGE_KEYS
    assert data["usage"] == {
        "prompt_tokens": 173,
        "completion_tokens": 93,
        "cached_tokens": 172,
        "reasoning_tokens": 65,
    }
    assert data["cost_usd"] == pytest.approx((1 * 1.00 + 172 * 0.20 + 93 * 3.20) / 1e6)
    assert data["finish_reason"] == "tool_calls"
    assert data["error"] is None
    assert data["elapsed_s"] >= 0
    assert data["simulator"] is False


def test_json_error_status() -> None:
    reply = make(StreamOpened(), TextDelta("partial"))
    reply.end("error", "Z.ai said [429, code 1302]: busy")
    data = payload(reply)
    assert (data["status"], data["error"], data["content"]) == (
        "error",
        "Z.ai said [429, code 1302]: busy",
        "partial",
    )
    assert "> **Error:** Z.ai said [429, code 1302]: busy" in bundle(reply)["text/markdown"]


def test_json_server_cost_wins() -> None:
    usage = Usage(prompt_tokens=14, completion_tokens=40, reasoning_tokens=24, cost_usd=0.000196)
    data = payload(make(UsageReport(usage), model="z-ai/glm-5.1", provider="openrouter"))
    assert data["cost_usd"] == 0.000196
    assert data["usage"] == {
        "prompt_tokens": 14,
        "completion_tokens": 40,
        "cached_tokens": 0,
        "reasoning_tokens": 24,
    }


def test_json_unknown_model_has_no_cost() -> None:
    assert payload(make(UsageReport(RECORDED_USAGE), model="mystery"))["cost_usd"] is None


def test_a_self_hosted_server_costs_nothing_and_an_unknown_one_is_unpriced() -> None:
    # GLM-4.7 is in the price list, but on one's own vLLM nobody charges for it.
    local = make(UsageReport(RECORDED_USAGE), model="zai-org/GLM-4.7", provider="vllm")
    assert payload(local)["cost_usd"] == 0.0
    assert "$0.0000" in footer(local)
    gateway = make(UsageReport(RECORDED_USAGE), model="glm-4.7", provider="openai-compatible")
    assert payload(gateway)["cost_usd"] is None
    assert payload(make(UsageReport(RECORDED_USAGE), model="glm-4.7"))["cost_usd"] > 0
    ledger = UsageLedger()
    ledger.add("zai-org/GLM-4.7", RECORDED_USAGE, "vllm")
    ledger.add("glm-4.7", RECORDED_USAGE, "openai-compatible")
    (local_totals, gateway_totals) = ledger.models.values()
    assert (local_totals.cost_usd, local_totals.cost_known) == (0.0, True)
    assert gateway_totals.cost_known is False


def test_simulator_flag() -> None:
    reply = make(StreamOpened(server="glm-sim"), TextDelta("x"))
    assert payload(reply)["simulator"] is True
    assert "zai (simulator)" in footer(reply)


def test_unicode_survives() -> None:
    reply = make(ReasoningDelta(UNICODE_TEXT), TextDelta(UNICODE_TEXT))
    out = bundle(reply)
    assert out[MIME_TYPE]["content"] == out[MIME_TYPE]["reasoning"] == UNICODE_TEXT
    assert out["text/plain"] == UNICODE_TEXT


# --- Markdown -----------------------------------------------------------------------------------


def test_waiting_line_before_anything() -> None:
    assert "*Waiting for the model…*" in bundle(make(StreamOpened()))["text/markdown"]
    assert "<details" not in bundle(make(StreamOpened()))["text/markdown"]


def test_details_open_while_only_reasoning() -> None:
    md = bundle(make(StreamOpened(), ReasoningDelta("Let me think.")))["text/markdown"]
    assert md.startswith("<details open>\n<summary>Thinking…")
    assert "Let me think." in md
    assert "Thought for" not in md
    assert "Waiting" not in md


def test_details_closed_with_thought_for_once_content_arrives() -> None:
    reply = make(StreamOpened(), ReasoningDelta("Let me think."), TextDelta("Answer."))
    reply.first_token_at, reply.answer_started_at = 100.0, 102.5  # deterministic timing
    md = bundle(reply)["text/markdown"]
    assert md.startswith("<details>\n<summary>Thought for 2.5 s</summary>")
    assert "<details open>" not in md
    assert md.index("Let me think.") < md.index("</details>") < md.index("Answer.")


def test_details_closed_when_stream_ends_without_content() -> None:
    reply = make(ReasoningDelta("thinking only"))
    reply.end("interrupted")
    md = bundle(reply)["text/markdown"]
    assert md.startswith("<details>\n<summary>Thinking</summary>")
    assert "*Interrupted" in md


def test_no_panel_without_reasoning() -> None:
    md = bundle(make(TextDelta("Just the answer.")))["text/markdown"]
    assert "<details" not in md
    assert md.startswith("Just the answer.\n\n")


def test_closing_tag_inside_reasoning_is_escaped() -> None:
    reasoning = "HTML uses <details>...</details> for this. </details><script>x</script>"
    reply = make(ReasoningDelta(reasoning), TextDelta("done"))
    md = bundle(reply)["text/markdown"]
    assert md.count("</details>") == 1  # only the panel's own
    assert "&lt;/details>" in md
    assert bundle(reply)[MIME_TYPE]["reasoning"] == reasoning  # the JSON keeps it exact
    # While thinking, too.
    assert bundle(make(ReasoningDelta(reasoning)))["text/markdown"].count("</details>") == 1


def test_closing_tag_escape_is_case_insensitive() -> None:
    md = bundle(make(ReasoningDelta("a </DETAILS> b"), TextDelta("done")))["text/markdown"]
    assert md.lower().count("</details>") == 1


def test_footer_with_cached_share_and_reasoning() -> None:
    reply = make(TextDelta("x"), UsageReport(RECORDED_USAGE))
    reply.end("done")
    # deterministic timing: 4.1 s in all, 93 tokens in the 3.1 s after the first one
    reply.started, reply.first_token_at, reply.ended_at = 100.0, 101.0, 104.1
    text = footer(reply)
    assert text == (
        "glm-5 · zai · 173 in (172 cached, 99%) · 93 out (65 reasoning) · $0.0003"
        " · 4.1 s · 30 tok/s"
    )
    assert footer(reply) in bundle(reply)["text/markdown"]
    assert bundle(reply)["text/markdown"].rstrip().endswith("</sub>")


def test_footer_without_cache_or_usage() -> None:
    text = footer(make(TextDelta("x"), UsageReport(Usage(1000, 10))))
    assert "1,000 in ·" in text
    assert "cached" not in text
    assert "10 out ·" in text
    assert " in " not in footer(make(TextDelta("x")))


def test_footer_large_cost_two_decimals() -> None:
    text = footer(make(UsageReport(Usage(prompt_tokens=2_000_000, completion_tokens=0))))
    assert "$2.00" in text


def test_notes_from_skipped_chunks_are_shown() -> None:
    reply = make(
        TextDelta("ok"), StreamFailure("malformed", "skipped a malformed chunk: {x", fatal=False)
    )
    assert reply.notes == ["skipped a malformed chunk: {x"]
    assert "*Note: skipped a malformed chunk: {x*" in markdown(reply, "ok", "")


# --- Reply bookkeeping --------------------------------------------------------------------------


def test_apply_reports_visible_changes() -> None:
    reply = Reply("glm-5", "zai")
    assert reply.apply(StreamOpened()) is False
    assert reply.apply(ReasoningDelta("r")) is True
    assert reply.apply(TextDelta("t")) is True
    assert reply.apply(ToolCallDelta(0, "c", "f", "{}")) is True
    assert reply.apply(Finish("stop")) is False
    assert reply.apply(UsageReport(Usage())) is False


def test_tool_call_without_id_gets_one() -> None:
    reply = make(ToolCallDelta(1, None, "f", "{}"), ToolCallDelta(0, "real", "g", ""))
    assert [(c.id, c.name) for c in reply.tool_calls] == [("real", "g"), ("call_1", "f")]


def test_a_tool_call_ends_the_thinking() -> None:
    reply = make(ReasoningDelta("I need the weather."), ToolCallDelta(0, "c1", "weather", "{}"))
    assert reply.thinking_seconds is not None  # "Thought for N s", though no text came
    assert reply.first_token_at is not None
    assert reply.answer_started_at is not None
    assert reply.first_token_at <= reply.answer_started_at
    assert payload(reply)["thinking_s"] is not None


def test_timestamps_in_order() -> None:
    reply = make(ReasoningDelta("r"), TextDelta("t"))
    assert reply.first_token_at is not None
    assert reply.answer_started_at is not None
    assert reply.started <= reply.first_token_at <= reply.answer_started_at
    assert reply.thinking_seconds is not None
    assert reply.thinking_seconds >= 0
    reply.end("done")
    assert reply.ended_at is not None
    assert reply.elapsed >= 0


# --- TextBuffer ---------------------------------------------------------------------------------


def test_text_buffer_many_appends() -> None:
    buffer = TextBuffer()
    assert not buffer
    assert buffer.text == ""
    pieces = [f"{i}:{UNICODE_TEXT}|" for i in range(5000)]
    for n, piece in enumerate(pieces, 1):
        buffer.append(piece)
        if n in (1, 511, 512, 513, 1024, 1500):
            assert buffer.text == "".join(pieces[:n])
    assert buffer
    assert buffer.text == "".join(pieces)
    assert buffer.text == "".join(pieces)  # reading twice changes nothing


def test_text_buffer_empty_pieces() -> None:
    buffer = TextBuffer()
    buffer.append("")
    assert buffer.text == ""
    buffer.append("a")
    assert buffer
    assert buffer.text == "a"


@settings(max_examples=100, deadline=None, database=None)
@given(st.lists(st.tuples(st.text(), st.booleans()), max_size=1500))
def test_text_buffer_exact(ops: list[tuple[str, bool]]) -> None:
    buffer, expected = TextBuffer(), ""
    for piece, read in ops:
        buffer.append(piece)
        expected += piece
        if read:
            assert buffer.text == expected
    assert buffer.text == expected
