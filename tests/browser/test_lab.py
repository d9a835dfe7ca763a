"""JupyterLab in Chromium: the response renderer, code actions, commands and agent approval.

Each test opens its own notebook on one shared server; screenshots of each stage go to
test-artifacts/ (named lab-NN-*.png).
"""

from __future__ import annotations

import json
import re
from typing import Any

from .lab import (
    ASK_SIX_TIMES_SEVEN,
    FAILING_CELL,
    Server,
    cell,
    cell_sources,
    run_cell,
    select_cell,
    shot,
    start_notebook,
    wait_idle,
)


def _ask(page: Any, server: Server, name: str, app: str = "lab") -> Any:
    """Open a notebook with the 6 x 7 question, run it; returns the response's locator."""
    start_notebook(page, server, name, ASK_SIX_TIMES_SEVEN, app=app)
    run_cell(page, 1)
    return cell(page, 1).locator(".jp-GLM-response")


def test_thinking_streams_collapses_and_expands(page: Any, server: Server) -> None:
    response = _ask(page, server, "thinking.ipynb")
    thinking = response.locator("details.jp-GLM-thinking")
    summary = thinking.locator("summary.jp-GLM-thinking-summary")

    # While the model thinks: the panel is open and its header counts seconds and tokens.
    page.wait_for_selector(".jp-GLM-response[data-status=streaming] details.jp-GLM-thinking[open]")
    assert re.search(r"Thinking… \d+ s", summary.inner_text())
    page.wait_for_function(
        """() => /tokens/.test(document.querySelector('.jp-GLM-thinking-summary').textContent)"""
    )
    thinking.locator(".jp-GLM-reasoning:has-text('six and seven')").wait_for()
    shot(page, "lab-01-thinking-streams")

    # The answer: the panel collapses to "Thought for N s"; the answer and footer show.
    page.wait_for_selector(".jp-GLM-response[data-status=done]")
    assert thinking.get_attribute("open") is None
    assert re.fullmatch(r"Thought for \d+\.\d s.*", summary.inner_text())
    content = response.locator(".jp-GLM-content")
    assert "It is 42" in content.inner_text()
    assert content.locator("pre").count() == 1
    footer = response.locator(".jp-GLM-footer").inner_text()
    assert "glm-5.3" in footer  # the default model
    assert "zai (simulator)" in footer
    assert re.search(r"\d+ in", footer)
    assert re.search(r"\$\d+\.\d{4}", footer)
    shot(page, "lab-02-answer-and-footer")

    # A click opens the panel again; the reasoning is all there.
    summary.click()
    assert thinking.get_attribute("open") is not None
    assert "forty-two" in thinking.locator(".jp-GLM-reasoning").inner_text()
    shot(page, "lab-03-thinking-expanded")

    # The status bar reads the notebook's responses.
    status = page.locator(".jp-GLM-statusbar")
    assert "glm-5.3" in status.inner_text()
    assert "tokens" in status.inner_text()
    page.js_errors.check()


def test_insert_and_run_a_code_block(page: Any, server: Server) -> None:
    response = _ask(page, server, "insert.ipynb")
    page.wait_for_selector(".jp-GLM-response[data-status=done]")
    wait_idle(page)
    block = response.locator(".jp-GLM-content pre").first
    block.hover()
    actions = response.locator(".jp-GLM-code-actions").first
    assert [b.strip() for b in actions.locator("button").all_inner_texts()] == [
        "Copy",
        "Insert below",
        "Insert and run",
    ]
    actions.locator("button.jp-GLM-insert-run").click()
    # A new cell right below the answer's cell, holding exactly the code, run in the kernel.
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 3")
    assert cell_sources(page)[2] == 'answer = 6 * 7\nprint(f"answer = {answer}")'
    wait_idle(page)
    page.wait_for_selector(".jp-Cell:nth-child(3) .jp-OutputArea-output:has-text('answer = 42')")
    assert "answer = 42" in cell(page, 2).locator(".jp-OutputArea").inner_text()
    shot(page, "lab-04-insert-and-run")

    # Insert below adds the code without running it.
    actions.locator("button.jp-GLM-insert").click()
    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 4")
    assert cell_sources(page)[2].startswith("answer = 6 * 7")
    assert cell(page, 2).locator(".jp-OutputArea-output").count() == 0
    page.js_errors.check()


