"""The classroom policy file: where it is found, what it fixes, every entry point obeys it, and
nothing in the notebook loosens it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.error import UsageError

from glm_jupyter.config import policy as policy_file
from glm_jupyter.config.settings import GLM, resolve
from glm_jupyter.core import guard as policy_module
from glm_jupyter.core.guard import PolicyError, PolicyGuard, locate_policy, read_policy
from glm_jupyter.core.prompts import TUTOR_SYSTEM
from glm_jupyter.core.request import Request
from glm_jupyter.errors import ClassroomLimitError, ConfigurationError

from ..helpers import PRICED, SECRET, STRICT, use, write_policy
from .test_analysis import _numbered
from .test_magics import run
from .test_teaching import FAILING, system


@pytest.fixture
def fresh_process() -> Iterator[None]:
    """Forget where this process found its policy, before and after (as a new kernel would)."""
    policy_file._process_policy.cache_clear()
    policy_module.process_guard.cache_clear()
    yield
    os.environ.pop("GLM_POLICY", None)
    policy_file._process_policy.cache_clear()
    policy_module.process_guard.cache_clear()


def limit(ran: Any) -> str:
    """The UsageError a cell raised (plain UsageError: IPython shows it as one line)."""
    error = ran.result.error_in_exec
    assert type(error) is UsageError, repr(error)
    return str(error)


# --- where the file is ----------------------------------------------------------------------


def test_glm_policy_names_the_file(tmp_path: Path) -> None:
    path = write_policy(tmp_path / "course.json", STRICT)
    assert locate_policy({"GLM_POLICY": str(path)}) == (path, "GLM_POLICY")


@pytest.mark.parametrize("variable", ["JUPYTER_CONFIG_DIR", "JUPYTER_CONFIG_PATH"])
def test_policy_in_a_jupyter_config_dir(tmp_path: Path, variable: str) -> None:
    path = write_policy(tmp_path / "glm_policy.json", STRICT)
    assert locate_policy({variable: str(tmp_path)}) == (path, "Jupyter config directory")
    assert locate_policy({variable: str(tmp_path / "elsewhere")}) == (None, "")


def test_the_admins_directory_wins_over_the_students_own(tmp_path: Path) -> None:
    admin = write_policy(tmp_path / "admin" / "glm_policy.json", STRICT)
    write_policy(tmp_path / "home" / "glm_policy.json", {})  # a student's own, looser file
    env = {"JUPYTER_CONFIG_PATH": str(admin.parent), "JUPYTER_CONFIG_DIR": str(tmp_path / "home")}
    assert locate_policy(env)[0] == admin


def test_session_finds_the_policy_at_start_and_keeps_it(
    fresh_process: None, simulator: Any, tmp_path: Path
) -> None:
    from glm_jupyter import Session

    path = write_policy(tmp_path / "course.json", STRICT)
    loose = write_policy(tmp_path / "loose.json", {})
    os.environ["GLM_POLICY"] = str(path)
    sim = simulator(PRICED)
    env = {"GLM_PROVIDER": "vllm", "GLM_BASE_URL": sim.base_url}
    session = Session(config=GLM(renderer="terminal"), env=env)
    assert session.policy.path == path
    os.environ["GLM_POLICY"] = str(loose)  # too late: the process found its policy already
    again = Session(config=GLM(renderer="terminal"), env=env)
    assert again.policy.path == path
    with pytest.raises(ClassroomLimitError, match=r"Your course allows glm-4\.7-flash only"):
        again.ask(Request("hi", flags={"model": "glm-5"}))
    assert sim.requests == []
    session.close()
    again.close()


def test_session_finds_the_policy_in_a_jupyter_config_dir(
    fresh_process: None, simulator: Any, tmp_path: Path
) -> None:
    from glm_jupyter import Session

    path = write_policy(tmp_path / "config" / "glm_policy.json", STRICT)
    os.environ["JUPYTER_CONFIG_DIR"] = str(path.parent)
    sim = simulator(PRICED)
    env = {"GLM_PROVIDER": "vllm", "GLM_BASE_URL": sim.base_url}
    session = Session(config=GLM(renderer="terminal"), env=env)
    del os.environ["JUPYTER_CONFIG_DIR"]
    assert (session.policy.path, session.policy.origin) == (path, "Jupyter config directory")
    assert policy_module.process_guard().path == path  # for requests made without a session
    session.ask(Request("hi"))
    assert system(sim) == TUTOR_SYSTEM
    session.close()


def _reload(shell: Any) -> Any:
    """`%unload_ext` then `%load_ext glm_jupyter`; the new session, its settings at defaults."""
    from glm_jupyter.ipython.extension import _ACTIVE

    old = _ACTIVE[id(shell)].session.config
    shell.run_line_magic("unload_ext", "glm_jupyter")
    shell.configurables.remove(old)
    shell.run_line_magic("load_ext", "glm_jupyter")
    session = _ACTIVE[id(shell)].session
    config = session.config
    for name, trait in config.traits(config=True).items():  # not what earlier tests %config'd
        setattr(config, name, trait.default())
    config.renderer, config.retry_backoff = "display", 0.001
    return session


def test_reloading_the_extension_keeps_the_policy(
    fresh_process: None, shell: Any, simulator: Any, tmp_path: Path
) -> None:
    path = write_policy(tmp_path / "course.json", STRICT)
    sim = simulator(PRICED)
    use(shell, sim)
    os.environ["GLM_POLICY"] = str(path)
    try:
        assert _reload(shell).policy.path == path
        os.environ.pop("GLM_POLICY")
        os.environ["JUPYTER_NO_CONFIG"] = "1"
        assert _reload(shell).policy.path == path
        assert "only" in limit(run(shell, "%glm -m glm-5 hi"))
        assert sim.requests == []
    finally:
        os.environ.pop("GLM_POLICY", None)
        os.environ.pop("JUPYTER_NO_CONFIG", None)
        policy_file._process_policy.cache_clear()
        assert _reload(shell).policy.path is None


# --- what the policy fixes, from every entry point --------------------------------------------


def test_flags_cannot_pick_another_model(shell: Any, simulator: Any, classroom: Any) -> None:
    sim = simulator(PRICED)
    use(shell, sim)
    classroom()
    message = limit(run(shell, "%glm -m glm-5 hi"))
    assert message == (
        "Your course allows glm-4.7-flash only: glm-5 (from the -m flag) is not one of them. "
        "Leave out -m, or use `-m glm-4.7-flash`. Ask your instructor for help."
    )
    assert sim.requests == []
    assert run(shell, "%glm hi").result.success  # the default model is the course's
    assert sim.requests[-1]["body"]["model"] == "glm-4.7-flash"


def test_config_cannot_pick_another_model(shell: Any, simulator: Any, classroom: Any) -> None:
    sim = simulator(PRICED)
    use(shell, sim)
    classroom()
    shell.run_line_magic("config", "GLM.model = 'glm-5'")
    message = limit(run(shell, "%glm hi"))
    assert "glm-5 (from `%config GLM.model`) is not one of them" in message
    assert "%config GLM.model = 'glm-4.7-flash'" in message
    assert sim.requests == []
    text = run(shell, "%glm config").outputs[0].data["text/markdown"]
    assert "cannot make a request yet" in text
    assert "Your course allows glm-4.7-flash only" in text


def test_persona_stays_tutor_whatever_is_configured(
    shell: Any, simulator: Any, classroom: Any
) -> None:
    sim = simulator(PRICED)
    use(shell, sim, GLM_PERSONA="assistant")
    classroom()
    shell.run_line_magic("config", "GLM.persona = 'assistant'")
    ran = run(shell, "%%glm -s 'Be terse.'\nWhat is a list?")
    assert ran.result.success
    assert system(sim).startswith(TUTOR_SYSTEM)
    assert system(sim).endswith("Be terse.")
    assert (
        "This course uses the tutor persona: the assistant persona set with "
        "`%config GLM.persona` is not used." in ran.final["text/markdown"]
    )


def test_agent_and_auto_are_refused(shell: Any, simulator: Any, classroom: Any) -> None:
    sim = simulator(PRICED)
    use(shell, sim)
    classroom()
    shell.run_line_magic("config", "GLM.allow_agent = True")  # cannot loosen the policy
    message = limit(run(shell, "%%glm --agent\nClean the data."))
    assert message.startswith("Agent mode (--agent) is turned off for this course")
    assert message.endswith("Ask your instructor for help.")
    classroom({"auto": False})
    assert "--auto is turned off for this course" in limit(run(shell, "%%glm --auto\nGo."))
    assert sim.requests == []


def test_token_cap_over_several_requests(shell: Any, simulator: Any, classroom: Any) -> None:
    sim = simulator(PRICED)
    use(shell, sim)
    classroom()
    for question in ("one", "two", "three"):  # 500 each: 1,500 after the third
        assert run(shell, f"%glm {question}").result.success
    message = limit(run(shell, "%glm four"))
    assert message == (
        "You have used 1,500 of the 1,200 tokens this course allows per session, so this "
        "request was not sent. Ask your instructor for help."
    )
    assert len(sim.requests) == 3
    _numbered(shell, FAILING)
    for command in ("%glm explain", "%glm hint", "%glm fix", "%glm context --error Why?"):
        ran = run(shell, command)
        if command.startswith("%glm context"):
            assert ran.result.success  # a preview sends nothing
        else:
            assert "1,500 of the 1,200 tokens" in limit(ran)
    assert len(sim.requests) == 3
    usage = run(shell, "%glm usage").outputs[0].data["text/markdown"]
    assert "Course limit: 1,500 of 1,200 tokens used this session." in usage


def test_instructor_raises_the_cap_mid_class(shell: Any, simulator: Any, classroom: Any) -> None:
    sim = simulator(PRICED)
    use(shell, sim)
    path = classroom({"max_tokens_per_session": 400})
    run(shell, "%glm one")
    assert "500 of the 400 tokens" in limit(run(shell, "%glm two"))
    assert "Your instructor sets this limit." in limit(run(shell, "%glm two"))
    write_policy(path, {"max_tokens_per_session": 40000})  # re-read on the next request
    assert run(shell, "%glm two").result.success
    path.unlink()  # gone: the policy read last stays in force
    assert run(shell, "%glm three").result.success
    text = run(shell, "%glm config").outputs[0].data["text/markdown"]
    assert "1,500 of 40,000 tokens used this session" in text


def test_answer_length_cap(shell: Any, simulator: Any, classroom: Any) -> None:
    sim = simulator(PRICED)
    use(shell, sim)
    classroom({"max_tokens_per_request": 800})
    run(shell, "%glm hi")
    assert sim.requests[-1]["body"]["max_tokens"] == 800
    run(shell, "%glm --max-tokens 300 hi")
    assert sim.requests[-1]["body"]["max_tokens"] == 300
    message = limit(run(shell, "%glm --max-tokens 5000 hi"))
    assert "at most 800 tokens: the --max-tokens flag asks for 5,000" in message
    assert len(sim.requests) == 2


def test_providers_limit(shell: Any, simulator: Any, classroom: Any) -> None:
    sim = simulator(PRICED)
    use(shell, sim)  # GLM_PROVIDER=zai in the environment
    classroom({"providers": ["vllm"]})
    message = limit(run(shell, "%glm hi"))
    assert "allows the provider vllm only: zai (from the environment variable GLM_PROVIDER)" in (
        message
    )
    assert "tell your instructor" in message
    del os.environ["GLM_PROVIDER"]  # only a default chose zai: the course's provider is used
    assert run(shell, "%glm hi").result.success
    table = run(shell, "%glm config").outputs[0].data["text/markdown"]
    assert "| provider | `vllm` | policy (" in table
    assert "providers `vllm`" in table


def test_config_shows_the_policy_and_its_file(shell: Any, simulator: Any, classroom: Any) -> None:
    use(shell, simulator(PRICED))
    path = classroom()
    text = run(shell, "%glm config").outputs[0].data["text/markdown"]
    assert f"**Classroom policy** in force, from `{path}` (GLM_POLICY)" in text
    assert "persona **tutor**" in text
    assert "agent mode off" in text
    assert "0 of 1,200 tokens used this session" in text
    assert "> Ask your instructor for help." in text
    assert f"| model | `glm-4.7-flash` | policy ({path}) |" in text
    assert f"| allow_agent | `False` | policy ({path}) |" in text


def test_python_api_obeys_the_policy(simulator: Any, tmp_path: Path) -> None:
    from glm_jupyter import Session

    path = write_policy(tmp_path / "course.json", STRICT)
    sim = simulator(PRICED)
    env = {"GLM_PROVIDER": "vllm", "GLM_BASE_URL": sim.base_url}
    guard = PolicyGuard.locate({"GLM_POLICY": str(path)})
    session = Session(config=GLM(renderer="terminal", persona="assistant"), env=env, policy=guard)
    assert guard.ledger is session.ledger  # the cap counts this session's usage
    with pytest.raises(ClassroomLimitError, match=r"Your course allows glm-4\.7-flash only"):
        session.ask(Request("hi", flags={"model": "glm-5"}))
    for _ in range(3):
        session.ask(Request("hi"))
    assert system(sim) == TUTOR_SYSTEM
    assert {r["body"]["model"] for r in sim.requests} == {"glm-4.7-flash"}
    with pytest.raises(ClassroomLimitError, match="You have used 1,500 of the 1,200 tokens"):
        session.ask(Request("hi"))
    # Settings built without the policy are refused at the gate too.
    unshaped = resolve(GLM(), {"model": "glm-5"}, env)
    guard.ledger.models.clear()
    with pytest.raises(
        ClassroomLimitError, match=r"does not follow the course policy \(model glm-5\)"
    ):
        guard.check_request(unshaped)
    guard.check_request(session.settings())
    session.close()


async def test_async_path_obeys_the_policy(simulator: Any, tmp_path: Path) -> None:
    from glm_jupyter import Session
    from glm_jupyter.agent.runs import Agents

    path = write_policy(tmp_path / "course.json", STRICT | {"max_tokens_per_session": 500})
    sim = simulator(PRICED)
    env = {"GLM_PROVIDER": "vllm", "GLM_BASE_URL": sim.base_url}
    guard = PolicyGuard.locate({"GLM_POLICY": str(path)})
    session = Session(config=GLM(renderer="terminal"), env=env, policy=guard)
    await session.ask_async(Request("hi"))
    with pytest.raises(ClassroomLimitError, match="500 of the 500 tokens"):
        await session.ask_async(Request("again"))
    with pytest.raises(ClassroomLimitError, match="Agent mode"):
        await Agents(session).run(Request("go", agent=True))
    assert len(sim.requests) == 1


def test_charge_counts_usage_from_elsewhere(tmp_path: Path) -> None:
    from glm_jupyter.messages import Usage

    path = write_policy(tmp_path / "course.json", {"max_tokens_per_session": 100})
    guard = PolicyGuard.locate({"GLM_POLICY": str(path)})
    s = guard.shape(resolve(GLM(), env={"ZAI_API_KEY": SECRET}))
    guard.check_request(s)
    guard.charge("glm-5.1", Usage(prompt_tokens=80, completion_tokens=30))
    assert guard.used() == 110
    with pytest.raises(ClassroomLimitError, match="110 of the 100 tokens"):
        guard.check_request(s)


# --- files that cannot be used ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ({"persona": "tutor", "max_token": 5}, "unknown key 'max_token' (did you mean"),
        ({"modles": ["glm-5"]}, "unknown key 'modles' (did you mean 'models'?)"),
        ('{"persona": "tutor",}', "not valid JSON (Expecting property name"),
        ("[1, 2]", "it must hold one JSON object, not list"),
        ({"persona": "teacher"}, "'persona' must be one of assistant, tutor"),
        ({"models": "glm-5"}, "'models' must be a non-empty list of strings"),
        ({"models": []}, "'models' must be a non-empty list of strings"),
        ({"providers": ["zai", "openai"]}, "'providers' names 'openai'; known values: zai"),
        ({"agent": "no"}, "'agent' must be true or false"),
        ({"max_tokens_per_session": 0}, "'max_tokens_per_session' must be a whole number"),
        ({"max_tokens_per_request": True}, "'max_tokens_per_request' must be a whole number"),
        ({"message": 3}, "'message' must be a string"),
    ],
)
def test_bad_policy_files_are_named_and_refuse_requests(
    shell: Any, simulator: Any, classroom: Any, content: Any, says: str
) -> None:
    sim = simulator(PRICED)
    use(shell, sim)
    path = classroom(content)
    with pytest.raises(PolicyError) as caught:
        read_policy(path)
    assert str(caught.value).startswith(f"The classroom policy file {path} cannot be used: ")
    assert says in str(caught.value)
    ran = run(shell, "%glm hi")
    assert isinstance(ran.result.error_in_exec, ConfigurationError)
    assert says in str(ran.result.error_in_exec)
    assert sim.requests == []
    text = run(shell, "%glm config").outputs[0].data["text/markdown"]
    assert says in text


def test_a_missing_named_file_refuses_requests(
    shell: Any, simulator: Any, classroom: Any, tmp_path: Path
) -> None:
    from glm_jupyter.ipython.extension import _ACTIVE

    sim = simulator(PRICED)
    use(shell, sim)
    classroom()
    session = _ACTIVE[id(shell)].session
    missing = tmp_path / "nowhere" / "glm_policy.json"
    session.policy = PolicyGuard.locate({"GLM_POLICY": str(missing)}, ledger=session.ledger)
    ran = run(shell, "%glm hi")
    assert f"The classroom policy file {missing} cannot be used: there is no such file." in str(
        ran.result.error_in_exec
    )
    assert sim.requests == []


def test_null_means_no_limit(tmp_path: Path) -> None:
    policy = read_policy(write_policy(tmp_path / "p.json", {"models": None, "persona": "Tutor"}))
    assert policy.models is None
    assert policy.persona == "tutor"
