"""Settings resolution (flags > config > environment > provider defaults), providers, catalog."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from glm_jupyter.config import catalog
from glm_jupyter.config.providers import DEFAULT_PROVIDER, PROVIDERS
from glm_jupyter.config.settings import GLM, Settings, resolve
from glm_jupyter.errors import ConfigurationError, MissingAPIKeyError
from glm_jupyter.messages import Usage

from ..chunks import KEY

ENV = {"ZAI_API_KEY": KEY}
LOCAL = ["vllm", "sglang", "ollama", "llamacpp"]


def glm(**values: object) -> GLM:
    return GLM(config=Config({"GLM": values}))


def rows(settings: Settings) -> dict[str, tuple[str, str]]:
    return {name: (value, source) for name, value, source in settings.describe()}


# --- defaults -----------------------------------------------------------------------------------


def test_defaults() -> None:
    s = resolve(GLM(), env=ENV)
    assert DEFAULT_PROVIDER == "zai"
    assert s.provider is PROVIDERS["zai"]
    assert s.model == "glm-5.3"
    assert s.base_url == "https://api.z.ai/api/paas/v4"
    assert s.api_key is not None
    assert s.api_key.reveal() == KEY
    assert (s.thinking, s.temperature, s.max_tokens) == (None, None, None)
    assert s.preserve_thinking is False
    assert (s.timeout, s.max_retries, s.retry_backoff) == (300.0, 3, 0.5)
    assert s.sources["base_url"] == "default (zai)"
    assert s.sources["model"] == "default (zai)"
    assert s.sources["api_key"] == "env (ZAI_API_KEY)"


@pytest.mark.parametrize("name", sorted(PROVIDERS))
def test_provider_defaults(name: str) -> None:
    provider = PROVIDERS[name]
    env = {"GLM_PROVIDER": name}
    if not provider.base_url:
        env["GLM_BASE_URL"] = "http://host:1234/v1"
    if provider.key_env:
        env[provider.key_env] = KEY
    s = resolve(GLM(), env=env)
    assert s.provider is provider
    assert s.model == provider.default_model
    assert s.base_url == (provider.base_url or "http://host:1234/v1")


def test_os_environ_is_the_default_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("GLM_PROVIDER", "GLM_MODEL", "GLM_BASE_URL", "GLM_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("ZAI_API_KEY", KEY)
    monkeypatch.setenv("GLM_MODEL", "glm-4.7")
    s = resolve(GLM())
    assert s.model == "glm-4.7"
    assert s.sources["model"] == "env (GLM_MODEL)"


# --- precedence ---------------------------------------------------------------------------------


def test_flag_beats_config_beats_env_beats_default_for_model() -> None:
    env = {**ENV, "GLM_MODEL": "glm-4.6"}
    assert resolve(GLM(), env=ENV).model == "glm-5.3"
    assert resolve(GLM(), env=env).model == "glm-4.6"
    assert resolve(glm(model="glm-4.7"), env=env).model == "glm-4.7"
    s = resolve(glm(model="glm-4.7"), {"model": "glm-5"}, env=env)
    assert s.model == "glm-5"
    assert s.sources["model"] == "flag"


def test_sources_name_each_layer() -> None:
    env = {**ENV, "GLM_MODEL": "glm-4.6"}
    assert resolve(GLM(), env=env).sources["model"] == "env (GLM_MODEL)"
    assert resolve(glm(model="glm-4.7"), env=env).sources["model"] == "config (GLM.model)"


def test_attribute_set_config_counts_as_config() -> None:
    config = GLM()
    config.model = "glm-4.5-air"
    config.provider = "openrouter"
    s = resolve(
        config, env={"OPENROUTER_API_KEY": KEY, "GLM_MODEL": "glm-4.6", "GLM_PROVIDER": "zai"}
    )
    assert (s.provider.name, s.model) == ("openrouter", "glm-4.5-air")
    config.temperature = 0.2
    assert resolve(config, env={"OPENROUTER_API_KEY": KEY}).temperature == 0.2


def test_provider_precedence() -> None:
    env = {**ENV, "OPENROUTER_API_KEY": KEY, "GLM_PROVIDER": "openrouter"}
    assert resolve(GLM(), env=env).provider.name == "openrouter"
    assert resolve(glm(provider="ollama"), env=env).provider.name == "ollama"
    assert resolve(glm(provider="ollama"), {"provider": "zai"}, env=env).provider.name == "zai"


def test_provider_name_is_case_insensitive() -> None:
    assert (
        resolve(GLM(), {"provider": "OpenRouter"}, env={"OPENROUTER_API_KEY": KEY}).provider
        is PROVIDERS["openrouter"]
    )


def test_plain_values_flag_beats_config() -> None:
    config = glm(temperature=0.3, max_tokens=100, thinking=True, system="cfg")
    s = resolve(config, env=ENV)
    assert (s.temperature, s.max_tokens, s.thinking, s.system) == (0.3, 100, True, "cfg")
    assert s.sources["temperature"] == "config (GLM.temperature)"
    s = resolve(config, {"temperature": 0.9, "max_tokens": 5, "thinking": False}, env=ENV)
    assert (s.temperature, s.max_tokens, s.thinking, s.system) == (0.9, 5, False, "cfg")
    assert s.sources["thinking"] == "flag"


def test_none_flags_are_ignored() -> None:
    s = resolve(
        glm(model="glm-4.7", temperature=0.3), {"model": None, "temperature": None}, env=ENV
    )
    assert (s.model, s.temperature) == ("glm-4.7", 0.3)


def test_env_base_url_used_with_env_provider() -> None:
    env = {"GLM_PROVIDER": "vllm", "GLM_BASE_URL": "http://gpu-box:8000/v1"}
    s = resolve(GLM(), env=env)
    assert s.base_url == "http://gpu-box:8000/v1"
    assert s.sources["base_url"] == "env (GLM_BASE_URL)"
    # The same provider picked by flag keeps the environment's server.
    assert resolve(GLM(), {"provider": "vllm"}, env=env).base_url == "http://gpu-box:8000/v1"


def test_env_base_url_used_with_default_provider() -> None:
    s = resolve(GLM(), env={**ENV, "GLM_BASE_URL": "https://proxy.example/v4"})
    assert s.base_url == "https://proxy.example/v4"


def test_env_base_url_ignored_when_flag_picks_another_provider() -> None:
    env = {"GLM_PROVIDER": "vllm", "GLM_BASE_URL": "http://gpu-box:8000/v1", **ENV}
    s = resolve(GLM(), {"provider": "zai"}, env=env)
    assert s.provider.name == "zai"
    assert s.base_url == "https://api.z.ai/api/paas/v4"
    assert s.sources["base_url"] == "default (zai)"
    s = resolve(GLM(), {"provider": "ollama"}, env=env)
    assert s.base_url == "http://localhost:11434/v1"


def test_env_base_url_ignored_when_config_picks_another_provider() -> None:
    env = {"GLM_PROVIDER": "vllm", "GLM_BASE_URL": "http://gpu-box:8000/v1"}
    assert resolve(glm(provider="sglang"), env=env).base_url == "http://localhost:30000/v1"


def test_base_url_flag_and_config_beat_env() -> None:
    env = {"GLM_PROVIDER": "vllm", "GLM_BASE_URL": "http://env:1/v1"}
    assert resolve(glm(base_url="http://cfg:2/v1"), env=env).base_url == "http://cfg:2/v1"
    s = resolve(glm(base_url="http://cfg:2/v1"), {"base_url": "http://flag:3/v1"}, env=env)
    assert s.base_url == "http://flag:3/v1"
    # A base URL given by flag is kept even with a different provider flag.
    s = resolve(GLM(), {"provider": "ollama", "base_url": "http://flag:3/v1"}, env=env)
    assert s.base_url == "http://flag:3/v1"


def test_env_base_url_kept_for_provider_without_its_own() -> None:
    env = {"GLM_BASE_URL": "http://my-server:9000/v1"}
    s = resolve(GLM(), {"provider": "openai-compatible"}, env=env)
    assert s.base_url == "http://my-server:9000/v1"


# --- errors -------------------------------------------------------------------------------------


def test_unknown_provider_lists_providers() -> None:
    with pytest.raises(ConfigurationError) as info:
        resolve(GLM(), {"provider": "anthropic"}, env=ENV)
    message = str(info.value)
    assert "'anthropic'" in message
    for name in PROVIDERS:
        assert name in message


def test_unknown_provider_from_env() -> None:
    with pytest.raises(ConfigurationError, match="nope"):
        resolve(GLM(), env={**ENV, "GLM_PROVIDER": "nope"})


@pytest.mark.parametrize(
    ("provider", "variable"),
    [
        ("zai", "ZAI_API_KEY"),
        ("zai-coding", "ZAI_API_KEY"),
        ("bigmodel", "ZHIPUAI_API_KEY"),
        ("bigmodel-coding", "ZHIPUAI_API_KEY"),
        ("openrouter", "OPENROUTER_API_KEY"),
        ("oxen", "OXEN_API_KEY"),
    ],
)
def test_missing_key_names_the_variable(provider: str, variable: str) -> None:
    with pytest.raises(MissingAPIKeyError) as info:
        resolve(GLM(), {"provider": provider}, env={"OTHER_API_KEY": KEY})
    assert variable in str(info.value)
    assert "GLM_API_KEY" in str(info.value)
    assert isinstance(info.value, ConfigurationError)


def test_blank_key_is_missing() -> None:
    with pytest.raises(MissingAPIKeyError):
        resolve(GLM(), env={"ZAI_API_KEY": "   "})


def test_key_from_other_region_is_not_used() -> None:
    with pytest.raises(MissingAPIKeyError, match="ZHIPUAI_API_KEY"):
        resolve(GLM(), {"provider": "bigmodel"}, env=ENV)


def test_glm_api_key_wins_and_is_stripped() -> None:
    s = resolve(GLM(), env={"GLM_API_KEY": f"  {KEY}\n", "ZAI_API_KEY": "other"})
    assert s.api_key is not None
    assert s.api_key.reveal() == KEY
    assert s.sources["api_key"] == "env (GLM_API_KEY)"


@pytest.mark.parametrize("provider", LOCAL)
def test_local_providers_need_no_key(provider: str) -> None:
    s = resolve(GLM(), {"provider": provider}, env={})
    assert s.api_key is None
    assert s.sources["api_key"] == "none needed"
    assert rows(s)["api_key"] == ("(none)", "none needed")


def test_local_provider_uses_glm_api_key_when_set() -> None:
    s = resolve(GLM(), {"provider": "vllm"}, env={"GLM_API_KEY": KEY})
    assert s.api_key is not None
    assert s.api_key.reveal() == KEY


def test_provider_without_base_url_needs_one() -> None:
    with pytest.raises(ConfigurationError, match="GLM_BASE_URL"):
        resolve(GLM(), {"provider": "openai-compatible"}, env={})
    s = resolve(glm(provider="openai-compatible", base_url="http://h:1/v1"), env={})
    assert s.base_url == "http://h:1/v1"


@pytest.mark.parametrize("temperature", [-0.1, 1.01, 2.0])
@pytest.mark.parametrize("provider", ["zai", "bigmodel", "zai-coding"])
def test_temperature_outside_unit_interval_rejected_for_zai(
    provider: str, temperature: float
) -> None:
    env = {"GLM_API_KEY": KEY}
    with pytest.raises(ConfigurationError, match="temperature"):
        resolve(GLM(), {"provider": provider, "temperature": temperature}, env=env)
    with pytest.raises(ConfigurationError, match="temperature"):
        resolve(glm(provider=provider, temperature=temperature), env=env)


@pytest.mark.parametrize("temperature", [0.0, 0.6, 1.0])
def test_temperature_inside_unit_interval_accepted(temperature: float) -> None:
    assert resolve(GLM(), {"temperature": temperature}, env=ENV).temperature == temperature


@pytest.mark.parametrize("provider", ["openrouter", "vllm", "ollama"])
def test_temperature_above_one_accepted_elsewhere(provider: str) -> None:
    s = resolve(GLM(), {"provider": provider, "temperature": 1.5}, env={"GLM_API_KEY": KEY})
    assert s.temperature == 1.5


# --- the key never shows ------------------------------------------------------------------------


def test_describe_never_shows_the_key() -> None:
    s = resolve(GLM(), env=ENV)
    table = rows(s)
    assert table["api_key"] == ("*** (set)", "env (ZAI_API_KEY)")
    assert KEY not in repr(s.describe())
    assert KEY not in repr(s)
    assert KEY not in str(s)
    assert [name for name, _, _ in s.describe()][:4] == ["provider", "model", "base_url", "api_key"]
    assert table["provider"] == ("zai", "default")


def test_describe_reports_sources() -> None:
    env = {"GLM_PROVIDER": "vllm", "GLM_MODEL": "m"}
    table = rows(resolve(glm(temperature=0.5), {"max_tokens": 10}, env=env))
    assert table["provider"] == ("vllm", "env (GLM_PROVIDER)")
    assert table["model"] == ("m", "env (GLM_MODEL)")
    assert table["temperature"] == ("0.5", "config (GLM.temperature)")
    assert table["max_tokens"] == ("10", "flag")
    assert table["timeout"] == ("300.0", "default")


# --- providers and catalog ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "model", "wire"),
    [
        ("openrouter", "glm-5", "z-ai/glm-5"),
        ("openrouter", "z-ai/glm-5", "z-ai/glm-5"),
        ("openrouter", "other/model", "other/model"),
        ("oxen", "glm-5", "zai-org-glm-5"),
        ("oxen", "zai-org-glm-5", "zai-org-glm-5"),
        ("zai", "glm-5", "glm-5"),
    ],
)
def test_model_id(provider: str, model: str, wire: str) -> None:
    assert PROVIDERS[provider].model_id(model) == wire


def test_local_flag() -> None:
    assert {n for n, p in PROVIDERS.items() if p.local} == {*LOCAL, "openai-compatible"}


@pytest.mark.parametrize(
    ("model", "name"),
    [
        ("glm-5", "glm-5"),
        ("z-ai/glm-5", "glm-5"),
        ("zai-org-glm-5", "glm-5"),
        ("z-ai/glm-5.1", "glm-5.1"),
        ("zai-org/GLM-4.7-Flash", "glm-4.7-flash"),
        ("GLM-5.1-FP8", "glm-5.1"),
        ("glm-4.7-flash:latest", "glm-4.7-flash"),
    ],
)
def test_catalog_lookup(model: str, name: str) -> None:
    info = catalog.lookup(model)
    assert info is not None
    assert info.name == name


def test_catalog_lookup_unknown() -> None:
    assert catalog.lookup("gpt-4o") is None
    assert catalog.lookup("") is None


def test_catalog_table_matches_protocol() -> None:
    assert catalog.MODELS["glm-5.1"].input_price == 1.40
    assert catalog.MODELS["glm-5.1"].cached_price == 0.26
    assert catalog.MODELS["glm-5.1"].output_price == 4.40
    assert catalog.MODELS["glm-5"].context == 200_000
    assert catalog.MODELS["glm-4.5"].context == 128_000
    assert catalog.MODELS["glm-4.7-flash"].output_price == 0.0


def test_catalog_cost() -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000, cached_tokens=250_000)
    # glm-5: 750k uncached * 1.00 + 250k cached * 0.20 + 1M out * 3.20
    assert catalog.cost("glm-5", usage) == pytest.approx(0.75 + 0.05 + 3.20)
    assert catalog.cost("z-ai/glm-5", usage) == pytest.approx(4.0)
    assert catalog.cost("zai-org-glm-5", usage) == pytest.approx(4.0)
    recorded = Usage(
        prompt_tokens=173, completion_tokens=93, cached_tokens=172, reasoning_tokens=65
    )
    assert catalog.cost("glm-4.7", recorded) == pytest.approx(
        (1 * 0.60 + 172 * 0.11 + 93 * 2.20) / 1e6
    )
    assert catalog.cost("glm-4.7-flash", recorded) == 0.0
    assert catalog.cost("unknown-model", recorded) is None


def test_catalog_cost_never_negative_when_cached_exceeds_prompt() -> None:
    assert catalog.cost("glm-5", Usage(prompt_tokens=10, cached_tokens=20)) == pytest.approx(
        20 * 0.20 / 1e6
    )


def test_server_cost_overrides_catalog() -> None:
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=1_000_000, cost_usd=0.000196)
    assert catalog.cost("z-ai/glm-5.1", usage) == 0.000196
    assert catalog.cost("some-unknown-router-model", usage) == 0.000196
    assert catalog.cost("glm-5", Usage(cost_usd=0.0)) == 0.0
