"""Pictures for models that see: whatever the person names, as PNG or JPEG within a budget.

A matplotlib figure (or axes), a PIL image, anything with `_repr_png_` or `_repr_jpeg_`
(IPython's `Image`), PNG/JPEG bytes, or a file path. GLM's vision models bill about one prompt
token per 28x28 pixels, so a 4K screenshot would cost some 10,000 tokens and say no more than a
smaller copy: pictures beyond 1,568 pixels on a side or 1.2 megapixels (about 1,500 tokens) are
scaled down, aspect kept. Pillow reads and scales them; it is imported only when a picture is
sent (matplotlib installs it too).
"""

from __future__ import annotations

import base64
import io
import math
import os
from typing import Any

from ..errors import InputError
from ..messages import Image

MAX_SIDE = 1568
MAX_PIXELS = 1_200_000
PATCH = 28  # pixels on a side per image token (14-pixel patches merged two by two)
KINDS = (
    "a matplotlib figure or axes, a PIL image, an IPython Image, PNG or JPEG bytes, or the path "
    "of an image file"
)


def tokens(image: Image) -> int:
    """About what the picture costs in prompt tokens."""
    return max(1, math.ceil(image.width / PATCH) * math.ceil(image.height / PATCH))


def sized(image: Image) -> str:
    """`image/png 532x354, 14 KB, ~247 tokens`: a picture's size and cost, for the person."""
    return f"{image.brief()}, ~{tokens(image):,} tokens"


def fit(width: int, height: int) -> tuple[int, int]:
    """The size a picture is sent at: unchanged when within the budget, else scaled down."""
    pixels = max(width * height, 1)
    scale = min(1.0, MAX_SIDE / max(width, height, 1), math.sqrt(MAX_PIXELS / pixels))
    if scale >= 1.0:
        return width, height
    return max(1, int(width * scale)), max(1, int(height * scale))


def _pillow() -> Any:
    try:
        from PIL import Image as PILImage
    except ImportError:
        raise InputError(
            "Sending pictures needs Pillow, which reads and scales them: `pip install pillow` "
            "(matplotlib installs it too), then run the cell again."
        ) from None
    return PILImage


def _encode(picture: Any, label: str, *, jpeg: bool) -> Image:
    """A PIL image scaled to the budget and saved as PNG (or JPEG, for photographs)."""
    pil = _pillow()
    size = fit(*picture.size)
    if size != picture.size:
        picture = picture.resize(size, pil.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if jpeg:
        picture.convert("RGB").save(buffer, format="JPEG", quality=85)
    else:
        if picture.mode not in ("1", "L", "LA", "P", "RGB", "RGBA"):
            picture = picture.convert("RGBA")
        picture.save(buffer, format="PNG")
    mime = "image/jpeg" if jpeg else "image/png"
    return Image(mime, buffer.getvalue(), picture.size[0], picture.size[1], label)


def from_bytes(data: bytes, label: str) -> Image:
    """Image bytes (PNG, JPEG, or any format Pillow reads) within the budget; PNG and JPEG
    that already fit go unchanged, byte for byte, so a resent picture stays in the cache."""
    pil = _pillow()
    try:
        picture = pil.open(io.BytesIO(data))
        picture.load()
    except Exception as exc:  # Pillow raises several kinds for bytes it cannot read
        raise InputError(
            f"{label}: these bytes are not an image Pillow can read ({exc}). Send {KINDS}."
        ) from None
    kind = {"PNG": "image/png", "JPEG": "image/jpeg"}.get(picture.format or "")
    if kind is not None and fit(*picture.size) == picture.size:
        return Image(kind, bytes(data), picture.size[0], picture.size[1], label)
    return _encode(picture, label, jpeg=kind == "image/jpeg")


def picture(value: Any, label: str) -> Image:
    """Whatever the person named, as a picture to send (InputError when it is none)."""
    module = type(value).__module__.split(".")[0]
    if module == "matplotlib" and hasattr(value, "get_figure") and not hasattr(value, "savefig"):
        value = value.get_figure()  # axes: their figure
    if module == "matplotlib" and hasattr(value, "savefig"):
        buffer = io.BytesIO()
        # As the inline backend shows it: cropped to what is drawn.
        value.savefig(buffer, format="png", bbox_inches="tight")
        return from_bytes(buffer.getvalue(), label)
    if module == "PIL" and hasattr(value, "save") and hasattr(value, "size"):
        return _encode(value, label, jpeg=getattr(value, "format", None) == "JPEG")
    for method in ("_repr_png_", "_repr_jpeg_"):
        shown = getattr(value, method, None)
        data = shown() if callable(shown) else None
        if isinstance(data, tuple):  # (data, metadata)
            data = data[0]
        if isinstance(data, str):
            data = base64.b64decode(data)
        if isinstance(data, bytes):
            return from_bytes(data, label)
    if isinstance(value, bytes | bytearray | memoryview):
        return from_bytes(bytes(value), label)
    if isinstance(value, str | os.PathLike):
        path = os.fspath(value)
        if not os.path.isfile(path):
            raise InputError(f"--image {label}: there is no image file at {path!r}.")
        with open(path, "rb") as handle:
            return from_bytes(handle.read(), label)
    raise InputError(f"--image {label}: a {type(value).__name__} is not a picture. Send {KINDS}.")


def from_display(data: dict[str, Any], label: str) -> Image | None:
    """The PNG or JPEG of a rich display (base64, as display messages carry it), or None when
    it has neither or Pillow is missing (the caller then describes it in words)."""
    for mime in ("image/png", "image/jpeg"):
        encoded = data.get(mime)
        if isinstance(encoded, str):
            try:
                return from_bytes(base64.b64decode(encoded), label)
            except (InputError, ValueError):
                return None
    return None
