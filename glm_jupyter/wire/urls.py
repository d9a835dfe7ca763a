"""Joining a server's base URL and an API path, keeping any query the base URL carries."""

from __future__ import annotations


def join_url(base_url: str, path: str) -> str:
    """`base_url` with `path` added to its path; its query (a gateway's key, say) comes after."""
    cut = next((i for i, c in enumerate(base_url) if c in "?#"), len(base_url))
    return base_url[:cut].rstrip("/") + path + base_url[cut:]
