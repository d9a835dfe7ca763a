"""`%glm autoexplain on`: an "Explain this error" button under every cell that raises.

The click arrives as a widget message between cells, so there is no running cell to print into:
the explanation streams into an Output widget by setting its `outputs`, which every front end
that renders widgets keeps in sync.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..core.prompts import EXPLAIN
from ..core.request import ContextRequest, Request
from ..display.render import DisplayRenderer

if TYPE_CHECKING:
    from ..agent.runs import Agents
    from ..context.kernel_log import ErrorRecord
    from ..core.session import Session


class ExplainButton:
    """A button and the output area its explanation streams into."""

    def __init__(self, session: Session, record: ErrorRecord) -> None:
        import ipywidgets as widgets

        self.session = session
        self.record = record
        self.button = widgets.Button(
            description="Explain this error",
            icon="question-circle",
            button_style="info",
            tooltip=f"Ask GLM about this {record.type_name}",
        )
        self.output = widgets.Output()
        self.button.on_click(self._clicked)
        self.widget = widgets.VBox([self.button, self.output])
        self._shown = False

    def _publish(self, bundle: dict[str, Any], update: bool) -> None:
        self._shown = True
        self.output.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def _clicked(self, _button: Any = None) -> None:
        self.button.disabled = True
        request = Request(EXPLAIN, context=ContextRequest(error_record=self.record))
        interval = self.session.config.update_interval
        try:
            self.session.ask(request, renderer=DisplayRenderer(interval, publish=self._publish))
        except BaseException as exc:  # a widget callback has nowhere to raise to
            if not self._shown:  # an error before any answer (no key, bad settings)
                text = f"{type(exc).__name__}: {exc}"
                self._publish({"text/plain": text, "text/markdown": f"**{text}**"}, False)
            self.button.disabled = False


class AutoExplain:
    """Shows an `ExplainButton` after each cell that raises, while on."""

    def __init__(self, session: Session, agents: Agents) -> None:
        self.session = session
        self.agents = agents
        self.enabled = False
        self.last: ExplainButton | None = None

    def set(self, word: str) -> str:
        """`on`, `off`, or "" to ask; returns what is now the case."""
        events = self.session.shell.events
        if word == "on" and not self.enabled:
            events.register("post_run_cell", self._post_run_cell)
            self.enabled = True
        elif word == "off" and self.enabled:
            events.unregister("post_run_cell", self._post_run_cell)
            self.enabled = False
        state = "on: cells that raise get an *Explain this error* button" if self.enabled else "off"
        return f"Automatic error explanations are {state}."

    def _post_run_cell(self, result: Any) -> None:
        error = result.error_in_exec or result.error_before_exec
        log = self.session.log
        if error is None or isinstance(error, KeyboardInterrupt) or log is None:
            return
        if self.agents.running:
            return  # the agent's own code: the model hears of its errors and fixes them
        if log.last_error is None:
            return
        from IPython.display import display

        self.last = ExplainButton(self.session, log.last_error)
        display(self.last.widget)
