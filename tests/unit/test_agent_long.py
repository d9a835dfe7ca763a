"""Long agent runs over real HTTP in an IPython shell: budgets, the plan header, compaction."""

from __future__ import annotations

from typing import Any

from glm_jupyter.agent.compaction import SUMMARY_HEAD, SUMMARY_REQUEST
from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.schemas import RUN_MIME

from ..helpers import calls, use
from .test_magics import run


def answer(text: str) -> dict[str, Any]:
    return {"content": text}


def step(n: int, chars: int = 40) -> dict[str, Any]:
    """A run_python call that differs every step and prints about `chars` characters."""
    code = f"print('step {n}: ' + 'score 0.{n:04d} ' * {chars // 16})"
    return calls(("run_python", {"code": code}))


def headers(ran: Any) -> list[dict[str, Any]]:
    return [o.data[RUN_MIME] for o in ran.outputs if RUN_MIME in o.data]


def test_max_steps_zero_means_no_step_limit(shell: Any, simulator: Any) -> None:
    sim = simulator({"turns": [*(step(n) for n in range(25)), answer("Done after 25 steps.")]})
    use(shell, sim)
    ran = run(shell, "%%glm --auto --max-steps 0\nKeep going.")
    assert ran.result.success, ran.result.error_in_exec
    assert ran.final["text/plain"] == "Done after 25 steps."
    assert len(sim.requests) == 26
    assert headers(ran)[-1]["status"] == "done"
    assert headers(ran)[-1]["step"] == 25


def test_time_budget_stops_between_steps(shell: Any, simulator: Any) -> None:
    slow = calls(("run_python", {"code": "import time; time.sleep(1.2)"}))
    sim = simulator({"turns": [slow, step(1), step(2), answer("never reached")]})
    use(shell, sim)
    ran = run(shell, "%%glm --auto --time 1s\nTake your time.")
    note = ran.final["text/markdown"]
    assert "Stopped: the time budget (1s, --time) ran out after 1 steps" in note
    assert "`%glm resume` goes on with this run" in note
    assert len(sim.requests) == 1
    last = headers(ran)[-1]
    assert last["status"] == "stopped"
    assert "time budget" in last["note"]


def test_cost_budget_counts_the_catalog_prices(shell: Any, simulator: Any) -> None:
    sim = simulator({"turns": [step(1), step(2), answer("never reached")]})
    use(shell, sim)
    ran = run(shell, "%%glm --auto -m glm-5.1 --max-cost 0.0000001\nSpend a little.")
    assert (
        "Stopped: the cost budget ($0.00, --max-cost) ran out after 1 steps"
        in ran.final["text/markdown"]
    )
    assert len(sim.requests) == 1


def test_cost_budget_is_refused_without_prices(shell: Any, simulator: Any) -> None:
    sim = simulator({"turns": [answer("never reached")]})
    use(shell, sim)
    ran = run(shell, "%%glm --auto -m mystery-model-9 --max-cost 5\nSpend.")
    assert not ran.result.success
    assert "--max-cost needs prices, and glm-jupyter has none for mystery-model-9" in str(
        ran.result.error_in_exec
    )
    assert [r for r in sim.requests if r["method"] == "POST"] == []


def test_the_classroom_policy_caps_each_budget(shell: Any, simulator: Any, classroom: Any) -> None:
    classroom({"max_steps": 2, "max_time": "1h", "max_cost": 3})
    sim = simulator({"turns": [step(1), step(2), step(3), answer("never reached")]})
    use(shell, sim)
    ran = run(shell, "%%glm --auto --max-steps 0 --time 5h -m glm-5.1\nKeep going.")
    assert "Stopped after 2 steps (the classroom policy's cap)." in ran.final["text/markdown"]
    assert headers(ran)[-1]["budget_left"]["time"].startswith("59m")
    assert len([r for r in sim.requests if r["method"] == "POST"]) == 2


