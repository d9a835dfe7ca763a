"""`glm_jupyter.chat()`: a chat panel in the notebook, made of core ipywidgets only.

It is a front on the kernel's `Session`, like `%%glm`: one conversation, the same settings
and the same classroom policy. A click arrives as a widget message between cells, so (as for
the "Explain this error" button) each answer streams into an Output widget by setting its
`outputs` to the response bundle, which JupyterLab, Notebook 7 and VS Code all keep in sync.

The module is not called `chat`: importing `glm_jupyter.chat` would replace the package's
lazy `chat` function with the module of that name.
"""

from __future__ import annotations

import html
import weakref
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from IPython.core.error import UsageError

from ..context.builder import is_frame
from ..core.request import ContextRequest, Request
from ..display.render import DisplayRenderer
from ..errors import GLMError

if TYPE_CHECKING:
    from ..core.session import Session

__all__ = ["ChatPanel", "Exchange", "chat"]

NO_FRAME = ""  # the dropdown's value for "no dataframe"
# Panels whose attachment choices follow the cells that run (see `_after_cell`).
_OPEN: weakref.WeakSet[ChatPanel] = weakref.WeakSet()


def chat(*, session: Session | None = None) -> ChatPanel:
    """A chat panel on `session`, by default the one `%%glm` uses (loading glm_jupyter)."""
    if session is None:
        from .extension import kernel_session

        try:
            session = kernel_session()  # the kernel's session: one conversation with %%glm
        except RuntimeError:
            raise RuntimeError(
                "glm_jupyter.chat() needs a notebook; elsewhere pass session=glm_jupyter.Session()."
            ) from None
    return ChatPanel(session)


class Exchange:
    """One message in the panel and the answer that streams in under it."""

    def __init__(self, text: str, frame: str = "", error: bool = False) -> None:
        attached = [f"<code>{html.escape(frame)}</code>"] if frame else []
        if error:
            attached.append("the last error")
        note = f" <small>(with {', '.join(attached)})</small>" if attached else ""
        self.question = widgets.HTML(
            f'<div style="white-space: pre-wrap; margin-top: 0.5em"><b>You</b>{note}\n'
            f"{html.escape(text)}</div>"
        )
        self.answer = widgets.Output()
        self.widget = widgets.VBox([self.question, self.answer])
        self.shown = False  # whether the answer's display exists (it then shows its own errors)

    def publish(self, bundle: dict[str, Any], update: bool) -> None:
        """DisplayRenderer's callback: show the response bundle as it stands."""
        self.shown = True
        self.answer.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def refuse(self, message: str) -> None:
        """Show why nothing was sent, as one plain message."""
        quoted = html.escape(message, quote=False).replace("\n", "\n> ")
        data = {"text/plain": message, "text/markdown": f"> **Not sent:** {quoted}"}
        self.answer.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)


