"""Summaries of numpy arrays, built-in values and other objects; the shared formatting."""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import pytest

from glm_jupyter.context.summaries import Summary, summarize
from glm_jupyter.context.summaries.base import count, num, percent, size
from glm_jupyter.context.tokens import estimate_tokens


def check(summary: Summary, budget: int = 1500) -> Summary:
    assert summary.tokens == estimate_tokens(summary.text) <= budget
    for note in summary.notes:
        assert f"*{note}*" in summary.text
    return summary


# ---------------------------------------------------------------------------------- formatting


def test_number_formatting() -> None:
    assert count(10_000_000) == "10,000,000"
    assert [num(x) for x in (0, 1, 2.5, 1234.5678, 0.000123456, 12345.6)] == [
        "0",
        "1",
        "2.5",
        "1235",
        "0.0001235",
        "1.235e4",
    ]
    assert num(987654.321, 3) == "9.88e5"
    assert num(-0.5) == "-0.5"
    assert num(9.99951) == "10"
    assert num(1e-9) == "1e-9"
    assert (num(float("nan")), num(float("inf")), num(-float("inf"))) == ("NaN", "inf", "-inf")
    assert [size(n) for n in (512, 8_000, 1_600_000_000)] == ["512 B", "7.8 KB", "1.5 GB"]
    assert percent(1, 3) == "33.3%"
    assert percent(1, 10_000) == "<0.1%"
    assert percent(1, 2) == "50%"


# --------------------------------------------------------------------------------------- numpy


def test_numeric_array() -> None:
    arr = np.arange(12.0).reshape(3, 4)
    arr[1, 1] = np.nan
    s = check(summarize(arr, "a"))
    assert s.kind == "numpy.ndarray"
    assert s.text.startswith("### `a` — numpy ndarray, shape 3×4, float64, 96 B")
    assert "Values: NaN 1 (8.3%); count 11, mean " in s.text
    assert "```\n[[ 0.,  1.,  2.,  3.]," in s.text
    assert s.brief.startswith("ndarray 3×4 float64")


def test_big_array_is_sampled_and_cut() -> None:
    arr = np.random.default_rng(0).normal(size=(1000, 500))
    s = check(summarize(arr, "big", budget=200), 200)
    assert "statistics from a 100,000-element random sample (seed 0)" in s.text
    assert "..." in s.text or "values dropped" in s.text
    assert "count 500,000" in s.text


@pytest.mark.parametrize(
    ("arr", "expected"),
    [
        (np.array(5), "Value: 5"),
        (np.array(2.5), "Value: 2.5"),
        (np.array("x"), "Value: x"),
        (np.array(["a", "bb", "a"]), "2 distinct, length 1–2, mean 1.33, top 'a' 2, 'bb' 1"),
        (np.array([1, "x", None], dtype=object), "None/NaN 1 (33.3%); types int 50%, str 50%"),
        (np.array(["2020-01-01", "NaT"], dtype="datetime64[D]"), "NaT 1 (50%); min 2020-01-01"),
        (np.array([True, False, True]), "true 2, false 1"),
        (np.array([1 + 1j, 2j]), "2 distinct"),
        (np.zeros((0, 3)), "shape 0×3"),
        (np.zeros((2, 0, 2)), "shape 2×0×2"),
        (np.array([[1, 2], [3, 4]], dtype=np.uint8), "min 1"),
        (np.float64(3.25), "Value: 3.25"),
        (np.int32(7), "Value: 7"),
        (np.datetime64("2020-05-01"), "Value: 2020-05-01"),
    ],
    ids=str,
)
def test_array_kinds(arr: Any, expected: str) -> None:
    s = check(summarize(arr, "x"))
    assert expected in s.text
    check(summarize(arr, "x", send_rows=False))


def test_structured_array_reads_like_a_frame() -> None:
    arr = np.array(
        [(1, 2.0, "a"), (2, np.nan, "b"), (3, 4.0, "a")],
        dtype=[("id", "i4"), ("score", "f8"), ("tag", "U3")],
    )
    s = check(summarize(arr, "rec"))
    assert "| id | int32 | 0 | count 3, mean 2," in s.text
    assert "| score | float64 | 1 (33.3%) |" in s.text
    assert "| tag | <U3 | 0 | 2 distinct" in s.text
    assert "| 1 | 2 | NaN | b |" in s.text
    check(summarize(arr[0], "one"))  # a 0-d structured value
    check(summarize(np.zeros(3, dtype=[("a", "f4", (2,))]), "nested"))


# -------------------------------------------------------------------------------- built-ins


def test_dict_lists_keys_with_types_and_short_values() -> None:
    d = {
        "lr": 0.001,
        "layers": [64, 32, 16],
        "name": "n" * 100,
        "nested": {"a": {"b": {"c": 1}}},
        "arr": np.zeros((2, 3)),
        7: None,
    }
    s = check(summarize(d, "cfg"))
    assert s.text.startswith("### `cfg` — dict, 6 keys")
    assert "| 'lr' | float | 0.001 |" in s.text
    assert "| 'layers' | list | 3 items: int ×3 |" in s.text
    assert "(100 characters)" in s.text
    assert "| 'nested' | dict | 1 key |" in s.text
    assert "| 'arr' | numpy.ndarray | shape 2×3 |" in s.text
    assert "| 7 | NoneType | None |" in s.text
    assert "'c'" not in s.text  # nested containers are not opened


