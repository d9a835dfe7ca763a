"""The classroom policy: limits an admin sets in a file that nothing in a notebook can loosen.

Where the file is, decided once per kernel process (the first `%load_ext glm_jupyter` or the
first `Session`): the path in `GLM_POLICY` as the environment had it then, else the first
`glm_policy.json` found in Jupyter's config directories, admin-controlled ones first (the
system-wide ones such as /etc/jupyter, then {sys.prefix}/etc/jupyter, then JUPYTER_CONFIG_PATH,
and only then the person's own JUPYTER_CONFIG_DIR or ~/.jupyter, so a file a student writes
there can never shadow the admin's). Changing `os.environ` or reloading the extension later
moves nothing. The file itself is re-read whenever it changes, so an instructor can raise a cap
mid-class; a file that cannot be used refuses every request until it is fixed (fail closed),
and a file that disappears leaves the last policy read in force.

Every request path goes through one `PolicyGuard` (`Session.policy`):
- `shape(settings, reresolve)`, inside `Session.settings`: what is sent (persona, model,
  provider, max_tokens, agent switches): fixed values replace the person's, with a note;
- `check_request(settings, agent=, auto=)`, in front of the network (`Session.admit`, called
  by every stream and by agent mode): whether it may be sent (agent mode, `--auto`, the session's
  token cap), and that the settings obey the policy whoever built them;
- `charge(model, usage)`: count a response (the session's `UsageLedger` is the count).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.policy import (
    POLICY_ENV,
    POLICY_FILE,
    Policy,
    config_dirs,
    locate_policy,
    read_policy,
)
from ..errors import ClassroomLimitError, PolicyError
from .conversation import UsageLedger

if TYPE_CHECKING:
    from ..config.settings import Settings
    from ..messages import Usage

__all__ = [
    "POLICY_ENV",
    "POLICY_FILE",
    "Policy",
    "PolicyError",
    "PolicyGuard",
    "config_dirs",
    "locate_policy",
    "process_guard",
    "read_policy",
]


@functools.cache
def process_guard() -> PolicyGuard:
    """The guard for requests made without a `Session` (a batch outside a notebook): this
    process's policy file, with a token count of its own that lasts as long as the process."""
    return PolicyGuard.locate()


def _either(items: Sequence[str], quote: str = "") -> str:
    quoted = [f"{quote}{i}{quote}" for i in items]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


_HOW = {
    "model": ("-m", "GLM.model", "GLM_MODEL"),
    "provider": ("-p", "GLM.provider", "GLM_PROVIDER"),
    "persona": ("--tutor", "GLM.persona", "GLM_PERSONA"),
    "max_tokens": ("--max-tokens", "GLM.max_tokens", ""),
}


def _how(name: str, source: str) -> str:
    flag, trait, variable = _HOW[name]
    if source == "flag":
        return f"the {flag} flag"
    if source == "argument":  # a keyword of a Python call such as glm_jupyter.map(model=...)
        return f"the {name}= argument"
    if source.startswith("config"):
        return f"`%config {trait}`"
    if source.startswith("env"):
        return f"the environment variable {variable}"
    return "the default"


def _drop(name: str, source: str, value: str, reset: str = "''") -> str:
    """What to do instead of an explicit choice the policy does not allow."""
    flag, trait, _ = _HOW[name]
    if source == "flag":
        return f"Leave out {flag}, or use `{flag} {value}`."
    if source == "argument":
        shown = value if reset == "None" else repr(value)
        return f"Leave out {name}=, or pass `{name}={shown}`."
    if source.startswith("config"):
        shown = repr(value) if reset == "''" else value
        return f"Run `%config {trait} = {shown}` (or `= {reset}` for the course's default)."
    return "This setting comes from the environment Jupyter was started in: tell your instructor."


