"""`glm_jupyter.chat()`: the chat panel over real HTTP to the simulator, driven through its widget
models; it shares the kernel's conversation, settings and classroom policy with `%%glm`."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import glm_jupyter
from glm_jupyter.config.settings import GLM
from glm_jupyter.display.bundle import MIME_TYPE
from glm_jupyter.ipython.chat_panel import ChatPanel, Exchange
from glm_jupyter.simulator import Simulator

from ..helpers import ANSWER, PRICED, REASONING, SECRET, STRICT, use
from .test_magics import run, turn
from .test_teaching import FAILING

OK = {"default": {"reasoning": REASONING, "content": ANSWER}}


@pytest.fixture
def panels(shell: Any) -> Iterator[Callable[[], ChatPanel]]:
    """`panels()`: `glm_jupyter.chat()` in the test shell; every panel is closed after the test."""
    made: list[ChatPanel] = []

    def make() -> ChatPanel:
        made.append(glm_jupyter.chat())
        return made[-1]

    yield make
    for panel in made:
        panel.close()


def shown(exchange: Exchange) -> dict[str, Any]:
    """The one display in an exchange's answer area."""
    (output,) = exchange.answer.outputs
    return output["data"]  # type: ignore[no-any-return]


def user_messages(sim: Simulator, index: int = -1) -> list[str]:
    body = sim.requests[index]["body"]
    return [m["content"] for m in body["messages"] if m["role"] == "user"]


# --- the panel ------------------------------------------------------------------------------


def test_chat_is_exported_and_stays_a_function() -> None:
    assert "chat" in glm_jupyter.__all__
    # The module is imported above: under the name `chat` it would now shadow the function.
    assert glm_jupyter.chat is glm_jupyter.ipython.chat_panel.chat


def test_the_panel_and_kernel_session_are_the_magics_session(shell: Any, panels: Any) -> None:
    from glm_jupyter.ipython.extension import _ACTIVE

    session = _ACTIVE[id(shell)].session
    assert glm_jupyter.kernel_session() is session
    assert panels().session is session


def test_the_answer_streams_into_the_panel(shell: Any, simulator: Any, panels: Any) -> None:
    from glm_jupyter.ipython.extension import _ACTIVE

    sim = simulator({"default": {"reasoning": REASONING, "content": ANSWER, "usage": {}}})
    use(shell, sim)
    panel = panels()
    assert panel.session is _ACTIVE[id(shell)].session
    statuses: list[str] = []

    def watch(change: dict[str, Any]) -> None:
        for box in change["new"][len(change["old"]) :]:
            box.children[1].observe(
                lambda c: statuses.append(c["new"][0]["data"][MIME_TYPE]["status"]), "outputs"
            )

    panel.history.observe(watch, "children")
    panel.prompt.value = "What is <b>the weather</b> in Florence?"
    panel.send_button.click()

    (exchange,) = panel.exchanges
    assert "What is &lt;b&gt;the weather&lt;/b&gt; in Florence?" in exchange.question.value
    data = shown(exchange)
    response = data[MIME_TYPE]
    assert (response["status"], response["content"]) == ("done", ANSWER)
    assert response["reasoning"] == REASONING
    assert "<details>" in data["text/markdown"]
    assert REASONING in data["text/markdown"]
    assert "(simulator)" in data["text/markdown"]  # the footer
    assert statuses[0] == "streaming"
    assert statuses[-1] == "done"
    assert panel.prompt.value == ""
    assert not panel.send_button.disabled
    assert user_messages(sim) == ["What is <b>the weather</b> in Florence?"]