def test_a_policy_with_a_bad_cap_names_the_key(shell: Any, simulator: Any, classroom: Any) -> None:
    use(shell, simulator({"turns": [answer("never reached")]}))
    classroom({"max_time": "soon"})
    ran = run(shell, "%%glm --agent\nGo.")
    assert "'max_time'" in str(ran.result.error_in_exec)
    assert "is not a duration" in str(ran.result.error_in_exec)


def test_bad_budgets_say_what_to_write(shell: Any) -> None:
    ran = run(shell, "%%glm --agent --time 2x\nGo.")
    assert '"2x" is not a duration' in str(ran.result.error_in_exec).replace("'", '"')
    assert "1h30m" in str(ran.result.error_in_exec)
    ran = run(shell, "%%glm --agent --max-steps -1\nGo.")
    assert "--max-steps needs 0 (no limit) or more" in str(ran.result.error_in_exec)


def test_update_plan_shows_in_the_header_without_approval(shell: Any, simulator: Any) -> None:
    plan = {
        "explanation": "Start simple.",
        "plan": [
            {"step": "Load the data", "status": "completed"},
            {"step": "Fit a baseline", "status": "in_progress"},
            {"step": "Try features", "status": "pending"},
        ],
    }
    sim = simulator({"turns": [calls(("update_plan", plan)), answer("Planned.")]})
    use(shell, sim)
    ran = run(shell, "%%glm --agent\nPlan it.")  # no --auto: update_plan needs no approval
    assert ran.result.success, ran.result.error_in_exec
    header = headers(ran)[-1]
    assert header["plan"]["items"][1] == {"step": "Fit a baseline", "status": "in_progress"}
    shown = [o.data["text/markdown"] for o in ran.outputs if RUN_MIME in o.data][-1]
    assert "- [x] ~~Load the data~~" in shown
    assert "- [ ] **Fit a baseline** (in progress)" in shown
    assert "Start simple." in shown
    tool = [m for m in sim.requests[-1]["body"]["messages"] if m["role"] == "tool"]
    assert tool[0]["content"] == "Plan updated: 1 of 3 steps completed."
    assert ran.response["steps"][0]["approval"] == "read-only"


def test_a_small_window_compacts_and_never_overflows(shell: Any, simulator: Any) -> None:
    summaries = [
        {"match": "^Write a summary of this run so far", "content": f"Summary {i}: steps ran."}
        for i in range(12)
    ]
    steps = [step(n, chars=1200) for n in range(16)]
    sim = simulator({"turns": [*summaries, *steps, answer("Finished within the window.")]})
    use(shell, sim)
    shell.run_cell("%config GLM.context_window = 4000")
    ran = run(shell, "%%glm --auto --max-steps 0\nRun the experiments.")
    assert ran.result.success, ran.result.error_in_exec
    assert ran.final["text/plain"] == "Finished within the window."
    compactions = ran.response["compactions"]
    assert compactions, "the run should have compacted"
    assert {"shrink", "summary"} >= {c["kind"] for c in compactions}
    assert all(c["tokens_after"] < c["tokens_before"] for c in compactions)
    prompts = [r["prompt_tokens"] for r in sim.requests if "prompt_tokens" in r]
    sent = [m for r in sim.requests for m in r["body"]["messages"]]
    assert any(str(m.get("content", "")).startswith(SUMMARY_REQUEST[:40]) for m in sent)
    if any(c["kind"] == "summary" for c in compactions):
        last = sim.requests[-1]["body"]["messages"]
        assert any(str(m.get("content", "")).startswith(SUMMARY_HEAD) for m in last)
    assert headers(ran)[-1]["compactions"] == len(compactions)
    assert len(prompts) == len([r for r in sim.requests if r["method"] == "POST"])
    assert max(prompts) <= 4000
    assert MIME_TYPE in ran.final


