"""Incremental server-sent-events decoder: bytes in, (event, data) pairs out.

The stream is split into lines as bytes, before any text decoding, so a chunk boundary inside a
multi-byte UTF-8 character can never corrupt a line: newlines are ASCII and a complete line is
complete UTF-8. Data stays bytes; `json.loads` takes bytes directly. This is the hot path of every
response, so it works on whole network chunks with `bytes.split` rather than per character.
"""

from __future__ import annotations

_COLON = 58  # ord(":"): a line starting with a colon is a comment (OpenRouter's keep-alives)


class SSEDecoder:
    """Feed it network chunks; it returns the complete events they finish."""

    __slots__ = ("_data", "_event", "_tail")

    def __init__(self) -> None:
        self._tail = b""
        self._event = ""
        self._data: list[bytes] = []

    def feed(self, chunk: bytes) -> list[tuple[str, bytes]]:
        """Decode one chunk of the body; returns the events whose blank line it contains."""
        buf = self._tail + chunk if self._tail else chunk
        if b"\r" in buf:
            # A trailing CR may be the first half of CRLF: keep it until the next chunk decides.
            held = buf.endswith(b"\r")
            if held:
                buf = buf[:-1]
            buf = buf.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if held:
                buf += b"\r"
        lines = buf.split(b"\n")
        self._tail = lines.pop()
        out: list[tuple[str, bytes]] = []
        for line in lines:
            if not line:
                if self._data:
                    out.append((self._event or "message", b"\n".join(self._data)))
                    self._data = []
                self._event = ""
            elif line[0] == _COLON:
                continue
            else:
                name, _, value = line.partition(b":")
                if value[:1] == b" ":
                    value = value[1:]
                if name == b"data":
                    self._data.append(value)
                elif name == b"event":
                    self._event = value.decode("utf-8", "replace")
                # `id:` and `retry:` carry nothing a chat stream needs.
        return out

    def close(self) -> list[tuple[str, bytes]]:
        """End of body: an event not followed by a blank line still counts."""
        out = self.feed(b"\n\n") if (self._tail or self._data) else []
        self._tail = b""
        return out
