"""Pictures through the simulator: what `--image` sends to a model that sees, how it is scaled
and counted, what a text model gets instead (a refusal, before anything is sent), and what
`%glm context` shows of it."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import pytest

from glm_jupyter.context import images
from glm_jupyter.messages import Image

from ..helpers import use
from .test_magics import run

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
PIL = pytest.importorskip("PIL.Image")

ANSWER = {"default": {"content": "A rising line."}}


def _posts(sim: Any) -> list[dict[str, Any]]:
    return [r["body"] for r in sim.requests if r["method"] == "POST"]


def _parts(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message["content"]
    return content if isinstance(content, list) else []


def _sent(message: dict[str, Any]) -> list[bytes]:
    urls = [p["image_url"]["url"] for p in _parts(message) if p["type"] == "image_url"]
    return [base64.b64decode(u.partition(",")[2]) for u in urls]


def _shown(ran: Any) -> str:
    """What a command printed or displayed as Markdown."""
    return ran.stdout + "".join(str(o.data.get("text/markdown", "")) for o in ran.outputs)


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    PIL.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def figure(shell: Any) -> Any:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 3), dpi=100)
    ax.plot([1, 2, 3], [1, 4, 9])
    shell.user_ns["fig"] = fig
    yield fig
    plt.close(fig)


def test_a_figure_goes_to_a_model_that_sees_as_an_image_part(
    shell: Any, simulator: Any, figure: Any
) -> None:
    sim = simulator(ANSWER)
    use(shell, sim)
    plain = run(shell, "%%glm -m glm-5v-turbo --new\nWhat does the plot show?")
    ran = run(shell, "%%glm -m glm-5v-turbo --new --image fig\nWhat does the plot show?")
    assert ran.result.success, ran.stderr
    message = _posts(sim)[-1]["messages"][-1]
    assert [p["type"] for p in _parts(message)] == ["text", "image_url"]
    assert _parts(message)[0]["text"] == "What does the plot show?"
    (sent,) = _sent(message)
    assert sent.startswith(b"\x89PNG")
    picture = images.from_bytes(sent, "fig")
    # The simulator counts one prompt token per 28x28 pixels, as GLM's vision models do.
    grown = ran.response["usage"]["prompt_tokens"] - plain.response["usage"]["prompt_tokens"]
    assert grown == pytest.approx(images.tokens(picture), abs=3)
    item = ran.response["context"][-1]
    assert item == {"name": "fig", "tokens": images.tokens(picture), "brief": picture.brief()}
    assert "fig (image/png" in ran.final["text/markdown"]


def test_every_kind_of_picture_is_read_and_large_ones_are_scaled_down(
    shell: Any, simulator: Any, figure: Any, tmp_path: Path
) -> None:
    sim = simulator(ANSWER)
    use(shell, sim)
    small = _png(300, 200)
    photo = tmp_path / "photo.jpg"
    PIL.new("RGB", (640, 480), (10, 90, 200)).save(photo, format="JPEG")
    shell.user_ns.update(
        small=small,
        huge=PIL.new("RGB", (4000, 3000), (0, 128, 0)),
        axes=figure.axes[0],
        shown=__import__("IPython.display", fromlist=["Image"]).Image(data=small),
    )
    flags = f"--image small --image huge --image axes --image shown --image {photo}"
    ran = run(shell, f"%%glm -m glm-5.4 {flags}\nCompare them.")
    assert ran.result.success, ran.stderr
    sent = _sent(_posts(sim)[-1]["messages"][-1])
    assert len(sent) == 5
    assert sent[0] == small  # within the budget: byte for byte, so the cache keeps serving it
    scaled = PIL.open(io.BytesIO(sent[1]))
    assert max(scaled.size) <= images.MAX_SIDE
    assert scaled.size[0] * scaled.size[1] <= images.MAX_PIXELS
    assert scaled.size[0] / scaled.size[1] == pytest.approx(4 / 3, rel=0.01)
    assert sent[2].startswith(b"\x89PNG")
    assert sent[3] == small
    assert sent[4].startswith(b"\xff\xd8")  # a JPEG stays a JPEG
    names = [c["name"] for c in ran.response["context"]]
    assert names == ["small", "huge", "axes", "shown", "photo.jpg"]


def test_a_text_model_refuses_pictures_before_anything_is_sent(
    shell: Any, simulator: Any, figure: Any
) -> None:
    sim = simulator(ANSWER)
    use(shell, sim)
    ran = run(shell, "%%glm --image fig\nWhat does the plot show?")  # glm-5.3 takes no pictures
    error = str(ran.result.error_in_exec)
    assert "glm-5.3 takes no pictures, so nothing was sent" in error
    assert "glm-5.4, glm-5v-turbo, glm-4.6v" in error
    assert _posts(sim) == []


def test_a_model_nobody_knows_gets_the_picture(shell: Any, simulator: Any, figure: Any) -> None:
    sim = simulator({**ANSWER, "model": "my-vision-model"}, "vllm")
    use(shell, sim, "vllm", GLM_MODEL="my-vision-model")
    ran = run(shell, "%%glm --image fig\nWhat does the plot show?")
    assert ran.result.success, ran.stderr
    assert len(_sent(_posts(sim)[-1]["messages"][-1])) == 1


def test_a_conversation_that_moves_to_a_text_model_keeps_going(
    shell: Any, simulator: Any, figure: Any
) -> None:
    sim = simulator({**ANSWER, "repeat": True})
    use(shell, sim)
    assert run(shell, "%%glm -m glm-5v-turbo --image fig\nWhat does the plot show?").result.success
    ran = run(shell, "%%glm -m glm-5.3\nAnd what would explain it?")
    assert ran.result.success, ran.stderr  # the simulator refuses image parts to glm-5.3
    earlier = _posts(sim)[-1]["messages"][1]
    assert earlier["role"] == "user"
    assert isinstance(earlier["content"], str)
    assert "[not sent, this model takes no pictures: fig (image/png" in earlier["content"]
    history = run(shell, "%glm history")
    assert "*[picture: fig, image/png" in _shown(history)
    # Back on a model that sees, the picture goes again, byte for byte.
    run(shell, "%%glm -m glm-5v-turbo\nThanks.")
    first, last = _posts(sim)[0]["messages"][1], _posts(sim)[-1]["messages"][1]
    assert _sent(first) == _sent(last)


@pytest.mark.parametrize(
    ("setup", "flags", "says"),
    [
        ("nums = [1, 2]", "--image nums", "a list is not a picture"),
        ("", "--image nowhere.png", "there is no variable `nowhere.png`"),
        ("junk = b'not an image'", "--image junk", "not an image Pillow can read"),
        ("", "--figure", "no cell has displayed a picture yet"),
    ],
)
def test_what_is_not_a_picture_is_said_clearly(
    shell: Any, simulator: Any, setup: str, flags: str, says: str
) -> None:
    sim = simulator(ANSWER)
    use(shell, sim)
    shell.run_cell(setup)
    ran = run(shell, f"%%glm -m glm-5.4 {flags}\nLook.")
    assert says in str(ran.result.error_in_exec)
    assert _posts(sim) == []


def test_the_preview_shows_pictures_by_size_and_the_share_of_the_window(
    shell: Any, simulator: Any, figure: Any
) -> None:
    sim = simulator(ANSWER)
    use(shell, sim)
    ran = run(shell, "%glm context -m glm-5v-turbo --image fig What is it?")
    text = _shown(ran)
    assert "[picture: fig, image/png" in text
    assert "of glm-5v-turbo's 200,000-token window" in text
    assert "base64,… (" in text  # the body names the picture's size, not its bytes
    assert len(text) < 20_000
    assert _posts(sim) == []


def test_fit_keeps_small_pictures_and_the_aspect_of_large_ones() -> None:
    assert images.fit(800, 600) == (800, 600)
    assert images.fit(3136, 100) == (1568, 50)
    width, height = images.fit(2000, 2000)
    assert width == height
    assert width * height <= images.MAX_PIXELS
    picture = Image("image/png", b"", 56, 29)
    assert images.tokens(picture) == 2 * 2
