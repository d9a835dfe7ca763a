"""`load_ms`: what `%load_ext glm_jupyter` adds to a fresh IPython, beside a bare IPython start."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any

from .common import result

_PROBE = """
import json, time
t0 = time.perf_counter()
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
t1 = time.perf_counter()
if {load}:
    shell.run_line_magic("load_ext", "glm_jupyter")
t2 = time.perf_counter()
print(json.dumps({{"start": t1 - t0, "load": t2 - t1}}))
"""


def _run(load: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(load=load)], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run(repeat: int = 7) -> list[dict[str, Any]]:
    """Fresh processes, alternating bare and loaded; medians."""
    bare, loaded = [], []
    for _ in range(repeat):
        bare.append(_run(False)["start"])
        loaded.append(_run(True)["load"])
    load_ms = statistics.median(loaded) * 1000
    start_ms = statistics.median(bare) * 1000
    return [
        result(
            "load_ms",
            load_ms,
            "ms",
            "<= 150",
            load_ms <= 150,
            f"bare IPython start {start_ms:.0f} ms (median of {repeat} fresh processes)",
            ratio_to_bare_start=round(load_ms / start_ms, 3),
        )
    ]
