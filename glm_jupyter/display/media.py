"""Pictures a tool sent back (an MCP server's image results), shown under the running cell."""

from __future__ import annotations

import sys
from collections.abc import Callable


def show_image_under_cell(mime: str, data: str) -> bool:
    """Display a base64 image under the running cell; False where there is no IPython shell."""
    ipython = sys.modules.get("IPython")  # never imported here: a terminal run shows nothing
    if ipython is None or ipython.get_ipython() is None or not mime.startswith("image/"):
        return False
    from IPython.display import display

    show: Callable[..., object] = display  # untyped in IPython
    show({mime: data}, raw=True)
    return True