def _log() -> Any:
    from glm_jupyter.agent.runlog import load_run
    from glm_jupyter.config.paths import runs_dir

    return load_run(runs_dir())


def _sent(message: Any) -> dict[str, Any]:
    """A logged message as the wire carries it: role, content, tool call names."""
    calls_made = [c.name for c in message.tool_calls]
    return {"role": message.role, "content": message.content, "calls": calls_made}


def _wire(message: dict[str, Any]) -> dict[str, Any]:
    calls_made = [c["function"]["name"] for c in message.get("tool_calls") or []]
    return {"role": message["role"], "content": message.get("content") or "", "calls": calls_made}


def test_the_run_log_rebuilds_the_last_prompt_after_compactions(shell: Any, simulator: Any) -> None:
    summaries = [
        {"match": "^Write a summary of this run so far", "content": f"Summary {i}."}
        for i in range(12)
    ]
    steps = [step(n, chars=1200) for n in range(16)]
    sim = simulator({"turns": [*summaries, *steps, answer("Done.")]})
    use(shell, sim)
    shell.run_cell("%config GLM.context_window = 4000")
    ran = run(shell, "%%glm --auto --max-steps 0\nRun the experiments.")
    assert ran.result.success, ran.result.error_in_exec
    log = _log()
    assert log.status == "done"
    assert len(log.steps) == 16
    assert [c["kind"] for c in log.compactions] == [c["kind"] for c in ran.response["compactions"]]
    last_prompt = [_wire(m) for m in sim.requests[-1]["body"]["messages"]]
    # The log holds the prompt as last sent, and the answer after it.
    assert [_sent(m) for m in log.messages[:-1]] == last_prompt
    assert log.messages[-1].content == "Done."
    assert log.approved_code[0].startswith("print('step 0: '")


def test_the_run_log_keeps_no_key_and_no_values_without_rows(shell: Any, simulator: Any) -> None:
    from ..helpers import SECRET

    # What the code prints (the key, and a value made from the data) is what must stay out.
    code = "import os\nprint(os.environ['GLM_API_KEY'], 'row-' + 'value'.upper())"
    sim = simulator({"turns": [calls(("run_python", {"code": code})), answer("Printed.")]})
    use(shell, sim)
    ran = run(shell, "%%glm --auto --no-rows\nPrint it.")
    assert ran.result.success, ran.result.error_in_exec
    text = _log().path.read_text("utf-8")
    assert SECRET not in text
    assert "row-VALUE" not in text
    assert "GLM.send_rows is off" in text


def _prompts(sim: Any) -> list[str]:
    import json

    return [json.dumps(r["body"]["messages"]) for r in sim.requests if r["method"] == "POST"]


def test_resume_after_a_budget_stop_repeats_no_request(shell: Any, simulator: Any) -> None:
    sim = simulator({"turns": [step(1), step(2), step(3), answer("All three done.")]})
    use(shell, sim)
    ran = run(shell, "%%glm --auto --max-steps 2\nThree steps, please.")
    assert "Stopped after 2 steps (--max-steps 2)." in ran.final["text/markdown"]
    assert _log().status == "stopped"
    resumed = run(shell, "%glm resume --auto")
    assert resumed.result.success, resumed.result.error_in_exec
    assert resumed.final["text/plain"] == "All three done."
    prompts = _prompts(sim)
    assert len(prompts) == 4
    assert len(set(prompts)) == 4, "a resumed run asks nothing twice"
    before, after = (sim.requests[i]["body"]["messages"] for i in (1, 2))
    assert after[: len(before)] == before, "the resumed prompt extends the last one"
    assert after[-1]["role"] == "user"
    assert "resumed this run" in after[-1]["content"]
    log = _log()
    assert (log.status, len(log.steps), len(log.resumes)) == ("done", 3, 1)
    assert [s["index"] for s in resumed.response["steps"]] == [1, 2, 3]


