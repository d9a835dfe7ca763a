"""A real kernel driven through jupyter_client, with every iopub message it sends counted, and
optionally a front end of our own that follows streams over the delta channel as the
JupyterLab extension does. Used by the kernel tests and the `stream_wire_ratio_fallback`
benchmark."""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.manager import KernelManager, start_new_kernel

from glm_jupyter.display.channel import TARGET
from glm_jupyter.examples import kernel_env
from glm_jupyter.schemas import RESPONSE_MIME


@dataclass
class Follower:
    """A stream's text as a following view assembles it from deltas."""

    stream_id: str
    reasoning: str = ""
    content: str = ""
    tools: dict[int, str] = field(default_factory=dict)
    deltas: int = 0
    ended: str | None = None
    gaps: int = 0

    def apply(self, data: dict[str, Any]) -> None:
        """Take one channel message for this stream."""
        if "end" in data:
            self.ended = data["end"]
            return
        self.deltas += 1
        for key in ("reasoning", "content"):
            if key in data:
                at, text = data[key]
                setattr(self, key, self._join(getattr(self, key), at, text))
        for tool in data.get("tools", ()):
            self.tools[tool["index"]] = self._join(
                self.tools.get(tool["index"], ""), tool["at"], tool["text"]
            )

    def _join(self, have: str, at: int, text: str) -> str:
        if at > len(have):
            self.gaps += 1
            return have
        return have[:at] + text

    def have(self) -> dict[str, Any]:
        """What this view has, as a follow message says it."""
        return {
            "reasoning": len(self.reasoning),
            "content": len(self.content),
            "tools": {str(i): len(t) for i, t in self.tools.items()},
        }


@dataclass
class Run:
    """What one cell's execution sent on iopub."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    bytes: int = 0
    followers: dict[str, Follower] = field(default_factory=dict)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        """The messages of one `msg_type`."""
        return [m for m in self.messages if m["header"]["msg_type"] == kind]

    def responses(self) -> list[dict[str, Any]]:
        """Every response payload shown or updated, in order."""
        return [
            m["content"]["data"][RESPONSE_MIME]
            for m in self.messages
            if m["header"]["msg_type"] in ("display_data", "update_display_data")
            and RESPONSE_MIME in m["content"].get("data", {})
        ]


class KernelWire:
    """One kernel and its client."""

    def __init__(self, manager: KernelManager, client: Any) -> None:
        self.manager, self.client = manager, client
        self._comm_id: str | None = None

    def execute(self, code: str, *, follow_at: int = 0, timeout: float = 300) -> Run:
        """Run `code`; with `follow_at` = N > 0, follow a stream over the delta channel from
        its Nth display message on (1: as soon as the display is created)."""
        client = self.client
        msg_id = client.execute(code, store_history=False)
        run = Run()
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = client.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise TimeoutError(f"no idle within {timeout} s for {code[:60]!r}") from None
            if msg["parent_header"].get("msg_id") != msg_id and msg["header"]["msg_type"] not in (
                "comm_msg",
                "comm_close",
            ):
                continue
            run.messages.append(msg)
            run.bytes += sum(len(part) for part in client.session.serialize(msg))
            kind = msg["header"]["msg_type"]
            payload = msg["content"].get("data", {}).get(RESPONSE_MIME)
            if follow_at and kind in ("display_data", "update_display_data") and payload:
                stream_id = payload.get("stream_id")
                shown = sum(1 for r in run.responses() if r.get("stream_id") == stream_id)
                if stream_id and shown == follow_at:
                    self._follow(run, stream_id)
            elif kind == "comm_msg" and msg["content"]["comm_id"] == self._comm_id:
                data = msg["content"]["data"]
                follower = run.followers.get(data.get("stream", ""))
                if follower is not None:
                    follower.apply(data)
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                return run
            if time.monotonic() > deadline:
                raise TimeoutError(f"no idle within {timeout} s for {code[:60]!r}")

    def _follow(self, run: Run, stream_id: str) -> None:
        follower = run.followers.setdefault(stream_id, Follower(stream_id))
        data = {"follow": stream_id, "have": follower.have()}
        if self._comm_id is None:
            self._comm_id = "view-" + stream_id
            content = {"comm_id": self._comm_id, "target_name": TARGET, "data": data}
            self.client.shell_channel.send(self.client.session.msg("comm_open", content))
        else:
            self.comm_send(data)

    def comm_send(self, data: dict[str, Any]) -> None:
        """Send a view's message on the open channel."""
        content = {"comm_id": self._comm_id, "data": data}
        self.client.shell_channel.send(self.client.session.msg("comm_msg", content))

    def ask(self, data: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        """Send a view's message while the kernel is idle; its answer on the channel."""
        self.comm_send(data)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(queue.Empty):
                msg = self.client.get_iopub_msg(timeout=0.5)
                if msg["header"]["msg_type"] == "comm_msg":
                    return dict(msg["content"]["data"])
        raise TimeoutError(f"no answer to {data}")


@contextlib.contextmanager
def kernel(base_url: str) -> Iterator[KernelWire]:
    """A fresh kernel pointed at the simulator at `base_url`, with glm_jupyter loaded."""
    manager, client = start_new_kernel(kernel_name="python3", env=kernel_env(base_url))
    wire = KernelWire(manager, client)
    try:
        wire.execute("%load_ext glm_jupyter")
        yield wire
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
