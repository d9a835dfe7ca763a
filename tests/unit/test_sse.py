"""SSEDecoder: line endings, comments, event names, multi-line data, and arbitrary byte splits."""

from __future__ import annotations

import json

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from glm_jupyter.config.keys import Secret
from glm_jupyter.config.providers import PROVIDERS
from glm_jupyter.messages import Finish, StreamOpened, UsageReport
from glm_jupyter.wire.client import Client, Endpoint
from glm_jupyter.wire.dialects import ChunkParser
from glm_jupyter.wire.failures import RetryPolicy
from glm_jupyter.wire.sse import SSEDecoder

from ..chunks import (
    KEY,
    OPENROUTER_CHUNKS,
    UNICODE_TEXT,
    ZAI_UNICODE_CHUNKS,
    Script,
    content_of,
    feed,
    split_at,
    sse_bytes,
    sse_response,
)


def decode(*pieces: bytes) -> list[tuple[str, bytes]]:
    decoder = SSEDecoder()
    out: list[tuple[str, bytes]] = []
    for piece in pieces:
        out += decoder.feed(piece)
    return out + decoder.close()


# --- line endings -----------------------------------------------------------------------------


def test_lf_events() -> None:
    assert decode(b"data: a\n\ndata: b\n\n") == [("message", b"a"), ("message", b"b")]


def test_crlf_events() -> None:
    assert decode(b"data: a\r\n\r\ndata: b\r\n\r\n") == [("message", b"a"), ("message", b"b")]


def test_lone_cr_events() -> None:
    assert decode(b"data: a\r\rdata: b\r\r") == [("message", b"a"), ("message", b"b")]


def test_mixed_line_endings() -> None:
    assert decode(b"data: a\r\n\ndata: b\n\r\ndata: c\r\r") == [
        ("message", b"a"),
        ("message", b"b"),
        ("message", b"c"),
    ]


def test_crlf_split_between_chunks_is_one_line_ending() -> None:
    # A CR at the end of a chunk followed by LF must not count as two line endings.
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\ndata: b\r") == []
    assert decoder.feed(b"\n\r") == []
    assert decoder.feed(b"\n") == [("message", b"a\nb")]
    assert decoder.close() == []


def test_lone_cr_at_chunk_end_decided_by_next_chunk() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\r") == []  # still might be the first half of a CRLF
    assert decoder.feed(b"data: b\r\r") == [("message", b"a")]
    assert decoder.close() == [("message", b"b")]


def test_every_byte_of_a_crlf_stream_fed_separately() -> None:
    body = b": keep-alive\r\nevent: error\r\ndata: x\r\n\r\ndata: y\r\ndata: z\r\n\r\n"
    pieces = [body[i : i + 1] for i in range(len(body))]
    assert decode(*pieces) == [("error", b"x"), ("message", b"y\nz")]


# --- fields -----------------------------------------------------------------------------------


def test_comment_lines_are_ignored() -> None:
    body = b": OPENROUTER PROCESSING\n\n: OPENROUTER PROCESSING\n\ndata: {}\n\n"
    assert decode(body) == [("message", b"{}")]


def test_comment_line_inside_an_event() -> None:
    assert decode(b"data: a\n: OPENROUTER PROCESSING\ndata: b\n\n") == [("message", b"a\nb")]


def test_comment_only_stream_has_no_events() -> None:
    assert decode(b": OPENROUTER PROCESSING\n\n" * 3) == []


def test_event_error_frame() -> None:
    body = b'event: error\ndata: {"code":"1302","message":"slow down"}\n\ndata: after\n\n'
    assert decode(body) == [
        ("error", b'{"code":"1302","message":"slow down"}'),
        ("message", b"after"),  # the event name does not leak into the next event
    ]


def test_event_name_without_data_is_not_dispatched_and_is_reset() -> None:
    assert decode(b"event: error\n\ndata: x\n\n") == [("message", b"x")]


def test_multi_line_data_joined_with_newline() -> None:
    body = b'data: {"a":\ndata: 1,\ndata:  "b": 2}\n\n'
    ((name, data),) = decode(body)
    assert name == "message"
    assert data == b'{"a":\n1,\n "b": 2}'
    assert json.loads(data) == {"a": 1, "b": 2}


def test_only_one_leading_space_is_removed() -> None:
    assert decode(b"data:x\n\ndata:  y\n\n") == [("message", b"x"), ("message", b" y")]


def test_id_and_retry_fields_are_ignored() -> None:
    assert decode(b"id: 7\nretry: 1000\ndata: x\n\n") == [("message", b"x")]


def test_data_stays_bytes_with_utf8() -> None:
    text = UNICODE_TEXT.encode()
    ((_, data),) = decode(b"data: " + text + b"\n\n")
    assert isinstance(data, bytes)
    assert data.decode() == UNICODE_TEXT


# --- close() ----------------------------------------------------------------------------------


def test_close_flushes_event_without_trailing_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: a\n\ndata: last\n") == [("message", b"a")]
    assert decoder.close() == [("message", b"last")]


