"""Credentials written into URLs (`http://user:pw@host`, `?api_key=...`) hidden wherever shown.

People put basic-auth credentials for a proxy in the base URL, and some gateways take the key as
a query parameter. The request needs them; nothing a person sees or a log keeps does. Only the
standard library here: `errors` imports this module, and everything imports `errors`.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import unquote

MASK = "***"
# A parameter is secret when its last word is one of these (api_key, apiKey, X-Api-Key,
# access_token), or when it is one of the names below written as one word (apikey).
_LAST_WORDS = frozenset(
    {"key", "token", "secret", "password", "passwd", "pwd", "signature", "sig", "credential"}
)
_NAMES = frozenset(
    {"auth", "authorization", "bearer", "code", "jwt", "pass", "session", "sessionid"}
    | {"credentials", "apikey", "xapikey", "accesskey", "secretkey", "privatekey", "apisecret"}
    | {"accesstoken", "refreshtoken", "idtoken", "authtoken", "apitoken", "sessiontoken"}
    | {"clientsecret"}
)
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://")
# Userinfo runs to the last `@` before the path: passwords holding a raw `@` happen.
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*://)[^\s/?#\"<>`]+@")
_AUTHORITY_END = re.compile(r"[/?#]")
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>`]+")
_TRAILING = ".,;:!)]}"  # sentence punctuation after a URL in prose is not part of it


def secret_name(name: str) -> bool:
    """Whether a query parameter called `name` carries a credential."""
    words = [w.lower() for w in _WORDS.findall(unquote(name))]
    return bool(words) and (words[-1] in _LAST_WORDS or "".join(words) in _NAMES)


def _params(part: str) -> str:
    """A query or fragment with the values of secret-named parameters masked."""
    pieces = re.split(r"([&;])", part)
    for i in range(0, len(pieces), 2):
        name, eq, value = pieces[i].partition("=")
        if eq and value and secret_name(name):
            pieces[i] = f"{name}={MASK}"
    return "".join(pieces)


def _split(url: str) -> tuple[str, str, str]:
    """(scheme and `//`, authority, the rest) of `url`, by plain string cuts."""
    # Without a scheme (`user:pw@host/v1`, `//user:pw@host`) the authority still comes first.
    scheme = _SCHEME.match(url) or re.match(r"//", url)
    start = scheme.end() if scheme else 0
    cut = _AUTHORITY_END.search(url, start)
    end = cut.start() if cut else len(url)
    return url[:start], url[start:end], url[end:]


def redact_url(url: str) -> str:
    """`url` with its userinfo and secret-named query/fragment values replaced by `***`."""
    head, authority, rest = _split(url)
    at = authority.rfind("@")
    if at > 0:
        authority = MASK + authority[at:]
    path, hashmark, fragment = rest.partition("#")
    path, question, query = path.partition("?")
    return head + authority + path + question + _params(query) + hashmark + _params(fragment)


def _redact_match(match: re.Match[str]) -> str:
    text = match.group(0)
    body = text.rstrip(_TRAILING)
    return redact_url(body) + text[len(body) :]


def redact_text(text: str, url: str = "") -> str:
    """`text` with every URL in it redacted, and `url`'s own credentials masked anywhere."""
    # A server or proxy may echo a credential outside any URL (decoded, or a query alone).
    for secret in _secrets(url) if url else ():
        text = text.replace(secret, MASK)
    if "://" not in text:
        return text
    text = _USERINFO.sub(lambda m: m.group("scheme") + MASK + "@", text)
    return _URL.sub(_redact_match, text)


def _secrets(url: str) -> tuple[str, ...]:
    """The credential strings inside `url`, raw and percent-decoded, longest first."""
    _, authority, rest = _split(url)
    userinfo = authority.rpartition("@")[0]
    found = {userinfo, *userinfo.split(":", 1)[1:]}
    for part in re.split(r"[?#]", rest)[1:]:
        for piece in re.split(r"[&;]", part):
            name, eq, value = piece.partition("=")
            if eq and secret_name(name):
                found.add(value)
    found |= {unquote(s) for s in found}
    # Short strings would mask unrelated text ("a", "1"); a credential that short protects nothing.
    return tuple(sorted((s for s in found if len(s) >= 4), key=len, reverse=True))


def dataclass_repr(obj: Any) -> str:
    """The usual repr of dataclass `obj`, with its `*url` fields redacted."""
    shown = []
    for f in dataclasses.fields(obj):
        if f.repr:
            value = getattr(obj, f.name)
            if f.name.endswith("url") and isinstance(value, str):
                value = redact_url(value)
            shown.append(f"{f.name}={value!r}")
    return f"{type(obj).__qualname__}({', '.join(shown)})"
