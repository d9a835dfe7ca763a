"""Agent mode over real HTTP in an IPython shell: steps, approvals, limits, faults, protocol."""

from __future__ import annotations

import builtins
import json
from typing import Any

import pytest

from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.display.step import STEP_MIME

from ..helpers import calls, use
from .test_magics import run


def answer(text: str) -> dict[str, Any]:
    return {"content": text}


def tool_results(sim: Any, index: int = -1) -> list[str]:
    return [m["content"] for m in sim.requests[index]["body"]["messages"] if m["role"] == "tool"]


def steps(ran: Any) -> list[dict[str, Any]]:
    return ran.bundles[-1][MIME_TYPE]["steps"]  # type: ignore[no-any-return]


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Scripted replies to the terminal approver's questions."""
    queue: list[str] = []

    def fake_input(prompt: str = "") -> str:
        if not queue:
            raise AssertionError(f"unexpected question: {prompt}")
        reply = queue.pop(0)
        if reply == "^C":
            raise KeyboardInterrupt
        return reply

    monkeypatch.setattr(builtins, "input", fake_input)
    return queue


def test_multi_step_task_inspects_runs_fixes_and_answers(shell: Any, simulator: Any) -> None:
    sim = simulator(
        {
            "turns": [
                calls(("list_variables", {}), reasoning="First, what is there?"),
                calls(("describe", {"name": "prices"})),
                calls(("run_python", {"code": "total = sum(prices) / len(pricez)"})),
                calls(
                    ("run_python", {"code": "total = sum(prices) / len(prices)\ntotal"}),
                    reasoning="Typo: pricez. Fix it.",
                ),
                answer("The mean price is 20.0, now in `total`."),
            ]
        }
    )
    use(shell, sim)
    shell.user_ns["prices"] = [10, 20, 30]
    ran = run(shell, "%%glm --auto -o ans\nWhat is the mean price? Keep it in `total`.")
    assert ran.result.success, ran.result.error_in_exec
    assert shell.user_ns["total"] == 20.0
    assert shell.user_ns["ans"] == "The mean price is 20.0, now in `total`."
    results = tool_results(sim)
    assert results[0] == "prices: list (len 3)"
    assert "### `prices`" in results[1]
    assert "NameError: name 'pricez' is not defined" in results[2]
    assert results[3] == "result: 20.0"
    trail = steps(ran)
    assert [s["tool"] for s in trail] == ["list_variables", "describe", "run_python", "run_python"]
    assert [s["approval"] for s in trail] == ["read-only", "read-only", "auto", "auto"]
    assert trail[0]["reasoning"] == "First, what is there?"
    assert trail[2]["status"] == "done"
    # the model's messages go back with their reasoning, thinking kept (Z.ai preserved thinking)
    body = sim.requests[-1]["body"]
    assert body["thinking"] == {"type": "enabled", "clear_thinking": False}
    assert body["tool_stream"] is True
    sent_back = [m for m in body["messages"] if m["role"] == "assistant"]
    assert sent_back[0]["reasoning_content"] == "First, what is there?"
    assert sent_back[0]["tool_calls"][0]["function"]["name"] == "list_variables"


def test_approve_reject_with_reason_and_approve_all(
    shell: Any, simulator: Any, answers: list[str]
) -> None:
    sim = simulator(
        {
            "turns": [
                calls(("run_python", {"code": "a = 1"})),
                calls(("run_python", {"code": "dropped = True"})),
                calls(("run_python", {"code": "b = 2"})),
                calls(("run_python", {"code": "c = 3"})),
                answer("Done."),
            ]
        }
    )
    use(shell, sim)
    answers += ["y", "n", "never delete files", "a"]
    ran = run(shell, "%%glm --agent\nSet a, b and c.")
    assert ran.result.success, ran.result.error_in_exec
    assert (shell.user_ns["a"], shell.user_ns["b"], shell.user_ns["c"]) == (1, 2, 3)
    results = tool_results(sim)
    assert results[1] == (
        "The person rejected this call; it did not run. Their reason: never delete files"
    )
    assert [s["approval"] for s in steps(ran)] == [
        "approved",
        "rejected",
        "approved all",
        "approved all",
    ]
    assert answers == []  # nothing asked after "approve all"


def test_admin_can_forbid_auto_and_agent_mode(shell: Any, simulator: Any) -> None:
    sim = simulator()
    use(shell, sim)
    shell.run_line_magic("config", "GLM.allow_auto = False")
    ran = run(shell, "%%glm --auto\nGo.")
    assert "GLM.allow_auto = False" in str(ran.result.error_in_exec)
    shell.run_line_magic("config", "GLM.allow_agent = False")
    ran = run(shell, "%%glm --agent\nGo.")
    assert "GLM.allow_agent = False" in str(ran.result.error_in_exec)
    assert sim.requests == []