def test_close_flushes_event_without_any_newline() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: last") == []
    assert decoder.close() == [("message", b"last")]


def test_close_flushes_event_ending_in_lone_cr() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: last\r") == []
    assert decoder.close() == [("message", b"last")]


def test_close_on_empty_and_twice() -> None:
    decoder = SSEDecoder()
    assert decoder.close() == []
    decoder.feed(b"data: x")
    assert decoder.close() == [("message", b"x")]
    assert decoder.close() == []


def test_close_with_only_a_comment_pending() -> None:
    decoder = SSEDecoder()
    decoder.feed(b": OPENROUTER PROCESSING")
    assert decoder.close() == []


# --- arbitrary byte splits through the whole pipeline ------------------------------------------

NEWLINES = st.sampled_from([b"\n", b"\r\n", b"\r"])
UNICODE_BODY = sse_bytes(ZAI_UNICODE_CHUNKS, comments=[b"OPENROUTER PROCESSING"])
CUTS = st.lists(st.integers(min_value=0, max_value=len(UNICODE_BODY)), max_size=40)


def parse_pipeline(pieces: list[bytes]) -> list[object]:
    """SSEDecoder -> json.loads -> ChunkParser, as the client does."""
    decoder, parser = SSEDecoder(), ChunkParser()
    events: list[object] = []

    def take(frames: list[tuple[str, bytes]]) -> None:
        for _, data in frames:
            if data != b"[DONE]":
                events.extend(feed(parser, json.loads(data)))

    for piece in pieces:
        take(decoder.feed(piece))
    take(decoder.close())
    return events + parser.close()


def test_unicode_body_really_has_multibyte_characters() -> None:
    # The cut positions below land inside these characters.
    assert len(UNICODE_BODY) > len(UNICODE_BODY.decode())
    assert "🙂".encode() in UNICODE_BODY


def test_split_inside_every_multibyte_character() -> None:
    whole = parse_pipeline([UNICODE_BODY])
    for cut in range(len(UNICODE_BODY) + 1):
        assert parse_pipeline(split_at(UNICODE_BODY, [cut])) == whole


@settings(max_examples=300, deadline=None, database=None)
@given(newline=NEWLINES, cuts=CUTS)
def test_pipeline_is_independent_of_byte_splits(newline: bytes, cuts: list[int]) -> None:
    body = sse_bytes(ZAI_UNICODE_CHUNKS, newline=newline, comments=[b"OPENROUTER PROCESSING"])
    whole = parse_pipeline([body])
    assert parse_pipeline(split_at(body, cuts)) == whole
    reasoning, content = content_of(whole)  # type: ignore[arg-type]
    assert reasoning == "Weather in " + UNICODE_TEXT
    assert content == "☀ " + UNICODE_TEXT


def _client(script: Script) -> Client:
    endpoint = Endpoint(
        PROVIDERS["zai"],
        "https://api.z.ai/api/paas/v4",
        Secret(KEY),
        retry=RetryPolicy(base=0.001),
    )
    return Client(endpoint, transport=script.transport)


def stream_pieces(pieces: list[bytes], think_tags: str = "off") -> list[object]:
    script = Script(sse_response(pieces))
    with _client(script) as client:
        events = list(client.stream({"model": "glm-5.1", "messages": []}, think_tags=think_tags))  # type: ignore[arg-type]
    assert len(script.requests) == 1
    return events


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(newline=NEWLINES, cuts=CUTS, openrouter=st.booleans())
def test_client_events_are_independent_of_network_pieces(
    newline: bytes, cuts: list[int], openrouter: bool
) -> None:
    chunks = OPENROUTER_CHUNKS if openrouter else ZAI_UNICODE_CHUNKS
    body = sse_bytes(chunks, newline=newline, comments=[b"OPENROUTER PROCESSING"] * 2)
    whole = stream_pieces([body])
    assert stream_pieces(split_at(body, cuts)) == whole
    assert whole[0] == StreamOpened()
    assert any(isinstance(e, Finish) for e in whole)
    assert any(isinstance(e, UsageReport) for e in whole)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7])
def test_client_with_fixed_size_pieces(size: int) -> None:
    body = sse_bytes(ZAI_UNICODE_CHUNKS, newline=b"\r\n")
    pieces = [body[i : i + size] for i in range(0, len(body), size)]
    events = stream_pieces(pieces)
    assert events == stream_pieces([body])
    assert content_of(events) == ("Weather in " + UNICODE_TEXT, "☀ " + UNICODE_TEXT)  # type: ignore[arg-type]


def test_response_body_pieces_reach_the_client_unmerged() -> None:
    # Guard for the tests above: MockTransport must hand over our pieces as they are.
    seen: list[bytes] = []
    pieces = [b"da", b"ta: x\n", b"\n"]
    transport = httpx.MockTransport(lambda r: sse_response(pieces))
    with httpx.Client(transport=transport) as http, http.stream("GET", "http://x/") as response:
        seen.extend(response.iter_raw())
    assert seen == pieces
