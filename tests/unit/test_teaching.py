"""The tutor persona and `%glm hint` over real HTTP in an IPython shell."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from glm_jupyter.config.settings import GLM, resolve
from glm_jupyter.core.prompts import DEFAULT_SYSTEM, TUTOR_SYSTEM
from glm_jupyter.core.teaching import HintTracker

from ..helpers import SECRET, use
from .test_analysis import _numbered, scripted, sent
from .test_magics import run

FAILING = "values = [1, 2]\ntotal = sum(values) / (len(values) - 2)"


def system(sim: Any, index: int = -1) -> str:
    """The system prompt of a request the simulator received."""
    first = sim.requests[index]["body"]["messages"][0]
    assert first["role"] == "system"
    return str(first["content"])


@pytest.fixture
def session(shell: Any) -> Iterator[Any]:
    """The shell's session with a clean kernel log and no hints given yet."""
    from glm_jupyter.ipython.extension import _ACTIVE

    session = _ACTIVE[id(shell)].session
    session.log.cells.clear()
    session.log.last_error = None
    session.hints = HintTracker()
    yield session
    session.hints = HintTracker()


# --- the tutor persona ----------------------------------------------------------------------


def test_tutor_flag_sends_the_tutor_system_prompt(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    assert run(shell, "%%glm --tutor\nHow do I reverse a list?").result.success
    assert system(sim) == TUTOR_SYSTEM
    assert "Never give the full solution on a first request" in system(sim)
    run(shell, "%glm --new Thanks!")
    assert system(sim) == DEFAULT_SYSTEM


def test_tutor_from_config(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    shell.run_line_magic("config", "GLM.persona = 'tutor'")
    run(shell, "%glm How do I reverse a list?")
    assert system(sim) == TUTOR_SYSTEM
    table = run(shell, "%glm config").outputs[0].data["text/markdown"]
    assert "| persona | `tutor` | config (GLM.persona) |" in table


def test_tutor_from_the_environment(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim, GLM_PERSONA="Tutor")
    run(shell, "%glm How do I reverse a list?")
    assert system(sim) == TUTOR_SYSTEM
    table = run(shell, "%glm config").outputs[0].data["text/markdown"]
    assert "| persona | `tutor` | env (GLM_PERSONA) |" in table


def test_persona_precedence() -> None:
    env = {"GLM_PERSONA": "tutor", "ZAI_API_KEY": SECRET}
    assert resolve(GLM(), env=env).persona == "tutor"
    assert resolve(GLM(), env={"ZAI_API_KEY": SECRET}).persona == "assistant"
    config = GLM(persona="assistant")
    assert resolve(config, env=env).persona == "assistant"
    assert resolve(config, {"persona": "tutor"}, env).sources["persona"] == "flag"


def test_unknown_persona_is_refused(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim, GLM_PERSONA="oracle")
    ran = run(shell, "%glm hi")
    assert type(ran.result.error_in_exec).__name__ == "ConfigurationError"
    assert "Unknown persona 'oracle' (from env (GLM_PERSONA))" in str(ran.result.error_in_exec)
    assert sim.requests == []


def test_system_prompt_refines_the_tutor_rules(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    run(shell, "%%glm --tutor -s 'The course uses pandas 2; students are beginners.'\nHelp?")
    text = system(sim)
    assert text.startswith(TUTOR_SYSTEM)
    assert text.endswith("The course uses pandas 2; students are beginners.")
    assert "refine the tutoring rules above, never replace them" in text


def test_changing_persona_starts_a_new_conversation(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    run(shell, "%glm What is a list?")
    run(shell, "%glm And a tuple?")
    assert len(sim.requests[-1]["body"]["messages"]) == 4
    ran = run(shell, "%glm --tutor How do I reverse a list?")
    messages = sim.requests[-1]["body"]["messages"]
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == TUTOR_SYSTEM
    assert "New conversation: the tutor persona starts its own." in ran.final["text/markdown"]
    run(shell, "%glm --tutor And a tuple?")  # the same persona carries on
    assert len(sim.requests[-1]["body"]["messages"]) == 4


def test_python_api_takes_the_persona(simulator: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from glm_jupyter import Session
    from glm_jupyter.core.request import Request

    sim = simulator(scripted("Try reversed()."))
    env = {"GLM_PROVIDER": "vllm", "GLM_BASE_URL": sim.base_url}
    session = Session(config=GLM(renderer="terminal"), env=env)
    reply = session.ask(Request("How do I reverse a list?", flags={"persona": "tutor"}))
    assert reply.content.text == "Try reversed()."
    assert system(sim) == TUTOR_SYSTEM
    assert "Try reversed()." in capsys.readouterr().out
    session.close()


def test_help_and_config_mention_teaching(shell: Any, simulator: Any) -> None:
    use(shell, simulator())
    text = run(shell, "%glm help").outputs[0].data["text/markdown"]
    assert "`%glm hint`" in text
    assert "--tutor" in text
    table = run(shell, "%glm config").outputs[0].data["text/markdown"]
    assert "| persona | `assistant` | default |" in table
    assert "No classroom policy" in table
    assert os.environ.get("GLM_POLICY") is None


# --- %glm hint ------------------------------------------------------------------------------


def test_hint_levels_escalate_and_reset_on_a_new_error(
    shell: Any, simulator: Any, session: Any
) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    failing = _numbered(shell, FAILING)
    for level in (1, 2, 3, 3):
        ran = run(shell, "%glm hint")
        assert ran.result.success, ran.result.error_in_exec
        text = sent(sim)
        assert f"This is hint {level} of 3." in text
        assert "ZeroDivisionError: division by zero" in text
        assert "total = sum(values) / (len(values) - 2)" in text
        note = f"Hint {level} of 3 about ZeroDivisionError in In [{failing}]"
        assert note in ran.final["text/markdown"]
    assert "Give a nudge only" in sent(sim, 0)
    assert "point at the line or the concept" in sent(sim, 1)
    assert "near-solution" in sent(sim, 2)
    assert "ask for the solution" in ran.final["text/markdown"]  # the last level says what next
    # The same error again, after an edit that did not help: still the same target.
    _numbered(shell, "values = [3, 4]\ntotal = sum(values) / (len(values) - 2)")
    run(shell, "%glm hint")
    assert "This is hint 3 of 3." in sent(sim)
    # A new error starts again at level 1 ...
    _numbered(shell, "names = ['a']\nnames[5]")
    run(shell, "%glm hint")
    assert "This is hint 1 of 3." in sent(sim)
    assert "IndexError: list index out of range" in sent(sim)
    assert "ZeroDivisionError" not in sent(sim)
    # ... and resets every other target too.
    run(shell, f"%glm hint --cell {failing}")
    assert "This is hint 1 of 3." in sent(sim)
    assert "ZeroDivisionError" in sent(sim)


def test_hint_about_the_previous_cell_when_no_new_error(
    shell: Any, simulator: Any, session: Any
) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    _numbered(shell, FAILING)
    run(shell, "%glm hint")
    run(shell, "%glm What does sum do?")  # asking is not running student code
    clean = _numbered(shell, "squares = [x + x for x in range(4)]\nsquares")
    ran = run(shell, "%glm hint")
    text = sent(sim)
    assert f"In [{clean}]" in text
    assert "squares = [x + x for x in range(4)]" in text
    assert "[0, 2, 4, 6]" in text  # its output goes too
    assert "ran without an error" in text
    assert "This is hint 1 of 3." in text
    assert "ZeroDivisionError" not in text
    assert f"Hint 1 of 3 about In [{clean}]" in ran.final["text/markdown"]
    run(shell, "%glm hint")
    assert "This is hint 2 of 3." in sent(sim)
    assert f"In [{clean}]" in sent(sim)


def test_first_hint_prefers_an_error_newer_than_any_hint(
    shell: Any, simulator: Any, session: Any
) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    _numbered(shell, FAILING)
    _numbered(shell, "print(values)")  # looking around after the error
    run(shell, "%glm hint")
    assert "ZeroDivisionError" in sent(sim)
    assert "hint 1 of 3" in sent(sim)


def test_hint_for_a_particular_cell(shell: Any, simulator: Any, session: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    first = _numbered(shell, "print('checkpoint 7')\nrows = []")
    _numbered(shell, FAILING)
    run(shell, f"%glm hint --cell {first}")
    text = sent(sim)
    assert f"In [{first}]" in text
    assert "print('checkpoint 7')" in text
    assert "checkpoint 7\n" in text
    assert "ZeroDivisionError" not in text
    run(shell, f"%glm hint --cell {first}")
    assert "This is hint 2 of 3." in sent(sim)
    run(shell, "%glm hint")  # nothing ran since: the same target, one level up
    assert "This is hint 3 of 3." in sent(sim)
    assert f"In [{first}]" in sent(sim)


def test_hint_for_a_failing_cell_sends_its_error(shell: Any, simulator: Any, session: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    failing = _numbered(shell, "names = ['a']\nnames[5]")
    _numbered(shell, "ok = True")
    ran = run(shell, f"%glm hint --cell {failing}")
    text = sent(sim)
    assert "names[5]" in text
    assert "IndexError: list index out of range" in text
    assert f"cell In [{failing}] in the context above and the error it raised" in text
    assert f"Hint 1 of 3 about IndexError in In [{failing}]" in ran.final["text/markdown"]


def test_hint_is_counted_only_when_it_arrived(shell: Any, simulator: Any, session: Any) -> None:
    refused = {"content": "x", "fault": {"kind": "http_error", "status": 400, "code": "1210"}}
    sim = simulator({"turns": [refused], "default": {"content": "ok"}})
    use(shell, sim)
    _numbered(shell, FAILING)
    assert not run(shell, "%glm hint").result.success
    run(shell, "%glm hint")
    assert "This is hint 1 of 3." in sent(sim)
    run(shell, "%glm hint")
    assert "This is hint 2 of 3." in sent(sim)


def test_hint_uses_the_tutor_tone_with_any_persona(
    shell: Any, simulator: Any, session: Any
) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    _numbered(shell, FAILING)
    run(shell, "%glm hint")
    assert system(sim) == DEFAULT_SYSTEM
    assert "Answer as a patient tutor" in sent(sim)
    assert "leave the student something to do" in sent(sim)


def test_hint_needs_something_to_hint_about(shell: Any, simulator: Any, session: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    ran = run(shell, "%glm hint")
    assert "no cell has run yet in this kernel" in str(ran.result.error_in_exec)
    ran = run(shell, "%glm hint --cell 999")
    assert "In [999] has not run in this kernel" in str(ran.result.error_in_exec)
    _numbered(shell, "x = 1")
    ran = run(shell, "%glm hint --agent")
    assert "%glm hint answers in prose" in str(ran.result.error_in_exec)
    assert sim.requests == []


def test_hint_with_other_words_is_a_prompt(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    run(shell, "%glm hint me about list comprehensions")
    assert sent(sim) == "hint me about list comprehensions"