def test_explain_this_error_from_the_context_menu(page: Any, server: Server) -> None:
    start_notebook(page, server, "explain.ipynb", FAILING_CELL)
    run_cell(page, 1)
    wait_idle(page)
    page.wait_for_selector(".jp-Cell .jp-OutputArea-output:has-text('ZeroDivisionError')")
    select_cell(page, 1)
    cell(page, 1).locator(".jp-InputArea-prompt").click(button="right")
    menu = page.locator(".lm-Menu")
    assert menu.get_by_text("Ask GLM about this cell").is_visible()
    assert menu.get_by_text("Fix this cell").is_visible()
    shot(page, "lab-05-cell-context-menu")
    menu.get_by_text("Explain this error").click()

    page.wait_for_function("() => document.querySelectorAll('.jp-Notebook .jp-Cell').length === 3")
    assert re.fullmatch(r"%glm explain --cell \d+", cell_sources(page)[2])
    page.wait_for_selector(".jp-Cell:nth-child(3) .jp-GLM-response[data-status=done]")
    assert "ZeroDivisionError" in cell(page, 2).locator(".jp-GLM-content").inner_text()
    sent = server.sim.requests[-1]["body"]["messages"][-1]["content"]
    assert "sum(values) / (len(values) - 2)" in sent
    shot(page, "lab-06-explain-this-error")
    page.js_errors.check()


def test_ask_about_a_cell_from_the_palette(page: Any, server: Server) -> None:
    source = "squares = [n * n for n in range(1, 5)]\nprint(squares)"
    start_notebook(page, server, "ask.ipynb", source)
    run_cell(page, 1)
    wait_idle(page)
    select_cell(page, 1)
    page.keyboard.press("Control+Shift+C")
    palette = page.locator("#command-palette input, .lm-CommandPalette-input").first
    palette.fill("Ask GLM about this cell")
    page.keyboard.press("Enter")
    page.wait_for_selector(".jp-Cell:nth-child(3) .jp-GLM-response[data-status=done]")
    assert cell_sources(page)[2].startswith("%%glm --cell ")
    assert "squares the numbers" in cell(page, 2).locator(".jp-GLM-content").inner_text()
    sent = server.sim.requests[-1]["body"]["messages"][-1]["content"]
    assert "[1, 4, 9, 16]" in sent
    shot(page, "lab-07-ask-about-this-cell")
    page.js_errors.check()


def test_approve_one_agent_step_and_reject_another(page: Any, server: Server) -> None:
    start_notebook(
        page,
        server,
        "agent.ipynb",
        "%%glm --agent\nAgent task: set two variables.",
        "print(approved_value, 'rejected_value' in globals())",
    )
    run_cell(page, 1)
    agent = cell(page, 1)

    approve = agent.locator("button.widget-button:has-text('Approve')").first
    approve.wait_for()
    step = agent.locator(".jp-GLM-step").first
    assert "approved_value = 6 * 7" in step.locator(".jp-GLM-step-args").inner_text()
    shot(page, "lab-08-agent-step-waiting")
    approve.click()
    page.wait_for_selector(".jp-GLM-step[data-status=done]")

    reject = agent.locator("button.widget-button:has-text('Reject')")
    page.wait_for_function("() => document.querySelectorAll('.jp-GLM-step').length === 2")
    reject.last.wait_for()
    assert "rejected_value" in agent.locator(".jp-GLM-step").nth(1).inner_text()
    reject.last.click()
    page.wait_for_selector(".jp-GLM-step[data-status=rejected]")
    page.wait_for_selector(".jp-Cell:nth-child(2) .jp-GLM-response[data-status=done]")
    wait_idle(page)
    assert "You rejected the second step" in agent.locator(".jp-GLM-content").last.inner_text()
    shot(page, "lab-09-agent-approved-and-rejected")

    run_cell(page, 2)
    wait_idle(page)
    page.wait_for_selector(".jp-Cell:nth-child(3) .jp-OutputArea-output:has-text('42 False')")
    page.js_errors.check()


def test_the_run_header_shows_the_plan_and_where_the_run_stands(page: Any, server: Server) -> None:
    start_notebook(page, server, "plan.ipynb", "%%glm --agent\nPlan task: plan the work.")
    run_cell(page, 1)
    agent = cell(page, 1)
    header = agent.locator(".jp-RenderedMarkdown:has-text('Agent run')").first
    header.wait_for()
    # Live, while the answer still streams: the plan, the step, and the Stop button.
    header.locator("text=Fit a baseline").wait_for()
    stop = agent.locator("button.widget-button:has-text('Stop after this step')")
    stop.wait_for()
    shown = header.inner_text()
    assert "Look at the data first, then fit." in shown
    assert "running · step 1" in shown
    assert header.locator("del:has-text('Load the data')").count() == 1  # completed
    assert header.locator("strong:has-text('Fit a baseline')").count() == 1  # in progress
    assert "Try two features" in shown
    shot(page, "lab-10-run-header-live")
    page.wait_for_selector(".jp-Cell:nth-child(2) .jp-GLM-response[data-status=done]")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.jp-RenderedMarkdown')]"
        ".some(e => e.innerText.includes('Agent run') && e.innerText.includes('done'))"
    )
    wait_idle(page)
    assert agent.locator("button.widget-button:has-text('Stop after this step')").count() == 0
    step = agent.locator(".jp-GLM-step").first
    assert "update_plan" in step.inner_text()
    shot(page, "lab-11-run-header-done")
    page.js_errors.check()


