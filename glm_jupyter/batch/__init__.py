"""Batch: one prompt over many items, `glm_jupyter.map(prompt, items)` / `await amap(...)`.

- **Items**: a list (each item fills `{item}`, or follows the prompt when it has no
  placeholder), a pandas or polars Series (also `{name}` for a named Series), or a DataFrame
  (each row fills `{column}` placeholders; with none, `column=` names the column whose value
  follows the prompt).
- **Results** are aligned with the input: list in, list out (a `BatchList`); pandas in, a Series
  named `answer` with the same index, or with a `schema` a DataFrame with one column per schema
  field and an `_error` column; polars in, polars out. A failed item holds None/NaN and its
  message is in `result.attrs["glm_errors"]` (pandas, lists), the `_error` column (frames), or
  `last_report().errors` (polars Series). One bad row never stops the others.
- **Settings** as for `%%glm`: keywords > `GLM` config > environment > defaults; thinking is off
  unless asked for (cost). Requests run `concurrency` at a time; a rate limit pauses the whole
  batch and halves the concurrency (see `pace`, `engine`).
- **Cache**: answers are stored as they arrive in SQLite under `cache_dir` (default
  `GLM_CACHE_DIR`, else `~/.cache/glm-jupyter`), so a re-run or a resumed run sends only what is
  missing; `cache=False` turns it off.
- **Cost**: batches of more than 100 requests show an estimate first; `max_cost=` (USD) refuses
  to start one whose estimate is higher.
- **Progress**: a widget bar in a kernel, one line on stderr in a terminal; `progress=False`.
"""

from __future__ import annotations

from ..errors import BatchCostError, BatchStoppedError
from .api import amap, map
from .outputs import BatchList
from .report import Report, last_report

__all__ = [
    "BatchCostError",
    "BatchList",
    "BatchStoppedError",
    "Report",
    "amap",
    "last_report",
    "map",
]
