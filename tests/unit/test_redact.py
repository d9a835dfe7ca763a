"""Credentials in a base URL: masked in every message, repr, table and cache key; still sent."""

from __future__ import annotations

import asyncio
import base64
import pickle
import traceback
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from glm_jupyter import errors
from glm_jupyter.batch.cache import request_key
from glm_jupyter.config.keys import Secret
from glm_jupyter.config.providers import PROVIDERS
from glm_jupyter.config.settings import GLM, resolve
from glm_jupyter.redact import redact_text, redact_url, secret_name
from glm_jupyter.reply import Reply
from glm_jupyter.wire.client import AsyncClient, Client, Endpoint
from glm_jupyter.wire.failures import ErrorContext, RetryPolicy
from glm_jupyter.wire.served import served_section
from glm_jupyter.wire.urls import join_url

from ..chunks import ZAI_CHUNKS, Script, error_response, sse_bytes, sse_response

PW, TOK = "pw-SECRET", "tok-SECRET"
CREDENTIALED = f"http://user:{PW}@127.0.0.1:9/v1?api_key={TOK}"
SHOWN = "http://***@127.0.0.1:9/v1?api_key=***"
PAYLOAD: dict[str, Any] = {"model": "glm-5.1", "messages": [{"role": "user", "content": "Hi"}]}
MODES = ["sync", "async"]


def _clean(text: str) -> bool:
    return PW not in text and TOK not in text


