"""The response and step payloads against their JSON Schemas, built from real replies and steps."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource

from glm_jupyter import schemas
from glm_jupyter.display.bundle import MIME_TYPE, bundle
from glm_jupyter.display.step import STEP_MIME, Step
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
from glm_jupyter.reply import Reply
from glm_jupyter.schemas import RUN_MIME

from .. import make_payload_fixtures
from ..helpers import CONTRACT_KEYS

USAGE = Usage(prompt_tokens=173, completion_tokens=93, cached_tokens=172, reasoning_tokens=65)
CONTEXT = [{"name": "prices", "tokens": 12, "brief": "prices: list (len 3)"}]
APPROVALS = ["pending", "approved", "rejected", "approved all", "auto", "read-only", "not asked"]
STEP_STATUSES = ["waiting", "running", "done", "error", "rejected", "interrupted"]


def _validator(name: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in map(schemas.load, schemas.NAMES)
    )
    return Draft202012Validator(schemas.load(name), registry=registry)


RESPONSE = _validator("response")
STEP = _validator("step")
RUN = _validator("run")


def _reply(*events: Event, model: str = "glm-5", provider: str = "zai") -> Reply:
    reply = Reply(model, provider)
    for event in events:
        reply.apply(event)
    return reply


def _payload(reply: Reply) -> dict[str, Any]:
    data = bundle(reply)[MIME_TYPE]
    return json.loads(json.dumps(data))  # type: ignore[no-any-return]


def _errors(validator: Draft202012Validator, payload: Any) -> list[str]:
    """Every error's message, with those inside anyOf branches."""
    found: list[str] = []
    pending = list(validator.iter_errors(payload))
    while pending:
        error = pending.pop(0)
        found.append(error.message)
        pending += error.context or []
    return found


# --- the schemas themselves ---------------------------------------------------------------------


@pytest.mark.parametrize("name", schemas.NAMES)
def test_schema_is_valid_draft_2020_12(name: str) -> None:
    schema = schemas.load(name)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)
    assert schemas.load(name) is not schema  # each call a fresh dict


def test_unknown_schema_name() -> None:
    with pytest.raises(ValueError, match="no schema named 'reply'"):
        schemas.load("reply")


def test_mime_types_name_the_schemas() -> None:
    assert schemas.MIME_SCHEMAS == {MIME_TYPE: "response", STEP_MIME: "step", RUN_MIME: "run"}


def test_schema_required_keys_cover_the_contract() -> None:
    schema = schemas.load("response")
    assert set(schema["required"]) >= CONTRACT_KEYS
    assert set(schema["required"]) <= set(schema["properties"])
    assert schema["properties"]["status"]["enum"] == ["streaming", "done", "interrupted", "error"]
    usage = schema["$defs"]["usage"]
    assert set(usage["required"]) == set(Usage().as_dict()) == set(usage["properties"])


# --- real replies -------------------------------------------------------------------------------


def _streaming_empty() -> Reply:
    return _reply(StreamOpened())


def _streaming_thinking() -> Reply:
    return _reply(StreamOpened("glm-simulator"), ReasoningDelta("Need the "), ReasoningDelta("wea"))


def _streaming_partial_tool_call() -> Reply:
    return _reply(
        StreamOpened(),
        ReasoningDelta("Run it."),
        ToolCallDelta(0, "call_1", "run_python", ""),
        ToolCallDelta(0, arguments='{"code": "print(1'),
    )


def _done_with_everything() -> Reply:
    reply = _reply(
        StreamOpened("glm-simulator"),
        ReasoningDelta("Need the weather."),
        TextDelta("I'll check."),
        ToolCallDelta(0, "call_1", "weather", '{"location":'),
        ToolCallDelta(0, arguments='"Florence"}'),
        ToolCallDelta(1, None, "clock", "{}"),
        Finish("tool_calls"),
        UsageReport(USAGE),
    )
    reply.context = list(CONTEXT)
    reply.end("done")
    return reply


def _done_unknown_model() -> Reply:
    reply = _reply(TextDelta("Hi"), Finish("stop"), UsageReport(Usage(5, 2)), model="my-local")
    reply.end("done")
    return reply


def _error() -> Reply:
    reply = _reply(StreamOpened(), TextDelta("Half an ans"))
    reply.end("error", "The stream was cut off (key sk-TESTKEY-4f2a9c81d6e3b750aa19)")
    return reply


def _error_with_a_skipped_chunk() -> Reply:
    reply = _reply(StreamOpened(), StreamFailure("bad_chunk", "malformed chunk", fatal=False))
    reply.end("error", "HTTP 500")
    return reply


def _interrupted() -> Reply:
    reply = _reply(StreamOpened(), ReasoningDelta("Hmm"), TextDelta("The answer is"))
    reply.end("interrupted")
    return reply


def _agent_with_steps() -> Reply:
    reply = _reply(StreamOpened(), TextDelta("The mean is 20."), Finish("stop"), UsageReport(USAGE))
    steps = [
        Step(1, "list_variables", "{}", "First?", "read-only", "prices: list", 0.01, "done"),
        Step(2, "run_python", '{"code": "1/0"}', "", "auto", "ZeroDivisionError", 0.2, "error"),
    ]
    reply.steps = [s.as_dict() for s in steps]
    reply.compactions = [
        {
            "step": 2,
            "kind": "shrink",
            "tokens_before": 9000,
            "tokens_after": 5000,
            "shrunk_results": 3,
            "folded_steps": 0,
            "window": 10000,
        }
    ]
    reply.end("done")
    return reply


