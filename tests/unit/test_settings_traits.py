"""The `GLM` traits are the one list of settings: `Settings`, `resolve` and the flags follow it."""

from __future__ import annotations

import types
import typing
from dataclasses import fields
from typing import Any

import pytest
from traitlets.config import Config

from glm_jupyter.config.settings import GLM, SETTING_NAMES, Settings, resolve
from glm_jupyter.ipython.flags import glm, parse, to_request

from ..chunks import KEY

ENV = {"ZAI_API_KEY": KEY}
RESOLVED = {"api_key", "sources", "notes"}  # fields that are no trait of their own
TRAITS = GLM.class_traits(config=True)
HINTS = typing.get_type_hints(Settings)


def test_settings_has_a_field_for_every_trait_and_no_other() -> None:
    assert set(TRAITS) == SETTING_NAMES
    assert {f.name for f in fields(Settings)} - RESOLVED == SETTING_NAMES


def _allows(hint: Any, value: Any) -> bool:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return any(_allows(arm, value) for arm in typing.get_args(hint))
    if hint is type(None):
        return value is None
    return isinstance(value, typing.get_origin(hint) or hint)


@pytest.mark.parametrize("name", sorted(SETTING_NAMES - {"provider"}))
def test_each_trait_default_fits_its_field_type(name: str) -> None:
    assert _allows(HINTS[name], TRAITS[name].default()), (name, HINTS[name])


@pytest.mark.parametrize("name", sorted(SETTING_NAMES - {"provider", "model", "base_url"}))
def test_unset_settings_take_the_trait_default(name: str) -> None:
    s = resolve(GLM(), env=ENV)
    default = TRAITS[name].default()
    assert getattr(s, name) == (default if name != "persona" else "assistant")
    assert {row[0]: row[2] for row in s.describe()}[name] == "default"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_steps", 7),
        ("tool_output_chars", 99),
        ("renderer", "terminal"),
        ("extra_body", {"top_k": 3}),
        ("allow_auto", False),
    ],
)
def test_every_plain_trait_is_configurable_and_flaggable(name: str, value: Any) -> None:
    s = resolve(GLM(config=Config({"GLM": {name: value}})), env=ENV)
    assert getattr(s, name) == value
    assert s.sources[name] == f"config (GLM.{name})"
    s = resolve(GLM(), {name: value}, env=ENV)
    assert (getattr(s, name), s.sources[name]) == (value, "flag")


def test_describe_lists_the_settings_in_their_usual_order() -> None:
    names = [row[0] for row in resolve(GLM(), env=ENV).describe()]
    assert names == [
        "provider",
        "model",
        "base_url",
        "api_key",
        "thinking",
        "effort",
        "temperature",
        "max_tokens",
        "extra_body",
        "system",
        "persona",
        "preserve_thinking",
        "timeout",
        "max_retries",
        "retry_backoff",
        "update_interval",
        "renderer",
        "send_rows",
        "summary_tokens",
        "allow_agent",
        "allow_auto",
        "max_steps",
        "max_time",
        "max_cost",
        "context_window",
        "tool_timeout",
        "tool_output_chars",
        "completion_model",
        "completion_max_tokens",
    ]


def test_flags_named_after_a_setting_become_settings_overrides() -> None:
    line = (
        "-m glm-5 -p vllm --no-think --effort HIGH -t 0.2 --max-tokens 9 -s terse --tutor "
        "--no-rows --budget 300 --max-steps 4 --time 1h30m --max-cost 2.5 "
        "--json --new --cells 2 -o out"
    )
    request = to_request(parse(line), "hi")
    assert dict(request.flags) == {
        "model": "glm-5",
        "provider": "vllm",
        "thinking": False,
        "effort": "high",
        "temperature": 0.2,
        "max_tokens": 9,
        "system": "terse",
        "persona": "tutor",
        "send_rows": False,
        "summary_tokens": 300,
        "max_steps": 4,
        "max_time": "1h30m",
        "max_cost": 2.5,
    }
    dests = {action.dest for action in glm.parser._actions}
    assert set(to_request(parse(""), "hi").flags) == dests & SETTING_NAMES


def test_flags_left_unset_leave_the_settings_alone() -> None:
    request = to_request(parse(""), "hi")
    assert all(value is None for value in request.flags.values())
    s = resolve(GLM(config=Config({"GLM": {"max_steps": 5}})), request.flags, env=ENV)
    assert (s.max_steps, s.sources["max_steps"]) == (5, "config (GLM.max_steps)")