def test_ghost_text_knows_the_kernel_columns_and_tab_accepts(page: Any, server: Server) -> None:
    # The column's name is made at run time: no cell's text ever spells it.
    start_notebook(
        page,
        server,
        "complete.ipynb",
        "import pandas as pd\n"
        "sales = pd.DataFrame({k: [1.5, 2.5] for k in ('quarter_' + 'revenue', 'units')})",
        "",
    )
    run_cell(page, 1)
    wait_idle(page)
    before = len([r for r in server.sim.requests if r["method"] == "POST"])
    select_cell(page, 2)
    page.keyboard.press("Enter")  # edit mode in the empty cell
    page.keyboard.type("total = ", delay=40)
    ghost = cell(page, 2).locator(".jp-GhostText")
    ghost.wait_for()
    page.wait_for_function(
        "() => document.querySelector('.jp-GhostText')?.textContent.includes('quarter_revenue')"
    )
    shot(page, "lab-12-ghost-text")
    page.keyboard.press("Tab")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.activeCell.model.sharedModel"
        ".getSource() === \"total = sales['quarter_revenue'].sum()\""
    )
    assert cell(page, 2).locator(".jp-GhostText").count() == 0
    sent = [r for r in server.sim.requests if r["method"] == "POST"][before:]
    assert sent, "no completion request reached the model"
    prompt = sent[-1]["body"]["messages"][-1]["content"]
    assert "quarter_revenue: float64" in prompt
    assert "1.5" not in prompt.split("Cells above")[0]  # names and types, never values
    # Completions have a status bar line of their own, counted by the kernel's ledger.
    status = page.locator(".jp-GLM-assist-status")
    status.wait_for()
    assert status.inner_text().startswith("GLM completions ")
    assert " tokens)" in status.inner_text()

    # Typing on cancels the ghost text.
    page.keyboard.press("Enter")
    page.keyboard.type("again = ", delay=40)
    ghost.wait_for()
    page.keyboard.type("x", delay=0)
    page.wait_for_function(
        "() => !document.querySelector('.jp-GhostText')"
        " || !document.querySelector('.jp-GhostText').textContent.includes('quarter_revenue')"
    )
    page.js_errors.check()


def test_completions_come_while_an_answer_streams_in_another_cell(
    page: Any, server: Server
) -> None:
    start_notebook(
        page,
        server,
        "busy.ipynb",
        "import pandas as pd\n"
        "sales = pd.DataFrame({k: [1.5, 2.5] for k in ('quarter_' + 'revenue', 'units')})",
        "%%glm\nA long answer, please: stream while I type.",
        "",
    )
    run_cell(page, 1)
    wait_idle(page)
    run_cell(page, 2)
    page.wait_for_selector(".jp-Cell:nth-child(3) .jp-GLM-response[data-status=streaming]")
    select_cell(page, 3)
    page.keyboard.press("Enter")
    page.keyboard.type("total = ", delay=40)
    page.wait_for_function(
        "() => document.querySelector('.jp-GhostText')?.textContent.includes('quarter_revenue')"
    )
    # The kernel is still busy with the answer: its shell waits, the completion did not.
    streaming = ".jp-Cell:nth-child(3) .jp-GLM-response[data-status=streaming]"
    assert page.locator(streaming).count() == 1
    shot(page, "lab-14-ghost-text-while-streaming")
    page.keyboard.press("Escape")
    page.wait_for_selector(".jp-Cell:nth-child(3) .jp-GLM-response[data-status=done]")
    page.js_errors.check()