REPLIES = {
    "streaming-empty": _streaming_empty,
    "streaming-thinking": _streaming_thinking,
    "streaming-partial-tool-call": _streaming_partial_tool_call,
    "done-with-everything": _done_with_everything,
    "done-unknown-model": _done_unknown_model,
    "error": _error,
    "error-with-a-skipped-chunk": _error_with_a_skipped_chunk,
    "interrupted": _interrupted,
    "agent-with-steps": _agent_with_steps,
}


@pytest.mark.parametrize("make", REPLIES.values(), ids=REPLIES.keys())
def test_reply_payload_validates(make: Any) -> None:
    reply = make()
    data = _payload(reply)
    assert _errors(RESPONSE, data) == []
    assert data["status"] == reply.status


def _fallback_update() -> dict[str, Any]:
    """A streaming update without the delta channel: the stream's name, the reasoning's tail."""
    reply = _reply(StreamOpened(), ReasoningDelta("line one\n" * 50), TextDelta("So"))
    data = bundle(reply, stream_id="0f" * 16, reasoning_from=100)[MIME_TYPE]
    return json.loads(json.dumps(data))  # type: ignore[no-any-return]


def test_a_fallback_update_validates() -> None:
    data = _fallback_update()
    assert _errors(RESPONSE, data) == []
    assert data["reasoning_omitted"] == 100
    assert data["reasoning"] == ("line one\n" * 50)[100:]


def test_every_declared_property_is_written() -> None:
    written = set(_payload(_agent_with_steps())) | set(_fallback_update())
    assert written == set(schemas.load("response")["properties"])


@pytest.mark.parametrize("status", STEP_STATUSES)
@pytest.mark.parametrize("approval", [*APPROVALS, "not given"])
def test_step_payload_validates(approval: str, status: str) -> None:
    step = Step(3, "run_python", '{"code": "1 +', "why", approval, "result: 2", 1.23456, status)
    data = json.loads(json.dumps(step.as_dict()))
    assert _errors(STEP, data) == []


def test_default_step_validates() -> None:
    assert _errors(STEP, Step(1, "describe", "", "").as_dict()) == []


# --- what the schemas refuse --------------------------------------------------------------------


def _done() -> dict[str, Any]:
    return _payload(_done_with_everything())


def test_payload_without_status_fails() -> None:
    data = _done()
    del data["status"]
    with pytest.raises(ValidationError, match="'status' is a required property"):
        RESPONSE.validate(data)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"status": "finished"}, "is not one of"),
        ({"version": 2}, "was expected"),
        ({"usage": {"prompt_tokens": 1, "completion_tokens": 2}}, "'cached_tokens' is a required"),
        ({"usage": {**USAGE.as_dict(), "prompt_tokens": -1}}, "less than the minimum"),
        ({"tool_calls": [{"id": "c", "type": "function", "function": {"name": "f"}}]}, "arguments"),
        ({"elapsed_s": "2 s"}, "is not of type 'number'"),
        ({"surprise": True}, "Additional properties"),
        ({"steps": [{"index": 1}]}, "'tool' is a required property"),
        ({"context": [{"name": "df", "tokens": 1.5, "brief": ""}]}, "is not of type 'integer'"),
    ],
)
def test_bad_payloads_fail(change: dict[str, Any], message: str) -> None:
    data = {**_done(), **change}
    assert any(message in e for e in _errors(RESPONSE, data)), _errors(RESPONSE, data)


def test_step_without_status_fails() -> None:
    data = Step(1, "describe", "{}", "").as_dict()
    del data["status"]
    with pytest.raises(ValidationError, match="'status' is a required property"):
        STEP.validate(data)
    assert _errors(STEP, {**Step(1, "t", "", "").as_dict(), "approval": "maybe"})


# --- the payloads of real runs, and the fixtures the vitest suite reads -------------------------


def _fixtures() -> dict[str, dict[str, Any]]:
    paths = sorted(make_payload_fixtures.FIXTURES.glob("*.json"))
    return {p.stem: json.loads(p.read_text("utf-8")) for p in paths}


def _schema_of(name: str) -> Draft202012Validator:
    return {"response": RESPONSE, "step": STEP, "run": RUN}[name.split("-")[0]]


def test_committed_fixtures_validate() -> None:
    fixtures = _fixtures()
    prefixes = {name.split("-")[0] for name in fixtures}
    assert prefixes == {"response", "step", "run"}, (
        "python -m tests.make_payload_fixtures writes them"
    )
    for name, payload in fixtures.items():
        assert _errors(_schema_of(name), payload) == [], name
    statuses = {p["status"] for n, p in fixtures.items() if n.startswith("response-")}
    assert statuses == {"streaming", "done", "interrupted", "error"}


def test_simulator_payloads_validate_and_match_the_fixtures(shell: Any, simulator: Any) -> None:
    fresh = make_payload_fixtures.collect(shell, simulator)
    for name, payload in fresh.items():
        assert _errors(_schema_of(name), json.loads(json.dumps(payload))) == [], name
    committed = _fixtures()
    # Timings and ids differ from run to run; the fixtures' names and keys must not.
    stale = "labextension/test/fixtures is stale: python -m tests.make_payload_fixtures"
    assert set(committed) == set(fresh), stale
    for name, payload in fresh.items():
        assert set(committed[name]) == set(payload), f"{name}: {stale}"


def test_fixture_writer_replaces_the_folder(tmp_path: Path) -> None:
    (tmp_path / "response-gone.json").write_text("{}")
    step = Step(1, "describe", "{}", "").as_dict()
    written = make_payload_fixtures.write({"step-one": step}, tmp_path)
    assert written == [tmp_path / "step-one.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-one.json"]
    assert json.loads(written[0].read_text("utf-8")) == step