def test_the_panel_shows_as_its_widget(shell: Any, panels: Any) -> None:
    panel = panels()
    data, _ = shell.display_formatter.format(panel)
    view = data["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == panel.widget.model_id
    assert data["text/plain"].startswith("GLM chat panel")  # not a widget's repr


def test_enter_at_the_end_sends_and_a_paste_does_not(
    shell: Any, simulator: Any, panels: Any
) -> None:
    sim = simulator(OK)
    use(shell, sim)
    panel = panels()
    panel.prompt.value = "print(1)\nprint(2)\n"  # pasted lines: not sent
    assert sim.requests == []
    panel.prompt.value += "What"
    # Enter, with keystrokes the front end merged into one update
    panel.prompt.value += " does this print?\n"
    assert user_messages(sim) == ["print(1)\nprint(2)\nWhat does this print?"]
    assert panel.prompt.value == ""
    panel.prompt.value = "Line one\nline two"  # Enter in the middle is a new line
    assert len(sim.requests) == 1


def test_the_conversation_is_shared_with_the_magic(shell: Any, simulator: Any, panels: Any) -> None:
    sim = simulator(OK)
    use(shell, sim)
    panel = panels()
    panel.send("First, from the panel.")
    assert run(shell, "%%glm\nSecond, from a cell.").result.success
    assert user_messages(sim) == ["First, from the panel.", "Second, from a cell."]
    panel.send("Third, from the panel.")
    assert user_messages(sim)[-3:] == [
        "First, from the panel.",
        "Second, from a cell.",
        "Third, from the panel.",
    ]
    assert len(panel.session.conversation.messages) == 6
    panel.new_button.click()
    assert panel.session.conversation.messages == []
    assert panel.history.children == ()
    assert run(shell, "%%glm\nFresh start.").result.success
    assert user_messages(sim) == ["Fresh start."]


def test_settings_come_from_the_kernel(shell: Any, simulator: Any, panels: Any) -> None:
    sim = simulator(OK)
    use(shell, sim)
    shell.run_line_magic("config", "GLM.model = 'glm-4.7'")
    shell.run_line_magic("config", "GLM.persona = 'tutor'")
    panels().send("hi")
    body = sim.requests[-1]["body"]
    assert body["model"] == "glm-4.7"
    assert "tutor" in body["messages"][0]["content"].lower()


# --- attachments ----------------------------------------------------------------------------


def test_attach_a_dataframe_and_the_last_error(shell: Any, simulator: Any, panels: Any) -> None:
    import pandas as pd

    sim = simulator(OK)
    use(shell, sim)
    panel = panels()
    panel.session.log.last_error = None
    panel.refresh()
    assert panel.attach_frame.options == (("No dataframe", ""),)
    assert panel.attach_error.disabled
    # The choices follow the cells that run, without touching the panel.
    shell.user_ns["sales"] = pd.DataFrame({"units": [1, 2, 3], "price": [10.0, 20.0, 15.0]})
    assert not run(shell, FAILING).result.success
    assert ("sales (3 × 2)", "sales") in panel.attach_frame.options
    assert not panel.attach_error.disabled
    assert "ZeroDivisionError" in panel.attach_error.tooltip

    panel.attach_frame.value = "sales"
    panel.attach_error.value = True
    panel.send("Why does this fail?")
    sent = user_messages(sim)[-1]
    assert "sales" in sent
    assert "units" in sent
    assert "price" in sent
    assert "ZeroDivisionError" in sent
    assert "len(values) - 2" in sent  # the failing cell
    assert sent.endswith("Why does this fail?")
    assert "(with <code>sales</code>, the last error)" in panel.exchanges[-1].question.value
    # Attachments go with one message only.
    assert (panel.attach_frame.value, panel.attach_error.value) == ("", False)
    panel.send("And now?")
    assert "ZeroDivisionError" not in user_messages(sim)[-1]


# --- the classroom policy -------------------------------------------------------------------


def test_a_refused_model_shows_the_policy_message_in_the_panel(
    shell: Any, simulator: Any, panels: Any, classroom: Any
) -> None:
    sim = simulator(PRICED)
    use(shell, sim)
    classroom()
    shell.run_line_magic("config", "GLM.model = 'glm-5'")
    panel = panels()
    panel.prompt.value = "hi"
    panel.send_button.click()
    data = shown(panel.exchanges[-1])
    assert data["text/plain"].startswith("Your course allows glm-4.7-flash only: glm-5")
    assert data["text/plain"].endswith("Ask your instructor for help.")
    assert "Not sent" in data["text/markdown"]
    assert "Traceback" not in json.dumps(data)
    assert sim.requests == []
    # Still usable: the text is back to edit, and once the setting is fixed it goes through.
    assert not panel.send_button.disabled
    assert panel.prompt.value == "hi"
    panel.session.config.model = ""
    panel.send_button.click()
    assert shown(panel.exchanges[-1])[MIME_TYPE]["status"] == "done"
    assert sim.requests[-1]["body"]["model"] == "glm-4.7-flash"


def test_the_token_cap_stops_the_panel_too(
    shell: Any, simulator: Any, panels: Any, classroom: Any
) -> None:
    sim = simulator(PRICED)
    use(shell, sim)
    classroom({**STRICT, "max_tokens_per_session": 400})
    panel = panels()
    panel.send("first")
    assert shown(panel.exchanges[-1])[MIME_TYPE]["status"] == "done"
    panel.send("second")
    message = shown(panel.exchanges[-1])["text/plain"]
    assert message.startswith("You have used 500 of the 400 tokens")
    assert len(sim.requests) == 1
    assert not panel.send_button.disabled


# --- errors ---------------------------------------------------------------------------------


def test_no_api_key_is_a_message(shell: Any, simulator: Any, panels: Any) -> None:
    import pandas as pd

    use(shell, simulator(OK), "zai")
    del os.environ["GLM_API_KEY"]
    shell.user_ns["sales"] = pd.DataFrame({"units": [1, 2, 3]})
    panel = panels()
    panel.prompt.value = "What is in sales?"
    panel.attach_frame.value = "sales"
    panel.send_button.click()
    message = shown(panel.exchanges[-1])["text/plain"]
    assert message.startswith("No API key for")
    assert "ZAI_API_KEY" in message
    assert not panel.send_button.disabled
    # Nothing went out: the message and its attachment are back, to send again.
    assert (panel.prompt.value, panel.attach_frame.value) == ("What is in sales?", "sales")


def test_a_server_error_shows_in_the_answer_without_the_key(
    shell: Any, simulator: Any, panels: Any
) -> None:
    fault = {"kind": "http_error", "status": 401, "code": "1001"}
    use(shell, simulator(turn(content=ANSWER, fault=fault)))
    panel = panels()
    panel.send("hi")
    data = shown(panel.exchanges[-1])
    assert data[MIME_TYPE]["status"] == "error"
    assert "ZAI_API_KEY" in data[MIME_TYPE]["error"]
    assert "**Error:**" in data["text/markdown"]
    assert SECRET not in json.dumps(data)
    assert not panel.send_button.disabled


def test_a_cut_stream_keeps_what_arrived(shell: Any, simulator: Any, panels: Any) -> None:
    fault = {"kind": "cut", "after_tokens": 12}
    use(shell, simulator(turn(reasoning=REASONING, content=ANSWER, fault=fault)))
    panel = panels()
    panel.send("hi")
    response = shown(panel.exchanges[-1])[MIME_TYPE]
    assert response["status"] == "error"
    assert response["reasoning"] + response["content"]
    assert not panel.send_button.disabled
    panel.send("again")  # the panel goes on
    assert len(panel.exchanges) == 2


def test_a_session_of_its_own_outside_ipython(simulator: Any) -> None:
    sim = simulator(OK)
    env = {"GLM_PROVIDER": "vllm", "GLM_BASE_URL": sim.base_url}
    session = glm_jupyter.Session(config=GLM(renderer="terminal"), env=env)
    panel = glm_jupyter.chat(session=session)
    assert panel.attach_error.disabled
    panel.send("hi")
    assert shown(panel.exchanges[-1])[MIME_TYPE]["content"] == ANSWER
    panel.close()
    session.close()


# --- in a real kernel -----------------------------------------------------------------------
