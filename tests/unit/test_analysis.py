"""The data-analysis assistant over real HTTP: context flags, interpolation, structured answers,
code placement, errors, previews."""

from __future__ import annotations

import json
from typing import Any

import pytest

from glm_jupyter.display.bundle import MIME_TYPE

from ..helpers import use
from .test_magics import run


def sent(sim: Any, index: int = -1) -> str:
    """The last user message of a request the simulator received."""
    return str(sim.requests[index]["body"]["messages"][-1]["content"])


def scripted(*answers: str) -> dict[str, Any]:
    return {"turns": [{"content": a} for a in answers], "default": {"content": "ok"}}


# --- interpolation --------------------------------------------------------------------------


def test_braces_fill_in_scalars_and_leave_everything_else(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    shell.user_ns.update(n=42, who="Ada")
    prompt = 'Use {n} rows for {who}; JSON {"a": {"b": 1}}, f"{x:.2f}", {missing}, {{n}}, {_}'
    run(shell, f"%%glm\n{prompt}")
    assert sent(sim) == (
        'Use 42 rows for Ada; JSON {"a": {"b": 1}}, f"{x:.2f}", {missing}, {n}, {_}'
    )


def test_prompt_full_of_json_never_raises(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    prompt = json.dumps({"items": [{"id": i, "tags": ["{x}", "}{"]} for i in range(3)]})
    ran = run(shell, f"%%glm\nFix this JSON: {prompt}")
    assert ran.result.success
    assert sent(sim).endswith(prompt)


def test_no_rows_withholds_interpolated_values(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    shell.user_ns["secret_total"] = 987654.321
    run(shell, "%%glm --no-rows\nIs {secret_total} high?")
    assert "987654" not in sim.requests[-1]["raw_body"]
    assert "value withheld" in sent(sim)


def test_unknown_variable_suggests_close_names(shell: Any, simulator: Any) -> None:
    use(shell, simulator())
    shell.user_ns["sales_2024"] = [1, 2]
    ran = run(shell, "%%glm --var sales_2042\nhi")
    assert type(ran.result.error_in_exec).__name__ == "UsageError"
    assert "`sales_2024`" in str(ran.result.error_in_exec)


# --- structured answers ---------------------------------------------------------------------


def test_json_is_repaired_once(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted("Sure! Here it is: {'a': 1", '{"a": 1}'))
    use(shell, sim)
    ran = run(shell, "%%glm --json -o value\nGive me a.")
    assert ran.result.success
    assert shell.user_ns["value"] == {"a": 1}
    assert len(sim.requests) == 2
    assert "not valid JSON" in sent(sim)
    assert sim.requests[0]["body"]["response_format"] == {"type": "json_object"}
    responses = [b[MIME_TYPE] for b in ran.bundles]
    assert responses[-1]["content"] == '{"a": 1}'


def test_json_that_stays_broken_fails_clearly_and_keeps_the_text(
    shell: Any, simulator: Any
) -> None:
    sim = simulator(scripted("nope", "still nope"))
    use(shell, sim)
    ran = run(shell, "%%glm --json -o value\nGive me a.")
    assert type(ran.result.error_in_exec).__name__ == "AnswerNotJSONError"
    assert shell.user_ns["value"] == "still nope"
    assert len(sim.requests) == 2


def test_schema_from_a_dataclass_builds_an_instance(shell: Any, simulator: Any) -> None:
    shell.run_cell(
        "from dataclasses import dataclass\n"
        "@dataclass\n"
        "class Item:\n    name: str\n    qty: int\n"
        "@dataclass\n"
        "class Order:\n    id: int\n    items: list[Item]\n"
    )
    good = '{"id": 7, "items": [{"name": "tea", "qty": 2}]}'
    sim = simulator(scripted('{"id": "7", "items": []}', good))
    use(shell, sim)
    ran = run(shell, "%%glm --schema Order -o order\nParse: 2 teas, order 7.")
    assert ran.result.success, ran.result.error_in_exec
    order = shell.user_ns["order"]
    assert type(order).__name__ == "Order"
    assert order.items[0].qty == 2
    first = sent(sim, 0)
    assert '"title": "Order"' in first
    assert first.endswith("Parse: 2 teas, order 7.")
    assert "id: '7' is not of type 'integer'" in sent(sim)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ("from typing import TypedDict\nclass S(TypedDict):\n    a: int\n", {"a": 1}),
        ("S = {'type': 'object', 'properties': {'a': {'type': 'integer'}}}", {"a": 1}),
        ("import pydantic\nclass S(pydantic.BaseModel):\n    a: int\n", "a=1"),
    ],
)
def test_schema_kinds(shell: Any, simulator: Any, definition: str, expected: Any) -> None:
    shell.run_cell(definition)
    use(shell, simulator(scripted('{"a": 1}')))
    run(shell, "%%glm --schema S -o got\nGive a.")
    got = shell.user_ns["got"]
    assert got == expected or str(got) == expected


def test_schema_of_the_wrong_kind_is_refused(shell: Any, simulator: Any) -> None:
    shell.user_ns["S"] = 3
    use(shell, simulator())
    ran = run(shell, "%%glm --schema S\nGive a.")
    assert "expected a JSON-schema dict, a dataclass" in str(ran.result.error_in_exec)


# --- code placement -------------------------------------------------------------------------

TWO_BLOCKS = (
    "First:\n```python\nprint(1)\n```\nThen:\n```\nprint(2)\n```\nNot this:\n```sql\nSELECT 1\n```"
)


@pytest.mark.parametrize(("flag", "placed"), [("--code", "print(1)"), ("--code 2", "print(2)")])
def test_code_goes_to_the_next_cell(shell: Any, simulator: Any, flag: str, placed: str) -> None:
    answer = "```python\nprint(1)\n```" if flag == "--code" else TWO_BLOCKS
    use(shell, simulator(scripted(answer)))
    shell.rl_next_input = None
    run(shell, f"%%glm {flag}\nShow code.")
    assert shell.rl_next_input == placed


def test_several_blocks_and_nobody_to_ask(shell: Any, simulator: Any) -> None:
    use(shell, simulator(scripted(TWO_BLOCKS)))
    ran = run(shell, "%%glm --code\nShow code.")
    assert "--code N" in str(ran.result.error_in_exec)


# --- errors, cells, notebooks ---------------------------------------------------------------


def _fail(shell: Any) -> None:
    shell.run_cell("values = [1, 2]\ntotal = sum(values) / (len(values) - 2)")


def test_error_context_has_type_traceback_and_cell(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    _fail(shell)
    run(shell, "%%glm --error\nWhy?")
    text = sent(sim)
    assert "ZeroDivisionError: division by zero" in text
    assert "total = sum(values) / (len(values) - 2)" in text
    assert "interactiveshell.py" not in text
    assert "\x1b[" not in text


def test_no_rows_withholds_the_error_message(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    shell.user_ns["lookup"] = {"alice@example.com": 1}
    shell.run_cell("lookup[next(iter(lookup)).upper()]")  # KeyError('ALICE@EXAMPLE.COM')
    run(shell, "%%glm --error --no-rows\nWhy?")
    assert "ALICE@EXAMPLE.COM" not in sim.requests[-1]["raw_body"]
    assert "KeyError" in sent(sim)


def test_explain_and_fix(shell: Any, simulator: Any) -> None:
    fixed = "The list has two items.\n```python\ntotal = sum(values) / len(values)\n```"
    sim = simulator(scripted("It divides by zero.", fixed))
    use(shell, sim)
    _fail(shell)
    shell.rl_next_input = None
    assert run(shell, "%glm explain").result.success
    assert "ZeroDivisionError" in sent(sim)
    assert sent(sim).endswith("Be brief and concrete.")
    assert run(shell, "%glm fix").result.success
    assert shell.rl_next_input == "total = sum(values) / len(values)"


def test_explain_without_an_error_says_so(shell: Any) -> None:
    from glm_jupyter.ipython.extension import _ACTIVE

    _ACTIVE[id(shell)].session.log.last_error = None
    ran = run(shell, "%glm explain")
    assert "no cell has raised an error" in str(ran.result.error_in_exec)


def test_subcommand_words_with_other_words_are_prompts(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    run(shell, "%glm explain decorators briefly")
    run(shell, "%glm context of this function?")
    assert [sent(sim, i) for i in (0, 1)] == [
        "explain decorators briefly",
        "context of this function?",
    ]


def test_cells_sends_recent_sources_and_results(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    shell.run_cell("alpha = 6 * 7")
    shell.run_cell("alpha + 1")
    run(shell, "%%glm --cells 2\nWhat happened?")
    text = sent(sim)
    assert "alpha = 6 * 7" in text
    assert "alpha + 1" in text
    assert "43" in text
    assert "%%glm --cells 2" not in text


def test_notebook_context_from_a_path(shell: Any, simulator: Any, tmp_path: Any) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Sales study"), nbformat.v4.new_code_cell("x = 1")]
    path = tmp_path / "study.ipynb"
    nbformat.write(nb, path)
    sim = simulator(scripted())
    use(shell, sim)
    run(shell, f"%glm --notebook {path} what is this notebook about?")
    text = sent(sim)
    assert "# Sales study" in text
    assert "x = 1" in text
    assert text.endswith("what is this notebook about?")


def test_notebook_without_a_path_outside_jupyter_says_how(shell: Any, simulator: Any) -> None:
    use(shell, simulator())
    ran = run(shell, "%%glm --notebook\nSummarise.")
    assert "--notebook=analysis.ipynb" in str(ran.result.error_in_exec)


def test_context_preview_sends_nothing(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    _fail(shell)
    ran = run(shell, "%glm context --error Why?")
    assert sim.requests == []
    text = ran.outputs[0].data["text/markdown"]
    assert "nothing was sent" in text
    assert "ZeroDivisionError" in text
    assert "Why?" in text


def test_context_line_and_json_say_what_was_sent(shell: Any, simulator: Any) -> None:
    use(shell, simulator(scripted()))
    _fail(shell)
    ran = run(shell, "%%glm --error\nWhy?")
    assert "Context sent: last error (ZeroDivisionError" in ran.final["text/markdown"]
    assert ran.response["context"][0]["name"] == "last error"


def test_follow_up_appends_to_the_prefix(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted("one", "two"))
    use(shell, sim)
    _fail(shell)
    run(shell, "%%glm --error\nWhy?")
    run(shell, "%glm And how do I avoid it?")
    first, second = (r["raw_body"] for r in sim.requests)
    messages = sim.requests[1]["body"]["messages"]
    assert messages[1]["content"] == sim.requests[0]["body"]["messages"][1]["content"]
    assert second.startswith(first[: first.index('"stream"') - 40][:200])


def test_line_magic_braces_are_not_expanded_by_ipython(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    shell.user_ns["items"] = [1, 2, 3]
    run(shell, 'x = 1\n%glm what is {items} and {"k": $x}?')
    text = sent(sim)
    assert text.endswith('what is `items` (summarised in the context above) and {"k": $x}?')


def test_no_rows_request_body_holds_no_cell_value(shell: Any, simulator: Any) -> None:
    import pandas as pd

    sentinels = [
        "SENTINEL-ALICE-93",
        "SENTINEL-BOB-17",
        "987654.321",
        "123456.789",
        "424242",
        "717171",
        "2031-07-04",
        "2032-01-09",
        "CAT-SENTINEL-X",
    ]
    shell.user_ns["people"] = pd.DataFrame(
        {
            "name": ["SENTINEL-ALICE-93", "SENTINEL-BOB-17"],
            "balance": [987654.321, 123456.789],
            "code": [424242, 717171],
            "joined": pd.to_datetime(["2031-07-04", "2032-01-09"]),
            "tier": pd.Categorical(["CAT-SENTINEL-X", "CAT-SENTINEL-X"]),
        }
    )
    shell.user_ns["profile"] = {"SENTINEL-ALICE-93": 424242, "note": "SENTINEL-BOB-17"}
    shell.user_ns["ids"] = [424242, 717171]
    sim = simulator(scripted())
    use(shell, sim)
    shell.run_cell("people.loc[people.code == people.code.max(), 'name'].item().missing")
    run(
        shell,
        "%%glm --new --no-rows --df people --var profile --var ids --error\n"
        "Look at {people}, {profile} and {ids}.",
    )
    body = sim.requests[-1]["raw_body"]
    assert "balance" in body  # column names are schema and do go
    for value in sentinels:
        assert value not in body


def test_send_rows_config_is_the_default_for_every_request(shell: Any, simulator: Any) -> None:
    shell.user_ns["emails"] = ["SENTINEL-ANN@x.io", "SENTINEL-BO@x.io"]
    sim = simulator(scripted())
    use(shell, sim)
    shell.run_line_magic("config", "GLM.send_rows = False")
    run(shell, "%%glm --var emails\nHow many?")
    assert "SENTINEL" not in sim.requests[-1]["raw_body"]
    assert "withheld" in sent(sim)


def _numbered(shell: Any, source: str) -> int:
    """Run `source` as a numbered cell, the way a notebook does; returns its In [N]."""
    number = int(shell.execution_count)
    shell.run_cell(source, store_history=True)
    return number


def test_cell_sends_that_cell_with_outputs_and_error(shell: Any, simulator: Any) -> None:
    sim = simulator(scripted())
    use(shell, sim)
    first = _numbered(shell, "print('first output')")
    _numbered(shell, "other = 1")
    failing = _numbered(shell, "values = [1]\nvalues[3]")
    run(shell, f"%%glm --cell {first} --cell {failing}\nWhat happened?")
    text = sent(sim)
    assert "print('first output')" in text
    assert "first output" in text
    assert "other = 1" not in text
    assert "values[3]" in text
    assert "IndexError: list index out of range" in text
    assert text.index("print('first output')") < text.index("values[3]")


def test_cell_that_has_not_run_says_what_to_do(shell: Any, simulator: Any) -> None:
    use(shell, simulator(scripted()))
    ran = run(shell, "%%glm --cell 999\nWhy?")
    assert "In [999] has not run in this kernel" in str(ran.result.error_in_exec)


def test_explain_and_fix_a_particular_cell(shell: Any, simulator: Any) -> None:
    fixed = "Index 0.\n```python\nvalues = [1]\nvalues[0]\n```"
    tidier = "Tidier.\n```python\nx = 2\n```"
    sim = simulator(scripted("It indexes past the end.", fixed, tidier))
    use(shell, sim)
    failing = _numbered(shell, "values = [1]\nvalues[3]")
    _fail(shell)  # a later, different error: --cell picks the one asked about
    clean = _numbered(shell, "x = 1 + 1")
    assert run(shell, f"%glm explain --cell {failing}").result.success
    assert "IndexError" in sent(sim)
    assert "ZeroDivisionError" not in sent(sim)
    shell.rl_next_input = None
    assert run(shell, f"%glm fix --cell {failing}").result.success
    assert shell.rl_next_input == "values = [1]\nvalues[0]"
    ran = run(shell, f"%glm explain --cell {clean}")
    assert "raised no error" in str(ran.result.error_in_exec)
    assert run(shell, f"%glm fix --cell {clean}").result.success
    assert "x = 1 + 1" in sent(sim)
    assert "Find what is wrong" in sent(sim)
    assert shell.rl_next_input == "x = 2"