def test_without_rows_completion_requests_carry_no_values(page: Any, server: Server) -> None:
    # The values exist only at run time; the cell prints one of them.
    start_notebook(
        page,
        server,
        "private.ipynb",
        "%config GLM.send_rows = False\nimport pandas as pd\n"
        "visits = pd.DataFrame({'private_' + 'score': [x * 7.25 for x in (11, 13)]})\n"
        "print(visits.iloc[0, 0])",
        "",
    )
    run_cell(page, 1)
    wait_idle(page)
    before = len([r for r in server.sim.requests if r["method"] == "POST"])
    select_cell(page, 2)
    page.keyboard.press("Enter")
    page.keyboard.type("mean = ", delay=40)
    page.wait_for_function(
        "() => document.querySelector('.jp-GhostText')?.textContent.includes('private_score')"
    )
    sent = [r for r in server.sim.requests if r["method"] == "POST"][before:]
    bodies = json.dumps([r["body"] for r in sent if r.get("body")])
    assert "private_score" in bodies  # the column's name goes
    for value in ("79.75", "94.25"):  # its values (one printed in the cell above) do not
        assert value not in bodies
    page.keyboard.press("Escape")
    page.js_errors.check()


LOOP = "units = [3, 5, 8]\ndoubled = []\nfor u in units:\n    doubled.append(u * 2)"
VECTORISED = "units = [3, 5, 8]\ndoubled = [u * 2 for u in units]"
SOURCE_OF_ACTIVE = (
    "() => window.jupyterapp.shell.currentWidget.content.activeCell.model.sharedModel.getSource()"
)


def test_inline_edit_shows_a_diff_accept_applies_and_undo_restores(
    page: Any, server: Server
) -> None:
    start_notebook(page, server, "edit.ipynb", LOOP)
    select_cell(page, 1)
    # Not awaited: the command runs until the person answers its dialogs.
    page.evaluate("() => { window.jupyterapp.commands.execute('glm-jupyter:edit-cell'); }")
    prompt = page.locator(".jp-Dialog input")
    prompt.wait_for()
    prompt.fill("vectorise this loop")
    page.keyboard.press("Enter")
    page.wait_for_selector(".jp-Dialog .jp-GLM-diff")
    accept = page.locator(".jp-Dialog .jp-mod-accept")
    page.wait_for_function(
        "() => !document.querySelector('.jp-Dialog .jp-mod-accept').hasAttribute('disabled')"
    )
    added = page.locator(".jp-GLM-diff-add").all_inner_texts()
    removed = page.locator(".jp-GLM-diff-del").all_inner_texts()
    assert added == ["+ doubled = [u * 2 for u in units]"]
    assert "-     doubled.append(u * 2)" in removed
    assert page.locator(".jp-GLM-diff-same").first.inner_text() == "  units = [3, 5, 8]"
    shot(page, "lab-13-inline-edit-diff")
    accept.click()
    page.wait_for_function(f"() => ({SOURCE_OF_ACTIVE})() === {VECTORISED!r}")
    status = page.locator(".jp-GLM-assist-status")
    assert status.inner_text().startswith("GLM edits 1 ("), status.inner_text()
    select_cell(page, 1)
    page.keyboard.press("Enter")  # into the cell's editor
    page.keyboard.press("Control+z")  # one undo
    page.wait_for_function(f"() => ({SOURCE_OF_ACTIVE})() === {LOOP!r}")
    page.js_errors.check()


def test_chat_panel_send_and_enter(page: Any, server: Server) -> None:
    start_notebook(page, server, "chat.ipynb", "import glm_jupyter\nglm_jupyter.chat()")
    run_cell(page, 1)
    wait_idle(page)
    panel = cell(page, 1)
    prompt = panel.locator(".widget-textarea textarea")
    prompt.wait_for()

    # Typed, then the Send button: the answer streams into the panel through the renderer.
    prompt.fill("How do I sort a list of numbers?")
    panel.locator("button.widget-button:has-text('Send')").click()
    page.wait_for_selector(".jp-Cell:nth-child(2) .jp-GLM-response[data-status=done]")
    response = panel.locator(".jp-GLM-response").first
    assert "sorted(numbers)" in response.locator(".jp-GLM-content").inner_text()
    assert "How do I sort a list of numbers?" in panel.inner_text()
    assert prompt.input_value() == ""
    shot(page, "lab-10-chat-panel")

    # Enter sends too, and the follow-up continues the same conversation.
    prompt.click()
    page.keyboard.type("And in reverse?")
    page.keyboard.press("Enter")
    page.wait_for_function(
        """() => document.querySelectorAll(
            '.jp-Cell:nth-child(2) .jp-GLM-response[data-status=done]').length === 2"""
    )
    assert "reverse=True" in panel.locator(".jp-GLM-content").last.inner_text()
    sent = [
        m["content"] for m in server.sim.requests[-1]["body"]["messages"] if m["role"] == "user"
    ]
    assert sent == ["How do I sort a list of numbers?", "And in reverse?"]
    # The panel frees the button once the kernel has finished the reply, a message after it.
    panel.locator("button.widget-button:has-text('Send'):enabled").wait_for()
    shot(page, "lab-11-chat-panel-follow-up")
    page.js_errors.check()
