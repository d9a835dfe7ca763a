"""Settings: the `GLM` traitlets class; resolution of flags > config > environment > defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from traitlets import Bool, CaselessStrEnum, Dict, Float, Int, Unicode
from traitlets.config import Configurable

from ..errors import ConfigurationError, MissingAPIKeyError
from ..redact import dataclass_repr, redact_url
from .catalog import EFFORTS, SUMMARY_TOKENS
from .keys import Secret, find_key
from .providers import DEFAULT_PROVIDER, PROVIDERS, Provider

PERSONAS = ("assistant", "tutor")


class GLM(Configurable):
    """glm-jupyter settings: `%config GLM.model = "glm-5"` or `c.GLM.model` in ipython_config.py."""

    provider = Unicode(
        "", help=f"Provider: {', '.join(PROVIDERS)}. Empty: GLM_PROVIDER, else {DEFAULT_PROVIDER}."
    ).tag(config=True)
    model = Unicode("", help="Model id. Empty: GLM_MODEL, else the provider's default.").tag(
        config=True
    )
    base_url = Unicode("", help="Server base URL. Empty: GLM_BASE_URL, else the provider's.").tag(
        config=True
    )
    thinking = Bool(
        None, allow_none=True, help="Thinking mode on/off. None: the server's default (on)."
    ).tag(config=True)
    effort = CaselessStrEnum(
        list(EFFORTS),
        None,
        allow_none=True,
        help="Reasoning effort: low, medium, high or max, sent the provider's way and fitted to "
        "the levels the model has. None: the model's default.",
    ).tag(config=True)
    temperature = Float(None, allow_none=True, help="Sampling temperature.").tag(config=True)
    max_tokens = Int(None, allow_none=True, help="Cap on output tokens.").tag(config=True)
    extra_body = Dict(
        help="More fields for every request body, for what a server takes beyond the common "
        "ones: llama.cpp's `grammar`, vLLM's `guided_json`, `top_k`, `min_p`."
    ).tag(config=True)
    system = Unicode("", help="System prompt for new conversations.").tag(config=True)
    persona = Unicode(
        "", help=f"Persona: {', '.join(PERSONAS)}. Empty: GLM_PERSONA, else assistant."
    ).tag(config=True)
    preserve_thinking = Bool(
        False, help="Send earlier turns' reasoning back (Z.ai preserved thinking)."
    ).tag(config=True)
    timeout = Float(300.0, help="Seconds to wait for the server to send anything.").tag(config=True)
    max_retries = Int(
        3, help="Retries for rate limits and server errors before output starts."
    ).tag(config=True)
    retry_backoff = Float(
        0.5, help="First retry delay in seconds; doubles each time, with jitter."
    ).tag(config=True)
    update_interval = Float(0.1, help="Seconds between display updates while streaming.").tag(
        config=True
    )
    send_rows = Bool(
        True,
        help="Send cell values (sample rows, top values, min/max); False: schema and stats only.",
    ).tag(config=True)
    summary_tokens = Int(
        SUMMARY_TOKENS,
        help="Token budget for each summarised object (left unset: grows with the model's "
        "window, to twice this for 1M-token windows).",
    ).tag(config=True)
    allow_agent = Bool(True, help="Allow agent mode (%%glm --agent).").tag(config=True)
    allow_auto = Bool(True, help="Allow --auto: agent tool calls without approval.").tag(
        config=True
    )
    max_steps = Int(20, help="Most tool-calling turns in one agent run (0: no limit).").tag(
        config=True
    )
    max_time = Unicode(
        "", help='Longest time one agent run may take: "2h", "90m", "45s" ("": no limit).'
    ).tag(config=True)
    max_cost = Float(
        0.0, help="Most USD one agent run may spend, at the catalog's prices (0: no limit)."
    ).tag(config=True)
    context_window = Int(
        0, help="The model's window in tokens, for models the catalog does not know (0: ask it)."
    ).tag(config=True)
    tool_timeout = Float(120.0, help="Seconds one run_python call may take.").tag(config=True)
    completion_model = Unicode(
        "", help="Model for inline completions (empty: the provider's fast one, else `model`)."
    ).tag(config=True)
    completion_max_tokens = Int(96, help="Longest inline completion, in tokens.").tag(config=True)
    tool_output_chars = Int(4000, help="Characters of tool output the model gets.").tag(config=True)
    renderer = CaselessStrEnum(
        ["auto", "display", "terminal"], "auto", help="How answers are shown."
    ).tag(config=True)


@dataclass(frozen=True)
class Settings:
    """The effective settings of one request, and where each came from.

    Every `GLM` trait is a field here, typed for callers; the defaults live on the traits
    (`resolve` reads each value off a `GLM` instance), and a test keeps the two name sets equal.
    The field order is the order `%glm config` lists them in.
    """

    provider: Provider
    model: str
    base_url: str
    api_key: Secret | None
    thinking: bool | None
    effort: str | None
    temperature: float | None
    max_tokens: int | None
    extra_body: Mapping[str, Any]
    system: str
    persona: str
    preserve_thinking: bool
    timeout: float
    max_retries: int
    retry_backoff: float
    update_interval: float
    renderer: str
    send_rows: bool
    summary_tokens: int
    allow_agent: bool
    allow_auto: bool
    max_steps: int
    max_time: str
    max_cost: float
    context_window: int
    tool_timeout: float
    tool_output_chars: int
    completion_model: str
    completion_max_tokens: int
    sources: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # said with the answer (e.g. a setting the course policy fixed)

    __repr__ = dataclass_repr  # the base URL's credentials stay out of logs and tracebacks

    def describe(self) -> list[tuple[str, str, str]]:
        """(name, value, source) rows for `%glm config`, the key and URL credentials hidden."""
        rows = []
        for name in [f.name for f in fields(self) if f.name not in ("sources", "notes")]:
            value: Any = getattr(self, name)
            if name == "provider":
                value = self.provider.name
            elif name == "api_key":
                value = "*** (set)" if value else "(none)"
            elif name == "base_url":
                value = redact_url(value)
            rows.append((name, str(value), self.sources.get(name, "default")))
        return rows


# Every setting a person can configure: the `GLM` traits. Magic flags whose argparse `dest` is
# one of these names override the setting of that name.
SETTING_NAMES: frozenset[str] = frozenset(GLM.class_trait_names(config=True))

# The settings that fall back to an environment variable, resolved one by one in `resolve`.
_ENV = {
    "provider": "GLM_PROVIDER",
    "model": "GLM_MODEL",
    "base_url": "GLM_BASE_URL",
    "persona": "GLM_PERSONA",
}
# The rest are copied as they are (the flag, else the trait's value), in `Settings`' order.
_PLAIN = tuple(f.name for f in fields(Settings) if f.name in SETTING_NAMES and f.name not in _ENV)


def _configured(config: GLM, name: str) -> bool:
    """Set through traitlets config (`c.GLM.x` or `%config GLM.x`), not left at its default."""
    return name in config.config.get("GLM", {})


class _Sources:
    """One resolution's values in precedence order, noting where each came from."""

    def __init__(self, config: GLM, flags: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self.config, self.flags, self.env = config, flags, env
        self.found: dict[str, str] = {}

    def pick(self, name: str) -> str:
        """A setting that falls back to its environment variable (see `_ENV`)."""
        if name in self.flags:
            self.found[name] = "flag"
            return str(self.flags[name])
        value = getattr(self.config, name)
        if value:
            self.found[name] = f"config (GLM.{name})"
            return str(value)
        if self.env.get(_ENV[name], "").strip():
            self.found[name] = f"env ({_ENV[name]})"
            return self.env[_ENV[name]].strip()
        return ""

    def plain(self) -> dict[str, Any]:
        """The settings copied as they are: the flag, else the trait's value."""
        values: dict[str, Any] = {}
        for name in _PLAIN:
            if name in self.flags:
                values[name], self.found[name] = self.flags[name], "flag"
            else:
                values[name] = getattr(self.config, name)
                if _configured(self.config, name):
                    self.found[name] = f"config (GLM.{name})"
        return values


def resolve(
    config: GLM, flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Apply the precedence: magic flags, then `GLM` config, then environment, then defaults."""
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    env = os.environ if env is None else env
    given = _Sources(config, flags, env)
    provider_name = (given.pick("provider") or DEFAULT_PROVIDER).lower()
    provider = PROVIDERS.get(provider_name)
    if provider is None:
        raise ConfigurationError(
            f"Unknown provider {provider_name!r}. Choose one of: {', '.join(PROVIDERS)}."
        )
    base_url = _base_url(provider, given)
    model = given.pick("model") or provider.default_model
    given.found.setdefault("model", f"default ({provider.name})")
    persona = (given.pick("persona") or "assistant").lower()
    given.found.setdefault("persona", "default")
    if persona not in PERSONAS:
        raise ConfigurationError(
            f"Unknown persona {persona!r} (from {given.found['persona']}). Choose one of: "
            f"{', '.join(PERSONAS)}."
        )
    key = _key(provider, given)
    values = given.plain()
    temperature = values["temperature"]
    if provider.thinking_control == "zai" and temperature is not None and not 0 <= temperature <= 1:
        raise ConfigurationError(
            f"{provider.label} takes a temperature from 0 to 1; {temperature} was given."
        )
    return Settings(
        provider=provider,
        model=model,
        base_url=base_url,
        api_key=key,
        persona=persona,
        sources=given.found,
        **values,
    )


def _base_url(provider: Provider, given: _Sources) -> str:
    base_url = given.pick("base_url")
    found = given.found
    # GLM_BASE_URL belongs with GLM_PROVIDER: a provider chosen by flag or config elsewhere
    # should not be sent to the environment's server (unless it has no server of its own).
    if (
        provider.base_url
        and found.get("base_url", "").startswith("env")
        and not found.get("provider", "env").startswith("env")
        and provider.name != given.env.get("GLM_PROVIDER", "").strip().lower()
    ):
        base_url, found["base_url"] = "", "default"
    if not base_url:
        base_url = provider.base_url
        found["base_url"] = f"default ({provider.name})"
    if not base_url:
        raise ConfigurationError(
            f"Provider {provider.name!r} needs a base URL: set GLM_BASE_URL, or "
            "%config GLM.base_url = 'http://host:port/v1'."
        )
    return base_url


def _key(provider: Provider, given: _Sources) -> Secret | None:
    key, key_source = find_key(provider, given.env)
    if key is None and not provider.local:
        raise MissingAPIKeyError(
            f"No API key for {provider.label}: set {provider.key_env} (or GLM_API_KEY) in the "
            "environment Jupyter starts from, then restart the kernel. Keys are never read from "
            "notebook cells, so they cannot end up saved in one."
        )
    given.found["api_key"] = f"env ({key_source})" if key_source else "none needed"
    return key