def test_timeout_interrupts_the_code_and_tells_the_model(shell: Any, simulator: Any) -> None:
    sim = simulator(
        {
            "turns": [
                calls(
                    ("run_python", {"code": "import time\nfor _ in range(600): time.sleep(0.05)"})
                ),
                answer("That took too long; try a sample."),
            ]
        }
    )
    use(shell, sim)
    shell.run_line_magic("config", "GLM.tool_timeout = 0.5")
    ran = run(shell, "%%glm --auto\nLoop.")
    assert ran.result.success
    assert tool_results(sim)[0].startswith("[stopped: the code ran past the time limit")


@pytest.mark.parametrize(
    ("turn", "expected"),
    [
        (calls(("run_python", "{bad json")), "The arguments were not valid JSON"),
        (calls(("drop_database", {})), "Unknown tool `drop_database`. Available tools: "),
        (calls(("describe", {"name": "nothing_here"})), "Error: There is no variable"),
    ],
)
def test_bad_calls_become_results_the_model_can_act_on(
    shell: Any, simulator: Any, turn: dict[str, Any], expected: str
) -> None:
    sim = simulator({"turns": [turn, answer("Understood.")]})
    use(shell, sim)
    ran = run(shell, "%%glm --auto\nTry.")
    assert ran.result.success
    assert tool_results(sim)[0].startswith(expected)
    assert steps(ran)[0]["status"] == "error"


def test_the_same_call_three_times_stops_the_run(shell: Any, simulator: Any) -> None:
    same = calls(("run_python", {"code": "x = 1"}))
    sim = simulator({"turns": [same, same, same, answer("never reached")]})
    use(shell, sim)
    ran = run(shell, "%%glm --auto\nLoop.")
    assert "same `run_python` call 3 times in a row" in ran.final["text/markdown"]
    assert len(sim.requests) == 3
    assert shell.user_ns["x"] == 1


def test_max_steps_stops_the_run(shell: Any, simulator: Any) -> None:
    sim = simulator({"default": calls(("list_variables", {}))})
    use(shell, sim)
    ran = run(shell, "%%glm --auto --max-steps 2\nLook around.")
    assert "Stopped after 2 steps" in ran.final["text/markdown"]
    assert len(sim.requests) == 2  # the run stops between steps, before asking again


def test_user_tools_from_the_decorator(shell: Any, simulator: Any, answers: list[str]) -> None:
    shell.run_cell(
        "import glm_jupyter\n"
        "@glm_jupyter.tool\n"
        "def add(a: int, b: int = 1) -> int:\n"
        "    '''Add two numbers.\n\n    Args:\n"
        "        a: the first\n        b: the second\n    '''\n"
        "    return a + b\n"
        "@glm_jupyter.tool(read_only=True)\n"
        "def today() -> str:\n    '''The date.'''\n    return '2026-11-22'\n"
    )
    sim = simulator(
        {"turns": [calls(("add", {"a": 2, "b": 3}), ("today", {})), answer("5, today.")]}
    )
    use(shell, sim)
    answers.append("y")
    ran = run(shell, "%%glm --agent\nAdd.")
    assert ran.result.success
    assert tool_results(sim) == ["5", "2026-11-22"]
    spec = next(t for t in sim.requests[0]["body"]["tools"] if t["function"]["name"] == "add")
    assert spec["function"]["description"] == "Add two numbers."
    assert spec["function"]["parameters"]["properties"]["a"] == {
        "type": "integer",
        "description": "the first",
    }
    assert spec["function"]["parameters"]["required"] == ["a"]


@pytest.mark.parametrize(
    ("dialect", "field"),
    [
        ("vllm", "reasoning"),
        ("ollama", "reasoning"),
        ("sglang", "reasoning_content"),
        ("llamacpp", "reasoning_content"),
        ("openrouter", "reasoning_details"),
    ],
)
def test_reasoning_goes_back_in_each_dialects_field(
    shell: Any, simulator: Any, dialect: str, field: str
) -> None:
    sim = simulator(
        {"turns": [calls(("list_variables", {}), reasoning="Check first."), answer("ok")]}, dialect
    )
    use(shell, sim, dialect, OPENROUTER_API_KEY="sk-or-test")
    assert run(shell, "%%glm --auto\nGo.").result.success
    assistant = next(m for m in sim.requests[-1]["body"]["messages"] if m["role"] == "assistant")
    expected = (
        [{"type": "reasoning.text", "text": "Check first."}]
        if field == "reasoning_details"
        else "Check first."
    )
    assert assistant[field] == expected


def test_raw_tool_call_text_is_parsed(shell: Any, simulator: Any) -> None:
    raw = (
        "Let me run it.\n<tool_call>run_python\n<arg_key>code</arg_key>\n"
        "<arg_value>print(6 * 7)</arg_value>\n</tool_call>"
    )
    sim = simulator({"turns": [answer(raw), answer("42.")]}, "vllm")
    use(shell, sim, "vllm")
    ran = run(shell, "%%glm --auto\nMultiply.")
    assert ran.result.success
    assert tool_results(sim) == ["stdout:\n42\n"]
    assistant = next(m for m in sim.requests[-1]["body"]["messages"] if m["role"] == "assistant")
    assert assistant["content"] == "Let me run it."
    assert assistant["tool_calls"][0]["function"]["name"] == "run_python"