class ChatPanel:
    """The chat panel: history, a prompt box, Send, and what to attach to the next message."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.exchanges: list[Exchange] = []
        self._busy = False
        self.history = widgets.VBox()
        self.prompt = widgets.Textarea(
            placeholder="Ask GLM about your code, data or an error. Enter sends.",
            rows=3,
            layout=widgets.Layout(width="100%"),
        )
        self.send_button = widgets.Button(
            description="Send", button_style="primary", icon="paper-plane"
        )
        self.attach_frame = widgets.Dropdown(
            options=[("No dataframe", NO_FRAME)],
            value=NO_FRAME,
            description="Data",
            tooltip="A dataframe whose summary goes with the next message",
            style={"description_width": "initial"},
            layout=widgets.Layout(width="auto"),
        )
        self.attach_error = widgets.ToggleButton(
            description="Attach last error", icon="bug", layout=widgets.Layout(width="auto")
        )
        self.new_button = widgets.Button(
            description="New conversation", icon="plus", layout=widgets.Layout(width="auto")
        )
        controls = widgets.HBox(
            [self.send_button, self.attach_frame, self.attach_error, self.new_button],
            layout=widgets.Layout(flex_flow="row wrap"),
        )
        self.widget = widgets.VBox(
            [self.history, self.prompt, controls],
            layout=widgets.Layout(border="1px solid #bbb", padding="4px 8px"),
        )
        self.send_button.on_click(lambda _button: self.send())
        self.new_button.on_click(lambda _button: self.new_conversation())
        self.prompt.observe(self._typed, "value")
        self.refresh()
        shell = session.shell
        if getattr(shell, "events", None) is not None:
            _OPEN.add(self)
            if _after_cell not in shell.events.callbacks["post_run_cell"]:
                shell.events.register("post_run_cell", _after_cell)

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # Shown as the last line of a cell or with display(): the attachment choices are fresh.
        self.refresh()
        data = dict(self.widget._repr_mimebundle_(**kwargs))
        # What a reader sees where widgets do not render (GitHub, nbconvert, a terminal).
        data["text/plain"] = (
            "GLM chat panel: it shows in JupyterLab, Notebook 7 and VS Code with a running kernel."
        )
        return data

    def _typed(self, change: dict[str, Any]) -> None:
        # Core widgets have no "submit" for a Textarea: one new newline, at the end, is Enter.
        # Not "old + newline": the front end merges keystrokes typed while an update is on its
        # way. Pasted lines of code bring several newlines, so a paste is not sent.
        new, old = change["new"], change["old"]
        if new.endswith("\n") and new.count("\n") == old.count("\n") + 1:
            self.send()

    def refresh(self) -> None:
        """Offer the dataframes now in the notebook, and the last error if there is one."""
        namespace = self.session.shell.user_ns if self.session.shell is not None else {}
        frames = sorted(n for n, v in namespace.items() if not n.startswith("_") and is_frame(v))
        options = [("No dataframe", NO_FRAME), *((_label(n, namespace[n]), n) for n in frames)]
        if list(self.attach_frame.options) != options:
            chosen = self.attach_frame.value
            self.attach_frame.options = options
            self.attach_frame.value = chosen if chosen in frames else NO_FRAME
        log = self.session.log
        error = log.last_error if log is not None else None
        self.attach_error.disabled = error is None
        if error is None:
            self.attach_error.value = False
            self.attach_error.tooltip = "No cell has raised an error yet"
        else:
            where = f" from In [{error.number}]" if error.number is not None else ""
            self.attach_error.tooltip = f"Send the {error.type_name}{where} and its traceback"

    def send(self, text: str | None = None) -> None:
        """Send `text` (by default what the prompt box holds) with the chosen attachments."""
        from_prompt = text is None
        message = (self.prompt.value if text is None else text).strip()
        if self._busy or not message:
            return
        frame, error = self.attach_frame.value, bool(self.attach_error.value)
        exchange = Exchange(message, frame, error)
        self.exchanges.append(exchange)
        self.history.children = (*self.history.children, exchange.widget)
        if from_prompt:
            self.prompt.value = ""
        self.attach_frame.value, self.attach_error.value = NO_FRAME, False
        request = Request(
            message,
            context=ContextRequest(dataframes=(frame,) if frame else (), error=error),
        )
        renderer = DisplayRenderer(self.session.config.update_interval, exchange.publish)
        self._busy, self.send_button.disabled = True, True
        try:
            self.session.ask(request, renderer=renderer)
        except (Exception, KeyboardInterrupt) as exc:  # a widget callback has nowhere to raise to
            if not exchange.shown:  # refused or failed before anything was sent
                exchange.refuse(self._describe(exc))
                self._restore(message if from_prompt else "", frame, error)
            # Otherwise the answer's own display already says "error" or "interrupted" and
            # keeps what had arrived.
        finally:
            self._busy, self.send_button.disabled = False, False
            self.refresh()

    def _restore(self, text: str, frame: str, error: bool) -> None:
        # Nothing went out: the message and its attachments are back, to edit and send again.
        if text and not self.prompt.value:
            self.prompt.value = text
        self.refresh()
        if frame in [value for _label, value in self.attach_frame.options]:
            self.attach_frame.value = frame
        self.attach_error.value = error and not self.attach_error.disabled

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, KeyboardInterrupt):
            text = "Interrupted before the answer started."
        elif isinstance(exc, (UsageError, GLMError)):
            text = str(exc)  # written for people: what happened and what to do
        else:
            text = f"{type(exc).__name__}: {exc}"
        try:  # the key must not show even if some library put it in a message
            key = self.session.settings().api_key
        except Exception:
            return text
        return key.scrub(text) if key is not None else text

    def new_conversation(self) -> None:
        """Forget the conversation (for `%%glm` too) and clear the panel's history."""
        self.session.conversation.reset()
        self.history.children = ()
        for exchange in self.exchanges:
            _close(exchange.widget)
        self.exchanges.clear()

    def close(self) -> None:
        """Close the panel's widgets; it stops following the notebook's cells."""
        _OPEN.discard(self)
        _close(self.widget)


def _label(name: str, value: Any) -> str:
    shape = getattr(value, "shape", None)  # a polars LazyFrame has none until collected
    if isinstance(shape, tuple) and len(shape) == 2:
        return f"{name} ({shape[0]:,} × {shape[1]:,})"
    return name


def _close(widget: Any) -> None:
    # Closing a box leaves its children's comms open: close the whole tree.
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()


def _after_cell(result: Any) -> None:
    # A cell may have made a dataframe or raised an error: the choices follow without a click.
    for panel in list(_OPEN):
        try:
            panel.refresh()
        except Exception:  # a panel must never turn the person's cells into errors
            _OPEN.discard(panel)
