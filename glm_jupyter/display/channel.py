"""The delta channel: a Jupyter comm that the JupyterLab extension opens to the kernel, over
which a streaming reply sends only its new text.

Every page opens its comm under the same id (`COMM_ID`), so the kernel holds one comm for
all of them and each message reaches every page once, where each page's renderers of that
stream take it (a page that knew no comm of that id would log an error for each message).
A view (one page's renderer of one reply) asks over it to follow a
stream by the `stream_id` its payload carries, saying how much text it already has. From then
on the reply's display sends deltas on that comm instead of whole bundles (`display/live.py`).
When the stream has ended the channel answers a follow, or a request for the final bundle,
with that bundle: a page reloaded mid-stream (whose output area is no longer bound to the
running cell) still ends with the exact answer.

Messages, as comm data:
- view to kernel: `{"follow": id, "have": {"reasoning": n, "content": n, "tools": {i: n}}}`,
  `{"final": id}`;
- kernel to view: a delta `{"stream": id, "reasoning": [at, text], "content": [at, text],
  "tools": [...], ...}`, `{"stream": id, "end": status}`, `{"stream": id, "bundle": {...}}`,
  `{"stream": id, "gone": true}` (the kernel no longer holds it).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

TARGET = "glm_jupyter.stream"
COMM_ID = "glm-jupyter-stream"  # the one comm id every page opens (labextension/src/stream.ts)
FINALS_KEPT = 8  # final bundles kept for views that join late (a reload, a second tab)

CatchUp = Callable[[Any, Mapping[str, Any]], None]


class StreamChannel:
    """The kernel's side of the delta channel: the open views and what each follows."""

    def __init__(self) -> None:
        self._views: dict[str, Any] = {}  # comm id -> comm
        self._followers: dict[str, dict[str, Any]] = {}  # stream id -> comm id -> comm
        self._live: dict[str, CatchUp] = {}  # stream id -> sends a newcomer what it lacks
        self._finals: OrderedDict[str, dict[str, Any]] = OrderedDict()

    # --- the comm side -------------------------------------------------------------------------

    def opened(self, comm: Any, message: Mapping[str, Any]) -> None:
        """A view opened a comm to `TARGET` (the comm manager's target callback)."""
        comm_id = str(comm.comm_id)
        self._views[comm_id] = comm
        comm.on_msg(lambda msg: self.received(comm, msg["content"]["data"]))
        comm.on_close(lambda msg: self.closed(comm_id))
        data = message.get("content", {}).get("data")
        if isinstance(data, Mapping):
            self.received(comm, data)

    def received(self, comm: Any, data: Mapping[str, Any]) -> None:
        """A message from a view."""
        if not isinstance(data, Mapping):
            return
        if isinstance(data.get("follow"), str):
            self._follow(comm, data["follow"], data.get("have") or {})
        elif isinstance(data.get("final"), str):
            self._send_final(comm, data["final"])

    def closed(self, comm_id: str) -> None:
        """A view went away (page closed, kernel restarted in the page)."""
        self._views.pop(comm_id, None)
        for followers in self._followers.values():
            followers.pop(comm_id, None)

    def _follow(self, comm: Any, stream_id: str, have: Mapping[str, Any]) -> None:
        catch_up = self._live.get(stream_id)
        if catch_up is None:
            self._send_final(comm, stream_id)
            return
        catch_up(comm, have)  # first, so the newcomer starts level with the others
        self._followers.setdefault(stream_id, {})[str(comm.comm_id)] = comm

    def _send_final(self, comm: Any, stream_id: str) -> None:
        final = self._finals.get(stream_id)
        if final is not None:
            comm.send({"stream": stream_id, "bundle": final})
        elif stream_id not in self._live:
            comm.send({"stream": stream_id, "gone": True})

    # --- the stream side -----------------------------------------------------------------------

    def begin(self, stream_id: str, catch_up: CatchUp) -> None:
        """A reply started streaming; `catch_up(comm, have)` sends a newcomer what it lacks."""
        self._live[stream_id] = catch_up

    def followed(self, stream_id: str) -> bool:
        """Whether any view follows this stream."""
        return bool(self._followers.get(stream_id))

    def send(self, stream_id: str, data: dict[str, Any]) -> None:
        """Send `data` to every view that follows the stream."""
        for comm in list(self._followers.get(stream_id, {}).values()):
            comm.send(data)

    def end(self, stream_id: str, status: str, final: dict[str, Any]) -> None:
        """The stream ended with `final` as its bundle: tell its followers, keep the bundle."""
        self.send(stream_id, {"stream": stream_id, "end": status})
        self._live.pop(stream_id, None)
        self._followers.pop(stream_id, None)
        self._finals[stream_id] = final
        while len(self._finals) > FINALS_KEPT:
            self._finals.popitem(last=False)


_CHANNEL: StreamChannel | None = None


def install(comm_manager: Any) -> StreamChannel:
    """Register the channel's comm target with a kernel's comm manager (once per process)."""
    global _CHANNEL
    if _CHANNEL is None:
        _CHANNEL = StreamChannel()
        comm_manager.register_target(TARGET, _CHANNEL.opened)
    return _CHANNEL


def current() -> StreamChannel | None:
    """The kernel's channel, or None outside a kernel (terminal IPython, plain Python)."""
    return _CHANNEL
