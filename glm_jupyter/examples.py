"""The example notebooks: where they are, the one simulator scenario that answers all of them,
and running them top to bottom against it.

Each `NN-name.ipynb` has a scenario `scenarios/NN-name.json` beside it. The demo serves every
notebook from one simulator, so the scenarios are merged in notebook order into one `repeat`
scenario (a cell run twice gets the same answer, an agent's tool calls continue their own chain).

`python -m glm_jupyter.examples [--write] [NAME ...]` runs notebooks against that scenario and,
with `--write`, stores their outputs back into the files (as they are kept in the repository).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

# In a wheel the notebooks sit inside the package; in a checkout (editable install) beside it.
_PACKAGED = Path(__file__).with_name("notebooks")
_CHECKOUT = Path(__file__).resolve().parents[1] / "notebooks"

FALLBACK = (
    "This demo runs against the bundled **GLM protocol simulator**, which has no scripted answer "
    "for that question. Set `ZAI_API_KEY` and restart without `GLM_BASE_URL` to ask the real "
    "GLM."
)
_DEFAULT_TURN = {
    "reasoning": "This is the offline demo's simulator: it has no scripted answer for this.",
    "content": FALLBACK,
}
_SHARED_KEYS = ("dialect", "model", "tool_stream", "think_tags")
# Answers stream at about a hosted GLM's pace unless a turn sets its own, so the Thinking panel
# and the streaming can be watched, and stored outputs show believable times and speeds.
PACE = {"first_byte_delay": 0.4, "tokens_per_second": 120}


def notebooks_dir() -> Path:
    """The folder holding the example notebooks and their scenarios."""
    return _PACKAGED if _PACKAGED.is_dir() else _CHECKOUT


def notebooks(folder: Path | None = None) -> list[Path]:
    """The example notebooks in reading order (`01-quickstart.ipynb` first)."""
    return sorted((folder or notebooks_dir()).glob("[0-9][0-9]-*.ipynb"))


def scenario_path(notebook: Path) -> Path:
    """The scenario that answers one notebook's prompts."""
    return notebook.parent / "scenarios" / f"{notebook.stem}.json"


def demo_scenario(folder: Path | None = None) -> dict[str, Any]:
    """All notebooks' scenarios as one `repeat` scenario, in notebook order."""
    merged: dict[str, Any] = {"dialect": "zai", "repeat": True, "turns": []}
    for notebook in notebooks(folder):
        path = scenario_path(notebook)
        if not path.exists():
            continue
        part = json.loads(path.read_text(encoding="utf-8"))
        for key in _SHARED_KEYS:
            # One simulator serves them all: a notebook cannot have a dialect of its own here.
            if key in part and part[key] != merged.setdefault(key, part[key]):
                raise ValueError(f"{path}: {key!r} differs from the other example scenarios")
        merged["turns"].extend({**PACE, **turn} for turn in part.get("turns", []))
    merged["default"] = _DEFAULT_TURN
    return merged


def kernel_env(base_url: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment that points a kernel at the demo's simulator."""
    env = dict(os.environ if base is None else base)
    env.update(GLM_PROVIDER="zai", GLM_BASE_URL=base_url, GLM_API_KEY="simulator-needs-no-key")
    for name in ("GLM_MODEL", "GLM_POLICY", "GLM_PERSONA", "GLM_CACHE_DIR"):
        env.pop(name, None)  # the notebooks show the defaults, whatever this shell has set
    return env


def run_notebook(path: Path, base_url: str, *, timeout: int = 180) -> Any:
    """Execute a notebook top to bottom in a fresh kernel against the simulator at `base_url`.

    Cells tagged `raises-exception` may fail (they show an error on purpose); any other
    error stops the run with nbclient's CellExecutionError.
    """
    import nbformat
    from nbclient import NotebookClient

    nb: Any = nbformat.read(path, as_version=4)  # type: ignore[no-untyped-call]
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
        record_timing=False,  # no timestamps in the files kept in the repository
    )
    client.execute(env=kernel_env(base_url))
    return nb


def _chosen(names: Sequence[str]) -> list[Path]:
    found = notebooks()
    if not names:
        return found
    chosen = [p for p in found if any(p.name.startswith(n) or p.stem == n for n in names)]
    if len(chosen) < len(names):
        known = ", ".join(p.stem for p in found)
        raise SystemExit(f"no example notebook matches {list(names)}; the notebooks are {known}")
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """Run example notebooks against the demo scenario; `--write` stores their outputs."""
    parser = argparse.ArgumentParser(prog="python -m glm_jupyter.examples", description=__doc__)
    parser.add_argument("names", nargs="*", help="notebook names or number prefixes (all)")
    parser.add_argument("--write", action="store_true", help="save the outputs into the files")
    args = parser.parse_args(argv)
    import nbformat

    from .simulator import Simulator

    for path in _chosen(args.names):
        with Simulator(demo_scenario()) as sim:
            nb = run_notebook(path, sim.base_url)
        if args.write:
            nbformat.write(nb, path)  # type: ignore[no-untyped-call]
        print(f"{path.name}: ran top to bottom{', outputs saved' if args.write else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
