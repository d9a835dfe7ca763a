"""Where GLM models are served, how each server switches thinking and returns reasoning."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

ThinkingControl = Literal["zai", "chat_template", "reasoning_effort", "openrouter", "none"]
ReasoningBack = Literal["reasoning_content", "reasoning", "reasoning_details"]
ThinkTags = Literal["off", "leading", "untagged"]
# How a response is priced: the model catalog's prices (hosted APIs), nothing (a server of one's
# own), or not known (any OpenAI-compatible server: one's own, or a paid gateway).
Pricing = Literal["catalog", "free", "unknown"]


@dataclass(frozen=True, slots=True)
class Provider:
    """One row of the provider table."""

    name: str
    label: str
    base_url: str
    key_env: str | None  # None: a local server that needs no key
    default_model: str
    thinking_control: ThinkingControl
    reasoning_field: str  # where the server puts reasoning in a delta (the parser reads them all)
    reasoning_back: ReasoningBack  # the field an assistant message carries its reasoning back in
    tool_stream: bool = False  # supports `tool_stream: true`
    usage_option: bool = False  # needs `stream_options.include_usage` to report usage
    tool_choice: bool = True
    # `<think>` handling in content: off (never there), leading (a leading block is split off),
    # untagged (with thinking on the opening tag may be missing: text before `</think>` is
    # reasoning)
    think_tags: ThinkTags = "off"
    model_prefix: str = ""  # how this provider spells GLM model ids
    dashed_versions: bool = False  # spells `glm-5.3` as `glm-5-3` (Oxen.ai: `zai-org-glm-5-3`)
    pricing: Pricing = "catalog"
    # The fast model inline completions use by default ("": the model the settings name, as
    # on a local server, which serves one).
    fast_model: str = ""
    # Where else the key may be, after `key_env` (a Hub-spawned kernel's own Hub token).
    key_fallback: str | None = None

    @property
    def local(self) -> bool:
        """True for servers that need no key."""
        return self.key_env is None

    def model_id(self, model: str) -> str:
        """The model id as this provider spells it (`glm-5` -> `z-ai/glm-5` on OpenRouter)."""
        if not self.model_prefix or "/" in model or model.startswith(self.model_prefix):
            return model
        return self.model_prefix + (model.replace(".", "-") if self.dashed_versions else model)


_ZAI = Provider(
    "zai",
    "Z.ai",
    "https://api.z.ai/api/paas/v4",
    "ZAI_API_KEY",
    # The current flagship on pay-as-you-go keys (GLM-5.4 is served on the Coding Plan only).
    default_model="glm-5.3",
    thinking_control="zai",
    reasoning_field="reasoning_content",
    reasoning_back="reasoning_content",
    tool_stream=True,
    fast_model="glm-4.7-flash",
)
PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        _ZAI,
        replace(
            _ZAI,
            name="zai-coding",
            label="Z.ai Coding Plan",
            base_url="https://api.z.ai/api/coding/paas/v4",
            default_model="glm-5.4",
        ),
        replace(
            _ZAI,
            name="bigmodel",
            label="BigModel",
            base_url="https://open.bigmodel.cn/api/paas/v4",
            key_env="ZHIPUAI_API_KEY",
            default_model="glm-5.2",  # GLM-5.3 is not offered on the mainland gateways
        ),
        replace(
            _ZAI,
            name="bigmodel-coding",
            label="BigModel Coding Plan",
            base_url="https://open.bigmodel.cn/api/coding/paas/v4",
            key_env="ZHIPUAI_API_KEY",
            default_model="glm-5.2",
        ),
        Provider(
            "openrouter",
            "OpenRouter",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
            default_model="glm-5.3",
            thinking_control="openrouter",
            reasoning_field="reasoning",
            reasoning_back="reasoning_details",
            usage_option=True,
            model_prefix="z-ai/",
            fast_model="glm-4.7-flash",
        ),
        Provider(
            "oxen",
            "Oxen.ai",
            "https://hub.oxen.ai/api/ai",
            "OXEN_API_KEY",
            default_model="glm-5.3",
            thinking_control="zai",
            reasoning_field="reasoning_content",
            reasoning_back="reasoning_content",
            model_prefix="zai-org-",
            dashed_versions=True,
        ),
        Provider(
            "vllm",
            "vLLM",
            "http://localhost:8000/v1",
            None,
            default_model="zai-org/GLM-4.7-Flash",
            thinking_control="chat_template",
            reasoning_field="reasoning",
            reasoning_back="reasoning",
            tool_stream=False,
            usage_option=True,
            think_tags="leading",
            pricing="free",
        ),
        Provider(
            "sglang",
            "SGLang",
            "http://localhost:30000/v1",
            None,
            default_model="zai-org/GLM-4.7-Flash",
            thinking_control="chat_template",
            reasoning_field="reasoning_content",
            reasoning_back="reasoning_content",
            usage_option=True,
            think_tags="leading",
            pricing="free",
        ),
        Provider(
            "ollama",
            "Ollama",
            "http://localhost:11434/v1",
            None,
            default_model="glm-4.7-flash",
            thinking_control="reasoning_effort",
            reasoning_field="reasoning",
            reasoning_back="reasoning",
            usage_option=True,
            tool_choice=False,
            think_tags="leading",
            pricing="free",
        ),
        Provider(
            "llamacpp",
            "llama.cpp",
            "http://localhost:8080/v1",
            None,
            default_model="glm-4.7-flash",
            thinking_control="chat_template",
            reasoning_field="reasoning_content",
            reasoning_back="reasoning_content",
            usage_option=True,
            think_tags="untagged",
            pricing="free",
        ),
        # A course's gateway (`glm-jupyter gateway`): Z.ai's protocol, passed on to the provider
        # the gateway holds the key of; the student's own token signs each request.
        replace(
            _ZAI,
            name="gateway",
            label="course gateway",
            base_url="",
            key_env="GLM_GATEWAY_TOKEN",
            key_fallback="JUPYTERHUB_API_TOKEN",
            usage_option=True,
        ),
        Provider(
            "openai-compatible",
            "OpenAI-compatible server",
            "",
            None,
            default_model="glm-4.7-flash",
            thinking_control="none",
            reasoning_field="reasoning_content",
            reasoning_back="reasoning_content",
            usage_option=True,
            think_tags="leading",
            pricing="unknown",
        ),
    )
}
DEFAULT_PROVIDER = "zai"
# The request body's object in which an agent run tells the course gateway what it is
# (`{"agent": true, "auto": ...}`); the gateway takes it out before forwarding.
GATEWAY_FLAGS = "glm_gateway"
