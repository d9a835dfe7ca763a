"""The delta channel and the fallback, in a real kernel driven by jupyter_client.

The scenario streams generated text whose exact characters the simulator can recompute, so each
test checks what a view assembles against what the model sent.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from glm_jupyter.display import live
from glm_jupyter.simulator import Simulator
from glm_jupyter.simulator.words import generated_tokens

from ..kernelwire import KernelWire, kernel

REASONING, CONTENT, SEED = 3_000, 1_500, 5
SCENARIO = {
    "turns": [
        {
            "match": "long",
            "generate": {"reasoning_tokens": REASONING, "content_tokens": CONTENT, "seed": SEED},
            "tokens_per_second": 1_500,
        }
    ],
    "repeat": True,
}
ASK = "%%glm\nA long answer, please."


def text(kind: str, tokens: int) -> str:
    """What the simulator streams for this scenario."""
    return "".join(generated_tokens(tokens, SEED, kind))


@pytest.fixture(scope="module")
def wire() -> Iterator[KernelWire]:
    with Simulator(SCENARIO) as sim, kernel(sim.base_url) as running:
        yield running


def test_a_follower_gets_deltas_and_the_output_only_checkpoints(wire: KernelWire) -> None:
    run = wire.execute(ASK.replace("please", "please (long)"), follow_at=1)
    (follower,) = run.followers.values()
    final = run.responses()[-1]
    assert final["status"] == "done"
    assert final["reasoning"] == text("reasoning", REASONING)
    assert final["content"] == text("content", CONTENT)
    # The view assembled the same text from deltas, with no gap, and heard the end.
    assert follower.gaps == 0
    assert follower.ended == "done"
    assert final["content"].startswith(follower.content)
    assert final["reasoning"].startswith(follower.reasoning)
    assert follower.deltas >= 5
    # The bundle went out only at the start, at checkpoints and at the end: a few times,
    # however many deltas there were.
    updates = run.of_type("update_display_data")
    seconds = final["elapsed_s"]
    assert len(updates) <= 2 + seconds / live.CHECKPOINT_GAP
    assert "stream_id" not in final


def test_without_a_follower_updates_carry_the_reasoning_tail(wire: KernelWire) -> None:
    run = wire.execute(ASK.replace("please", "please, long"))
    responses = run.responses()
    streaming, final = responses[:-1], responses[-1]
    assert final["reasoning"] == text("reasoning", REASONING)
    assert "reasoning_omitted" not in final
    tails = [r for r in streaming if r.get("reasoning_omitted")]
    assert tails, "no update left the start of the reasoning out"
    for update in tails:
        assert len(update["reasoning"]) <= live.REASONING_TAIL
        whole = final["reasoning"]
        start = update["reasoning_omitted"]
        assert whole[start : start + len(update["reasoning"])] == update["reasoning"]
    # The answer so far rides on every update.
    answered = [r["content"] for r in streaming if r["content"]]
    assert answered
    assert all(final["content"].startswith(a) for a in answered)


def test_a_view_that_joins_late_catches_up_exactly(wire: KernelWire) -> None:
    run = wire.execute(ASK.replace("please", "please; long"), follow_at=4)
    (follower,) = run.followers.values()
    final = run.responses()[-1]
    assert follower.gaps == 0
    assert final["reasoning"].startswith(follower.reasoning)
    assert final["content"].startswith(follower.content)
    assert len(follower.reasoning) > live.REASONING_TAIL  # the head came with the catch-up


def test_after_the_end_a_view_can_ask_for_the_final_bundle(wire: KernelWire) -> None:
    run = wire.execute(ASK.replace("please", "please: long"), follow_at=1)
    (stream_id,) = run.followers
    answer = wire.ask({"final": stream_id})
    assert answer["stream"] == stream_id
    assert answer["bundle"]["text/plain"] == text("content", CONTENT)
    assert wire.ask({"follow": "no-such-stream", "have": {}}) == {
        "stream": "no-such-stream",
        "gone": True,
    }