class PolicyGuard:
    """One session's enforcement of the policy file (see the module docstring)."""

    def __init__(
        self, path: Path | None = None, origin: str = "", ledger: UsageLedger | None = None
    ) -> None:
        self.path = path
        self.origin = origin
        self.ledger = ledger if ledger is not None else UsageLedger()
        self._policy: Policy | None = None
        self._error: PolicyError | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._refresh()

    @classmethod
    def locate(
        cls, env: Mapping[str, str] | None = None, *, ledger: UsageLedger | None = None
    ) -> PolicyGuard:
        """A guard on the policy file this process uses (or, with `env`, that env names)."""
        path, origin = locate_policy(env)
        return cls(path, origin, ledger)

    # --- the file ------------------------------------------------------------------------------

    def _refresh(self) -> None:
        if self.path is None:
            return
        try:
            info = self.path.stat()
        except OSError:
            if self._policy is not None:
                return  # gone after it was read: the policy read last stays in force
            stamp = None  # never read: reading says why, and requests are refused
        else:
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
            if stamp == self._stamp:
                return
        self._stamp = stamp
        try:
            self._policy, self._error = read_policy(self.path), None
        except PolicyError as exc:
            self._error = exc

    def current(self) -> Policy | None:
        """The policy in force (re-read if the file changed); None without a policy file."""
        self._refresh()
        if self._error is not None:
            raise self._error
        return self._policy

    def used(self) -> int:
        """Tokens this session has used, as `%glm usage` counts them (in + out)."""
        return self.ledger.total_tokens()

    def charge(self, model: str, usage: Usage | None, provider: str = "") -> None:
        """Count one response against the session (the same count `%glm usage` shows)."""
        self.ledger.add(model, usage, provider)

    def _limit(self, policy: Policy, text: str) -> ClassroomLimitError:
        return ClassroomLimitError(f"{text} {policy.message}".strip())

    # --- what is sent ----------------------------------------------------------------------

    def shape(self, s: Settings, reresolve: Callable[[str], Settings] | None = None) -> Settings:
        """`s` with what the policy fixes; ClassroomLimitError for an explicit choice it forbids.

        A value that is only a default (no flag, config or environment chose it) is replaced
        by the policy's (the first allowed model or provider); `reresolve(provider)` gives the
        settings again with that provider.
        """
        policy = self.current()
        if policy is None:
            return s
        where = f"policy ({policy.path})"
        if policy.providers and s.provider.name not in policy.providers:
            source = s.sources.get("provider", "default")
            if not source.startswith("default") or reresolve is None:
                raise self._limit(
                    policy,
                    f"Your course allows the provider {_either(policy.providers)} only: "
                    f"{s.provider.name} (from {_how('provider', source)}) is not allowed. "
                    + _drop("provider", source, policy.providers[0]),
                )
            s = reresolve(policy.providers[0])
            s = dataclasses.replace(s, sources={**s.sources, "provider": where})
        sources = dict(s.sources)
        notes = list(s.notes)
        changes: dict[str, Any] = {}
        if policy.models and not _allowed(s.model, policy.models):
            source = s.sources.get("model", "default")
            if not source.startswith("default"):
                raise self._limit(
                    policy,
                    f"Your course allows {_either(policy.models)} only: {s.model} (from "
                    f"{_how('model', source)}) is not one of them. "
                    + _drop("model", source, policy.models[0]),
                )
            changes["model"], sources["model"] = policy.models[0], where
        if policy.persona:
            source = s.sources.get("persona", "default")
            if s.persona != policy.persona and not source.startswith("default"):
                notes.append(
                    f"This course uses the {policy.persona} persona: the {s.persona} persona "
                    f"set with {_how('persona', source)} is not used."
                )
            changes["persona"], sources["persona"] = policy.persona, where
        cap = policy.max_tokens_per_request
        if cap is not None:
            source = s.sources.get("max_tokens", "default")
            if s.max_tokens is not None and s.max_tokens > cap:
                raise self._limit(
                    policy,
                    f"Your course allows answers of at most {cap:,} tokens: "
                    f"{_how('max_tokens', source)} asks for {s.max_tokens:,}. "
                    + _drop("max_tokens", source, str(cap), "None"),
                )
            if s.max_tokens is None:
                changes["max_tokens"], sources["max_tokens"] = cap, where
        if not policy.agent:
            changes["allow_agent"], sources["allow_agent"] = False, where
        if not policy.auto:
            changes["allow_auto"], sources["allow_auto"] = False, where
        return dataclasses.replace(s, **changes, sources=sources, notes=tuple(notes))

    # --- whether it may be sent --------------------------------------------------------------

    def check_request(self, s: Settings, *, agent: bool = False, auto: bool = False) -> None:
        """Refuse (ClassroomLimitError) a request the policy does not allow, before it is sent."""
        policy = self.current()
        if policy is None:
            return
        if agent and not policy.agent:
            raise self._limit(
                policy,
                "Agent mode (--agent) is turned off for this course: ask without --agent, "
                "and run the code yourself.",
            )
        if auto and not policy.auto:
            raise self._limit(
                policy,
                "--auto is turned off for this course: each step the model wants to run needs "
                "your approval. Use --agent without --auto.",
            )
        broken = self._broken(policy, s)
        if broken:
            raise self._limit(
                policy,
                f"This request does not follow the course policy ({broken}). Build its settings "
                "with Session.settings(), which applies the policy.",
            )
        cap = policy.max_tokens_per_session
        used = self.used()
        if cap is not None and used >= cap:
            advice = "" if policy.message else " Your instructor sets this limit."
            raise self._limit(
                policy,
                f"You have used {used:,} of the {cap:,} tokens this course allows per session, "
                f"so this request was not sent.{advice}",
            )

    @staticmethod
    def _broken(policy: Policy, s: Settings) -> str:
        """Which fixed value `s` does not have ("" when it follows the policy)."""
        if policy.providers and s.provider.name not in policy.providers:
            return f"provider {s.provider.name}"
        if policy.models and not _allowed(s.model, policy.models):
            return f"model {s.model}"
        if policy.persona and s.persona != policy.persona:
            return f"persona {s.persona}"
        cap = policy.max_tokens_per_request
        if cap is not None and (s.max_tokens is None or s.max_tokens > cap):
            return f"max_tokens {s.max_tokens}"
        return ""

    # --- for people --------------------------------------------------------------------------

    def describe(self) -> str:
        """Markdown for `%glm config`: the policy in force, its file, or why it cannot be used."""
        if self.path is None:
            return (
                "No classroom policy (no GLM_POLICY, and no glm_policy.json in the Jupyter "
                "config directories)."
            )
        try:
            policy = self.current()
        except PolicyError as exc:
            return f"**Classroom policy:** {exc}"
        assert policy is not None
        rules = []
        if policy.persona:
            rules.append(f"persona **{policy.persona}**")
        if policy.models:
            rules.append(f"models {_either(policy.models, '`')}")
        if policy.providers:
            rules.append(f"providers {_either(policy.providers, '`')}")
        rules.append(f"agent mode {'allowed' if policy.agent else 'off'}")
        rules.append(f"--auto {'allowed' if policy.auto else 'off'}")
        if policy.max_tokens_per_session is not None:
            rules.append(
                f"{self.used():,} of {policy.max_tokens_per_session:,} tokens used this session"
            )
        if policy.max_tokens_per_request is not None:
            rules.append(f"answers up to {policy.max_tokens_per_request:,} tokens")
        text = (
            f"**Classroom policy** in force, from `{policy.path}` ({self.origin}): "
            + "; ".join(rules)
            + "."
        )
        return text + (f"\n\n> {policy.message}" if policy.message else "")

    def usage_line(self) -> str:
        """The session's share of the token cap, for `%glm usage` ("" without a cap)."""
        try:
            policy = self.current()
        except PolicyError:
            return ""
        if policy is None or policy.max_tokens_per_session is None:
            return ""
        cap = policy.max_tokens_per_session
        return f"Course limit: {self.used():,} of {cap:,} tokens used this session."


def _allowed(model: str, models: Sequence[str]) -> bool:
    return model.casefold() in {m.casefold() for m in models}