def test_big_dict_is_cut_to_budget() -> None:
    d = {f"key_{i}": i for i in range(10_000)}
    s = check(summarize(d, "d", budget=200), 200)
    assert "more keys" in s.text
    assert "Value types: int ×10,000" in s.text
    assert collections.OrderedDict(d)
    assert summarize(collections.OrderedDict(d), "o").kind == ("collections.OrderedDict")


def test_list_tuple_set() -> None:
    s = check(summarize([3, 1, "x", None, 2.5], "xs"))
    assert "list, 5 items" in s.text
    assert "Element types: int ×2, NoneType ×1, float ×1, str ×1" in s.text
    assert "- [2] 'x'" in s.text
    t = check(summarize((1, 2, 3), "t"))
    assert "Numbers: min 1, mean 2, max 3" in t.text
    st = check(summarize({"b", "a", 3, (1, 2)}, "s"))
    items = [line for line in st.text.splitlines() if line.startswith("- ")]
    assert items == ["- 'a'", "- 'b'", "- (1, 2)", "- 3"]  # sorted by repr
    big = check(summarize(list(range(1_000_000)), "big", budget=200), 200)
    assert "from 100,000 sampled items" in big.text
    assert "more items" in big.text
    check(summarize(frozenset(), "empty"))
    check(summarize([], "empty"))


def test_strings() -> None:
    s = check(summarize("hello\nworld ```code```", "s"))
    assert "str, 22 characters, 2 lines" in s.text
    assert "````\nhello\nworld ```code```\n````" in s.text  # a longer fence
    long = check(summarize("ab" * 100_000, "long", budget=300), 300)
    assert "First " in long.text
    assert "Last " in long.text
    assert "showing the first" in long.text
    check(summarize("", "empty"))
    check(summarize("\x00\x1b[31m控制\u2028", "odd"))


def test_bytes() -> None:
    s = check(summarize("héllo".encode(), "b"))
    assert "bytes, 6 bytes, valid UTF-8" in s.text
    assert "b'h\\xc3\\xa9llo'" in s.text
    bad = check(summarize(b"abc\xff\xfe", "b"))
    assert "not valid UTF-8 (first bad byte at 3)" in bad.text
    split = ("é" * (1 << 19)).encode() + b"\xff"  # a 1 MB chunk boundary inside a character
    assert f"first bad byte at {len(split) - 1:,}" in summarize(split, "b").text
    truncated = "é".encode()[:1]
    assert "not valid UTF-8 (first bad byte at 0)" in summarize(truncated, "b").text
    assert "bytearray, 2 bytes" in summarize(bytearray(b"ab"), "ba").text
    assert (
        "showing the first 50 bytes" in check(summarize(bytes(300_000), "z", budget=200), 200).text
    )


def test_numbers_bool_none() -> None:
    assert "Value: 42" in summarize(42, "n").text
    assert "Value: 0.1" in summarize(0.1, "f").text
    assert "Value: True" in summarize(True, "b").text
    assert summarize(True, "b").kind == "bool"
    assert summarize(None, "n").kind == "None"
    assert "Value: None" in summarize(None, "n").text
    huge = check(summarize(10**20_000, "big"))
    assert "an int of about 20,001 digits" in huge.text
    check(summarize(-(10**3000), "neg"))


# ----------------------------------------------------------------------------- other objects


class BadRepr:
    label = "kept"

    def __init__(self) -> None:
        self.value = 3
        self.items = [1]
        self._private = 1

    def __repr__(self) -> str:
        raise ValueError("no repr")

    @property
    def expensive(self) -> int:
        raise AssertionError("properties are not run")

    def method(self) -> None:
        pass


class BadLen(list[int]):
    def __len__(self) -> int:
        raise RuntimeError("no len")


class BadEverything:
    def __repr__(self) -> str:
        raise RuntimeError("repr")

    def __dir__(self) -> list[str]:
        raise RuntimeError("dir")

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("getattr")


def test_objects_of_the_persons_classes_are_read_without_running_their_code() -> None:
    s = check(summarize(BadRepr(), "obj"))
    assert s.kind.endswith("BadRepr")
    assert "(not run)" in s.text
    assert "ValueError" not in s.text
    assert "Defines (not called): `__repr__`" in s.text
    assert "Instance attributes: `value` (int = 3), `items` (list, 1 item)" in s.text
    assert "Class attributes: `label` (str = 'kept')" in s.text
    assert "Properties (not read): `expensive`" in s.text
    assert "Methods: `method`" in s.text
    assert "_private" not in s.text


def test_objects_that_raise_everywhere() -> None:
    bad_len = check(summarize(BadLen([1, 2]), "bl"))
    assert "based on `list`" in bad_len.text
    assert "`__len__`" in bad_len.text
    check(summarize(BadEverything(), "be"))
    check(summarize(BadEverything(), "be", send_rows=False))


def test_plain_objects_without_addresses() -> None:
    s = check(summarize(object(), "o"))
    assert "<object object at 0x…>" in s.text
    assert summarize(len, "f").kind == "builtin_function_or_method"
    cls = check(summarize(int, "cls"))
    assert "getset_descriptor" not in cls.text
    withheld = summarize(BadRepr(), "obj", send_rows=False)
    assert "Attribute values withheld" in withheld.text
    assert "withheld" in withheld.brief
    assert "= 3" not in withheld.text
    assert "kept" not in withheld.text
