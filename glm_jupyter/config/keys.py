"""API keys: found in the environment, held in a wrapper that never shows itself."""

from __future__ import annotations

from collections.abc import Mapping

from .providers import Provider


class Secret:
    """A string that prints as `***` in reprs, messages and tracebacks."""

    __slots__ = ("__value",)

    def __init__(self, value: str) -> None:
        self.__value = value

    def reveal(self) -> str:
        """The real value: only for the Authorization header."""
        return self.__value

    def scrub(self, text: str) -> str:
        """`text` with every occurrence of the secret replaced by `***`."""
        return text.replace(self.__value, "***") if self.__value else text

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.__value == self.__value

    def __hash__(self) -> int:
        return hash((Secret, self.__value))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def find_key(provider: Provider, env: Mapping[str, str]) -> tuple[Secret | None, str | None]:
    """The key for `provider` and its variable: GLM_API_KEY, else the provider's own (then
    its fallback: a course gateway takes the Hub token JupyterHub gives each server)."""
    for name in ("GLM_API_KEY", provider.key_env, provider.key_fallback):
        if name and env.get(name, "").strip():
            return Secret(env[name].strip()), name
    return None, None
