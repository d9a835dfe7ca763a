"""Going on with an agent run from its log (`%glm resume`): after an interrupt, a budget stop,
an error or a kernel restart.

The transcript comes back as the model last saw it, so the first request of the resumed run
repeats no finished step and the provider's cache still holds its prefix; one user message at
its end tells the model what happened meanwhile. After a kernel restart the run's variables are
gone: the person is offered the run's approved code to run again first, with one approval.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..display.approval import Decision
from ..display.step import Step, StepView
from ..errors import InputError

if TYPE_CHECKING:
    from .executor import KernelExecutor
    from .runread import RunRecord

REPLAY_LIMIT = 200  # approved code steps offered again after a restart, the latest kept
REPLAY_WHY = (
    "The kernel restarted since this run stopped, so its variables are gone. Run the run's "
    "approved code again, in order, before it goes on?"
)

WENT_ON = (
    "The person resumed this run after it stopped ({why}). The steps above are done and their "
    "results stand; go on from where the run stopped."
)
REPLAYED = (
    "The kernel restarted after the steps above, which emptied it. At the person's request, "
    "the run's {count} approved run_python steps ran again, in order{failures}. Check anything "
    "you rely on, then go on from where the run stopped."
)
NOT_REPLAYED = (
    "The kernel restarted after the steps above, and the person chose not to run the run's code "
    "again: the kernel is empty, none of the variables the run made exist. Go on from there, "
    "making again what you need."
)
NOTHING_LOST = (
    "The kernel restarted after the steps above; none of them had run code in it, so nothing "
    "was lost. Go on from where the run stopped."
)


@dataclass(frozen=True)
class Replay:
    """What the restart cost and what was done about it."""

    told: str  # for the model
    note: str  # for the person, in the run's header
    failed: int = 0  # steps that failed when they ran again
    approved_all: bool = False  # "Approve all for this run": the rest of the run too


def check_resumable(run: RunRecord) -> None:
    """Refuse a finished run, saying what to do instead."""
    if run.status == "done":
        raise InputError(
            f"Run {run.id} finished with an answer; there is nothing to resume. Ask a new "
            "`%%glm --agent` question: the conversation still holds this run."
        )


def stopped_note(run: RunRecord) -> str:
    """What the model hears when the run resumes in the kernel it ran in."""
    why = run.reason.rstrip(".") or run.status
    return WENT_ON.format(why=why[:300])


def replay_code(run: RunRecord) -> str:
    """The run's approved code as one cell, each step marked (the latest REPLAY_LIMIT)."""
    codes = run.approved_code[-REPLAY_LIMIT:]
    return "\n\n".join(f"# step {n} of {len(codes)}\n{code}" for n, code in enumerate(codes, 1))


async def after_restart(
    run: RunRecord, executor: KernelExecutor, approver: Any, *, notebook: bool, auto: bool
) -> Replay:
    """The kernel restarted: show the run's approved code as one card, ask once (unless
    `auto`), and run it again if approved."""
    if not run.approved_code:
        return run_again(run, executor, approved=False)
    card = Step(0, "run_python", json.dumps({"code": replay_code(run)}), REPLAY_WHY)
    view = StepView(card, notebook=notebook)
    view.show()
    decision = (
        Decision("auto") if auto else await approver.ask("run_python", json.loads(card.arguments))
    )
    card.approval = decision.verdict
    card.status = "running" if decision.runs else "rejected"
    view.show()
    replay = run_again(run, executor, approved=decision.runs)
    if decision.runs:
        card.status = "error" if replay.failed else "done"
    card.output = replay.note
    view.show()
    return dataclasses.replace(replay, approved_all=decision.verdict == "approved all")


def run_again(run: RunRecord, executor: KernelExecutor, approved: bool) -> Replay:
    """After a restart: run the approved code again (when `approved`), step by step, each
    showing its outputs in the cell as it did the first time."""
    codes = run.approved_code[-REPLAY_LIMIT:]
    if not codes:
        return Replay(NOTHING_LOST, f"The kernel restarted since run {run.id} stopped.")
    if not approved:
        return Replay(
            NOT_REPLAYED,
            f"The kernel restarted since run {run.id} stopped; its code was not run again, "
            "so the run goes on in an empty kernel.",
        )
    failed = []
    for number, code in enumerate(codes, 1):
        execution = executor.run(code)
        if execution.interrupted:
            raise KeyboardInterrupt
        if execution.error is not None or execution.timed_out:
            failed.append(number)
    failures = (
        f"; step{'s' * (len(failed) > 1)} {', '.join(map(str, failed))} of those failed this "
        "time, so what they made may be missing"
        if failed
        else ", all without error"
    )
    note = f"The kernel restarted since run {run.id} stopped: its {len(codes)} approved code "
    note += "steps ran again" + (f" ({len(failed)} failed)." if failed else ".")
    return Replay(REPLAYED.format(count=len(codes), failures=failures), note, len(failed))