def test_resume_after_a_restart_runs_the_approved_code_again(
    shell: Any, simulator: Any, monkeypatch: Any
) -> None:
    from glm_jupyter.agent import runlog

    made = calls(("run_python", {"code": "made = 41"}))
    used = calls(("run_python", {"code": "print(made + 1)"}))
    sim = simulator({"turns": [made, used, answer("It printed 42.")]})
    use(shell, sim)
    ran = run(shell, "%%glm --auto --max-steps 1\nMake it, then use it.")
    assert "Stopped after 1 steps" in ran.final["text/markdown"]
    del shell.user_ns["made"]
    monkeypatch.setattr(runlog, "KERNEL", "another-kernel")  # as a restart leaves it
    resumed = run(shell, "%glm resume --auto")
    assert resumed.result.success, resumed.result.error_in_exec
    assert shell.user_ns["made"] == 41
    tool = [m for m in sim.requests[-1]["body"]["messages"] if m["role"] == "tool"]
    assert tool[-1]["content"] == "stdout:\n42\n"
    told = [m for m in sim.requests[1]["body"]["messages"] if m["role"] == "user"][-1]
    assert "The kernel restarted" in told["content"]
    assert "1 approved run_python steps ran again, in order, all without error" in told["content"]
    header = headers(resumed)[-1]
    assert "its 1 approved code steps ran again" in header["note"]


def test_runs_lists_the_runs_and_resume_says_what_it_cannot_do(shell: Any, simulator: Any) -> None:
    sim = simulator({"turns": [answer("Nothing to do.")]})
    use(shell, sim)
    run(shell, "%%glm --auto\nAnything?")
    listing = run(shell, "%glm runs")
    shown = listing.outputs[-1].data["text/markdown"]
    assert "| run | started | status | steps | model | question |" in shown
    assert "| done | 0 |" in shown
    assert "Anything?" in shown
    done = run(shell, "%glm resume")
    assert "finished with an answer; there is nothing to resume" in str(done.result.error_in_exec)
    missing = run(shell, "%glm resume 1999")
    assert "No run '1999'" in str(missing.result.error_in_exec)
    bad = run(shell, "%glm resume --auto my-run")
    assert "takes a run's id" in str(bad.result.error_in_exec)


def test_a_step_that_prints_a_lot_shows_only_its_start(shell: Any, simulator: Any) -> None:
    code = "for i in range(5000): print(f'line {i:05d} ' + 'x' * 40)"
    sim = simulator({"turns": [calls(("run_python", {"code": code})), answer("Printed.")]})
    use(shell, sim)
    ran = run(shell, "%%glm --auto\nPrint a lot.")
    assert ran.result.success, ran.result.error_in_exec
    printed = ran.stdout
    assert "line 00000" in printed
    assert "line 04999" not in printed
    assert len(printed) < 21_000
    assert "more characters of stdout not shown, to keep the notebook light" in printed
    tool = next(m for m in sim.requests[-1]["body"]["messages"] if m["role"] == "tool")
    assert "line 04999" in tool["content"]  # the model still gets the tail
    assert "characters cut" in tool["content"]


def test_a_prompt_the_server_finds_too_long_is_compacted_and_sent_again(
    shell: Any, simulator: Any
) -> None:
    too_long = {"kind": "http_error", "status": 400, "code": "1261"}
    # A refused request never reached the model: the same turn answers the request after it.
    turns = [step(1), step(2), {**step(3), "fault": too_long}, answer("Done.")]
    sim = simulator({"turns": turns})
    use(shell, sim)
    ran = run(shell, "%%glm --auto\nThree steps.")
    assert ran.result.success, ran.result.error_in_exec
    assert ran.final["text/plain"] == "Done."
    assert [c["step"] for c in ran.response["compactions"]] == [2]
    shown = "\n".join(o.data.get("text/markdown", "") for o in ran.outputs)
    assert "the run compacted it and asked again" in shown
