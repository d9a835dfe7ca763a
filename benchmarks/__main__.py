"""`python -m benchmarks [NAME ...]`: print one JSON object per metric."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from . import (
    agent,
    agent_long,
    batch,
    cache,
    completion,
    gateway,
    load,
    streaming,
    summaries,
    wire,
)

GROUPS: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "load_ms": load.run,
    "stream_overhead_ratio": streaming.overhead_and_updates,
    "render_updates": streaming.overhead_and_updates,
    "per_token_cost_ratio": streaming.per_token_cost,
    "ttft_overhead_ms": streaming.ttft,
    "stream_mem_ratio": streaming.memory,
    "cache_prefix_share": cache.run,
    "agent_step_overhead_ms": agent.run,
    "agent_cache_share": agent.run,
    "agent_long_peak_prompt_share": agent_long.long_run,
    "agent_long_cache_share": agent_long.long_run,
    "agent_long_step_overhead_ratio": agent_long.long_run,
    "agent_resume_repeated_requests": agent_long.resume,
    "completion_context_tokens": completion.context_tokens,
    "completion_overhead_ms": completion.browser,
    "completion_cancel_ms": completion.browser,
    "df_summary_ms": summaries.run,
    "df_summary_ms_polars": summaries.run,
    "df_summary_tokens": summaries.run,
    "df_summary_mem_ratio": summaries.run,
    "batch_speedup": batch.run,
    "batch_resume_requests": batch.run,
    "stream_wire_ratio": wire.browser,
    "stream_wire_ratio_fallback": wire.fallback,
    "gateway_stream_overhead_ratio": gateway.stream_overhead,
    "gateway_concurrent_streams": gateway.concurrent,
}


def main(names: list[str]) -> int:
    """Run the named metrics (all when none is named)."""
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(GROUPS)}",
            file=sys.stderr,
        )
        return 2
    done: set[Callable[[], list[dict[str, Any]]]] = set()
    for name in names or list(GROUPS):
        group = GROUPS[name]
        if group in done:
            continue
        done.add(group)
        for line in group():
            if not names or line["name"] in names:
                print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