def full_text(exc: BaseException) -> str:
    """Everything a traceback, a repr or a log line could show of `exc`."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc) + repr(exc.args)


# --- redact_url ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"http://user:{PW}@127.0.0.1:9/v1", "http://***@127.0.0.1:9/v1"),
        (f"https://{TOK}@github.com/org/repo.git", "https://***@github.com/org/repo.git"),
        (f"http://user:p@ss-{PW}@host/v1", "http://***@host/v1"),  # a raw `@` in the password
        ("http://us%40er:p%3Aw@host:8000", "http://***@host:8000"),
        (f"http://u:{PW}@[::1]:8000/v1/", "http://***@[::1]:8000/v1/"),
        (f"HTTPS://u:{PW}@Host.Example/v1", "HTTPS://***@Host.Example/v1"),
        (f"user:{PW}@host/v1", "***@host/v1"),  # no scheme: still the authority
        (f"//user:{PW}@host/v1", "//***@host/v1"),
        (f"http://u:{PW}@host", "http://***@host"),
        (f"http://u:{PW}@host?x=1", "http://***@host?x=1"),
    ],
)
def test_userinfo_is_masked(url: str, shown: str) -> None:
    assert redact_url(url) == shown


SECRET_NAMES = [
    "key",
    "api_key",
    "apikey",
    "api-key",
    "API_KEY",
    "apiKey",
    "ApiKey",
    "APIKey",
    "x-api-key",
    "X-Api-Key",
    "token",
    "access_token",
    "accessToken",
    "refresh_token",
    "id_token",
    "auth",
    "auth_token",
    "sig",
    "signature",
    "X-Amz-Signature",
    "X-Amz-Credential",
    "X-Amz-Security-Token",
    "secret",
    "client_secret",
    "password",
    "passwd",
    "code",
    "my_key",
    "app_secret",
    "session_token",
    "api%5Fkey",  # percent-encoded underscore
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_each_secret_query_parameter_is_masked(name: str) -> None:
    assert secret_name(name)
    url = f"https://gw.example/v1?model=glm-5&{name}={TOK}&page=2"
    assert redact_url(url) == f"https://gw.example/v1?model=glm-5&{name}=***&page=2"
    # The first parameter, `;` separators and an OAuth-style fragment alike.
    assert redact_url(f"https://h/v1?{name}={TOK}") == f"https://h/v1?{name}=***"
    assert redact_url(f"https://h/v1?a=1;{name}={TOK}") == f"https://h/v1?a=1;{name}=***"
    assert redact_url(f"https://h/cb#{name}={TOK}&x=1") == f"https://h/cb#{name}=***&x=1"


@pytest.mark.parametrize(
    "name", ["model", "page", "stream", "monkey", "sortkey", "keyword", "tokens_per_second", "q"]
)
def test_ordinary_parameters_stay(name: str) -> None:
    assert not secret_name(name)
    url = f"https://h/v1?{name}=value-1"
    assert redact_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://api.z.ai/api/paas/v4",
        "http://127.0.0.1:8000/v1/",
        "http://[::1]:8000/v1",
        "http://localhost:11434/v1?model=glm&&x=&y#frag",
        "http://h/path%20with%2Fescapes/a@b/c",  # an `@` in the path is not userinfo
        "http://@host/v1",  # empty userinfo: nothing to hide
        "http://h/v1?key=",  # an empty value: nothing to hide
        "http://h/v1?key",
        "https://例え.jp/v1?q=ü",
        "",
    ],
)
def test_urls_without_credentials_are_unchanged(url: str) -> None:
    assert redact_url(url) == url
    assert redact_text(url) == url


@pytest.mark.parametrize(
    "junk",
    ["::::", "http://", "http://[::1", "%zz://a@b", "http://h:port/v1", "\x00@\n", "?&=;#", "@"],
)
def test_malformed_input_never_raises(junk: str) -> None:
    assert isinstance(redact_url(junk), str)
    assert isinstance(redact_text(junk, junk), str)


@settings(max_examples=300, deadline=None, database=None)
@given(st.text())
def test_any_text_is_redacted_without_error_and_idempotently(text: str) -> None:
    once = redact_url(text)
    assert redact_url(once) == once
    said = redact_text(text, text)
    assert redact_text(said) == said


USERINFO_CHARS = st.text(st.sampled_from("abcXYZ019-._~!$&'()*+,;=:%@"), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None, database=None)
@given(password=USERINFO_CHARS, query=USERINFO_CHARS.filter(lambda s: not set(s) & set("&;#")))
def test_generated_credentials_never_survive(password: str, query: str) -> None:
    url = f"http://user:PW{password}@host:9/v1?access_token=TK{query}&model=m"
    shown = redact_url(url)
    assert shown.startswith("http://***@host:9/v1?access_token=***")
    assert "PW" not in shown
    assert "TK" not in shown
    message = f"Could not get an answer from {url} (refused)."
    assert "PW" not in redact_text(message)
    assert "TK" not in redact_text(message)


# --- redact_text --------------------------------------------------------------------------------


def test_text_from_the_issue_is_masked() -> None:
    said = (
        f"Could not get an answer from http://user:{PW}@127.0.0.1:9/v1/chat/completions "
        "(ConnectError: All connection attempts failed) after 1 attempt(s)."
    )
    assert redact_text(said) == (
        "Could not get an answer from http://***@127.0.0.1:9/v1/chat/completions "
        "(ConnectError: All connection attempts failed) after 1 attempt(s)."
    )


def test_text_keeps_quotes_punctuation_and_other_urls() -> None:
    said = (
        f"Client error '401 Unauthorized' for url 'http://h/v1/models?api_key={TOK}'\n"
        f"(see https://u:{PW}@proxy/x?code={TOK}). Docs: https://docs.z.ai/guide?page=2."
    )
    assert redact_text(said) == (
        "Client error '401 Unauthorized' for url 'http://h/v1/models?api_key=***'\n"
        "(see https://***@proxy/x?code=***). Docs: https://docs.z.ai/guide?page=2."
    )
    assert redact_text(repr(httpx.URL(CREDENTIALED))) == f"URL('{SHOWN}')"


def test_text_without_urls_is_the_same_object() -> None:
    text = "nothing to see: user@example.com, a=1&token=x"
    assert redact_text(text) is text


def test_known_credentials_are_masked_outside_urls_too() -> None:
    # A proxy that echoes the decoded password, or a request line without scheme and host.
    url = "http://user:p%40ss-word-1@h/v1?api_key=" + TOK
    said = f"bad password p@ss-word-1 for POST /v1/chat/completions?api_key={TOK}"
    assert redact_text(said, url) == "bad password *** for POST /v1/chat/completions?api_key=***"


# --- exceptions ---------------------------------------------------------------------------------


def test_every_glm_error_masks_its_args() -> None:
    exc = errors.ConnectionFailedError(f"no answer from {CREDENTIALED} now", 3)
    assert exc.args == (f"no answer from {SHOWN} now", 3)
    assert _clean(full_text(exc))
    assert "***@" in str(exc)
    assert _clean(repr(pickle.loads(pickle.dumps(exc))))
    api = errors.AuthenticationError(f"{CREDENTIALED} said no", status=401, code="1001")
    assert _clean(full_text(api))
    assert (api.status, api.code) == (401, "1001")


def test_error_context_keeps_only_the_shown_url() -> None:
    ctx = ErrorContext(PROVIDERS["vllm"], CREDENTIALED, "m")
    assert ctx.base_url == SHOWN
    assert _clean(repr(ctx))


# --- the client: sent whole, shown masked -------------------------------------------------------


def _endpoint(key: str | None = None, base: str = CREDENTIALED) -> Endpoint:
    provider = PROVIDERS["zai" if key else "vllm"]
    return Endpoint(provider, base, Secret(key) if key else None, retry=RetryPolicy(max_retries=0))


def _fail(mode: str, script: Script, ep: Endpoint) -> errors.GLMError:
    if mode == "sync":
        with Client(ep, transport=script.transport) as client, pytest.raises(errors.GLMError) as e:
            list(client.stream(PAYLOAD))
        return e.value

    async def main() -> errors.GLMError:
        async with AsyncClient(ep, transport=script.transport) as client:
            with pytest.raises(errors.GLMError) as e:
                _ = [event async for event in client.stream(PAYLOAD)]
        return e.value

    return asyncio.run(main())


@pytest.mark.parametrize("mode", MODES)
def test_refused_connection_masks_the_url_everywhere(mode: str) -> None:
    # httpx's own error quotes the URL; it must not travel with ours.
    script = Script(httpx.ConnectError(f"refused: {CREDENTIALED}"))
    exc = _fail(mode, script, _endpoint())
    assert isinstance(exc, errors.ConnectionFailedError)
    shown = "http://***@127.0.0.1:9/v1/chat/completions?api_key=***"
    assert str(exc).startswith(f"Could not get an answer from {shown} (ConnectError: refused: ")
    assert _clean(full_text(exc))
    assert exc.__cause__ is None
    assert exc.__suppress_context__
    # Sent whole: the path before the query, the query kept, the userinfo as basic auth.
    (request,) = script.requests
    assert str(request.url) == f"http://user:{PW}@127.0.0.1:9/v1/chat/completions?api_key={TOK}"
    sent = base64.b64decode(request.headers["authorization"].removeprefix("Basic ")).decode()
    assert sent == f"user:{PW}"


ECHO = f"denied for {CREDENTIALED} (password {PW}, token {TOK})"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "reply",
    [
        error_response(401, "1001", ECHO),
        error_response(404, None, ECHO),
        error_response(400, "1211", ECHO),
        error_response(503, None, ECHO),
        httpx.Response(401, text=ECHO),
        httpx.Response(404, text="Not Found"),
        sse_response(sse_bytes(ZAI_CHUNKS[:2], done=False)),  # cut short: StreamInterruptedError
        sse_response(sse_bytes(ZAI_CHUNKS[:2], done=False), error=httpx.ReadError(ECHO)),
    ],
    ids=lambda r: f"{r.status_code}-{r.headers.get('content-type', '')[:16]}",
)
def test_server_errors_mask_the_url_and_echoed_credentials(
    mode: str, reply: httpx.Response
) -> None:
    exc = _fail(mode, Script(reply), _endpoint(key="sk-KEY-0123456789"))
    assert _clean(full_text(exc)), str(exc)
    assert "sk-KEY-0123456789" not in full_text(exc)


def test_endpoint_repr_and_urls() -> None:
    ep = _endpoint(key="sk-KEY-0123456789")
    assert _clean(repr(ep))
    assert "sk-KEY" not in repr(ep)
    assert f"base_url='{SHOWN}'" in repr(ep)
    assert ep.url == f"http://user:{PW}@127.0.0.1:9/v1/chat/completions?api_key={TOK}"
    assert ep.shown_url == "http://***@127.0.0.1:9/v1/chat/completions?api_key=***"
    assert ep.shown_base_url == SHOWN
    assert hash(ep) == hash(_endpoint(key="sk-KEY-0123456789"))  # still a dict key


@pytest.mark.parametrize(
    ("base", "joined"),
    [
        ("http://h/v1", "http://h/v1/models"),
        ("http://h/v1/", "http://h/v1/models"),
        ("http://h/v1?api_key=t", "http://h/v1/models?api_key=t"),
        ("http://h/v1/?a=1#f", "http://h/v1/models?a=1#f"),
    ],
)
def test_paths_go_before_the_query(base: str, joined: str) -> None:
    assert join_url(base, "/models") == joined


# --- settings, %glm models, the reply, the batch cache -----------------------------------------


def test_settings_repr_and_config_rows_mask_the_url() -> None:
    s = resolve(GLM(), env={"GLM_PROVIDER": "vllm", "GLM_BASE_URL": CREDENTIALED})
    assert s.base_url == CREDENTIALED  # what is sent
    assert _clean(repr(s))
    rows = {name: value for name, value, _ in s.describe()}
    assert rows["base_url"] == SHOWN


@pytest.mark.parametrize("status", [401, 404, 500])
def test_models_listing_failure_masks_the_url(status: int) -> None:
    s = resolve(GLM(), env={"GLM_PROVIDER": "vllm", "GLM_BASE_URL": CREDENTIALED})
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, text=ECHO)

    text = served_section(s, httpx.MockTransport(handler))
    assert _clean(text), text
    assert f"`{SHOWN}`" in text
    assert str(seen[0].url) == f"http://user:{PW}@127.0.0.1:9/v1/models?api_key={TOK}"


def test_reply_error_is_masked_for_the_bundle() -> None:
    reply = Reply("glm-5", "vllm")
    reply.end("error", f"RuntimeError: {CREDENTIALED} failed")
    assert reply.error == f"RuntimeError: {SHOWN} failed"


def test_cache_key_holds_no_credential() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    key = request_key("vllm", CREDENTIALED, body)
    # The same key as for the masked URL: nothing derived from the credentials reaches the disk.
    assert key == request_key("vllm", SHOWN, body)
    assert key == request_key("vllm", "http://other:pw2@127.0.0.1:9/v1?api_key=t2", body)
    assert key != request_key("vllm", "http://***@127.0.0.1:10/v1?api_key=***", body)


# --- the kernel log -----------------------------------------------------------------------------


def test_kernel_log_masks_outputs_and_errors(shell: Any) -> None:
    from glm_jupyter.ipython.extension import _ACTIVE

    log = _ACTIVE[id(shell)].session.log
    shell.run_cell(f"print('proxy at {CREDENTIALED}')")
    shell.run_cell(f"raise ValueError('cannot reach {CREDENTIALED}')")
    record = log.last_error
    assert record is not None
    assert _clean(record.message + record.traceback)
    assert "***@" in record.message
    assert all(_clean(out) for cell in log.cells for out in cell.outputs)