def test_parallel_calls_run_in_order(shell: Any, simulator: Any) -> None:
    sim = simulator(
        {
            "turns": [
                calls(
                    ("run_python", {"code": "order = ['first']"}),
                    ("run_python", {"code": "order.append('second')"}),
                ),
                answer("ok"),
            ]
        }
    )
    use(shell, sim)
    run(shell, "%%glm --auto\nTwo at once.")
    assert shell.user_ns["order"] == ["first", "second"]


def test_interrupt_while_code_runs_keeps_the_transcript(shell: Any, simulator: Any) -> None:
    sim = simulator(
        {"turns": [calls(("run_python", {"code": "raise KeyboardInterrupt"})), answer("never")]}
    )
    use(shell, sim)
    ran = run(shell, "%%glm --auto\nGo.")
    assert isinstance(ran.result.error_in_exec, KeyboardInterrupt)
    assert len(sim.requests) == 1
    from glm_jupyter.ipython.extension import _ACTIVE

    messages = _ACTIVE[id(shell)].session.conversation.turns()
    assert [m.role for m in messages] == ["user", "assistant", "tool"]
    assert messages[-1].content == "(interrupted by the person)"
    step = ran.outputs[-1].data if STEP_MIME in ran.outputs[-1].data else None
    assert step is None or step[STEP_MIME]["status"] == "interrupted"


def test_interrupt_while_waiting_for_approval(
    shell: Any, simulator: Any, answers: list[str]
) -> None:
    sim = simulator({"turns": [calls(("run_python", {"code": "z = 1"})), answer("never")]})
    use(shell, sim)
    answers.append("^C")
    ran = run(shell, "%%glm --agent\nGo.")
    assert isinstance(ran.result.error_in_exec, KeyboardInterrupt)
    assert "z" not in shell.user_ns
    assert "Interrupted" in ran.final["text/markdown"]


def test_export_to_a_notebook(shell: Any, simulator: Any, tmp_path: Any) -> None:
    import nbformat

    sim = simulator(
        {
            "turns": [
                calls(("run_python", {"code": "squares = [i * i for i in range(4)]"})),
                calls(("list_variables", {})),
                calls(("run_python", {"code": "total = sum(squares)"})),
                answer("Total is 14."),
            ]
        }
    )
    use(shell, sim)
    run(shell, "%%glm --auto\nSum of squares.")
    path = tmp_path / "replay.ipynb"
    assert run(shell, f"%glm export {path}").result.success
    nb = nbformat.read(path, as_version=4)
    assert [c.source for c in nb.cells[1:]] == [
        "squares = [i * i for i in range(4)]",
        "total = sum(squares)",
    ]
    placed = run(shell, "%glm export")
    assert placed.result.success


def test_follow_up_after_an_agent_run_sees_the_transcript(shell: Any, simulator: Any) -> None:
    sim = simulator(
        {
            "turns": [
                calls(("run_python", {"code": "n = 3"})),
                answer("n is 3."),
                answer("It is odd."),
            ]
        }
    )
    use(shell, sim)
    run(shell, "%%glm --auto\nSet n.")
    run(shell, "%glm Is it odd?")
    roles = [m["role"] for m in sim.requests[-1]["body"]["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert json.loads(
        sim.requests[-1]["body"]["messages"][2]["tool_calls"][0]["function"]["arguments"]
    ) == {"code": "n = 3"}


def test_streamed_code_shows_in_the_response_as_it_is_written(shell: Any, simulator: Any) -> None:
    sim = simulator(
        {
            "tool_stream": True,
            "turns": [
                calls(("run_python", {"code": "total = 6 * 7\nprint(total)"})),
                answer("42."),
            ],
        }
    )
    use(shell, sim)
    ran = run(shell, "%%glm --auto\nCompute.")
    first_turn = [b for b in ran.bundles if b[MIME_TYPE]["tool_calls"]]
    partial = [b["text/markdown"] for b in first_turn]
    assert "```python\ntotal = 6 * 7\nprint(total)\n```" in partial[-1]
    assert sim.requests[0]["body"]["tool_stream"] is True


def test_interrupt_while_the_model_streams_keeps_the_partial_answer(
    shell: Any, simulator: Any, monkeypatch: Any
) -> None:
    from glm_jupyter.display.render import DisplayRenderer

    sim = simulator({"turns": [answer("The answer is long and gets cut here")]})
    use(shell, sim)
    seen = {"n": 0}
    original = DisplayRenderer.event

    def interrupting(self: Any, reply: Any, event: Any, visible: bool) -> None:
        original(self, reply, event, visible)
        seen["n"] += visible
        if seen["n"] == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(DisplayRenderer, "event", interrupting)
    ran = run(shell, "%%glm --auto\nGo.")
    assert isinstance(ran.result.error_in_exec, KeyboardInterrupt)
    assert ran.response["status"] == "interrupted"
    from glm_jupyter.ipython.extension import _ACTIVE

    messages = _ACTIVE[id(shell)].session.conversation.turns()
    assert [m.role for m in messages] == ["user", "assistant"]
    assert "The answer is long and gets cut here".startswith(messages[-1].content)
