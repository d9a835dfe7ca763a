"""One licence: pyproject.toml, the labextension's package.json and the LICENSE file agree."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")


def test_python_and_labextension_licences_agree() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    package = json.loads((ROOT / "labextension" / "package.json").read_text("utf-8"))
    assert project["license"] == package["license"] == "BSD-3-Clause"


def test_licence_file_is_bsd_3_clause() -> None:
    text = (ROOT / "LICENSE").read_text("utf-8")
    assert text.startswith("BSD 3-Clause License\n")
    assert "glm-jupyter contributors" in text
    assert "Neither the name of the copyright holder" in text
