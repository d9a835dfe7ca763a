"""Schemas from Python types, tolerant JSON parsing, and the code-block chooser."""

from __future__ import annotations

import asyncio
import enum
from dataclasses import dataclass, field
from typing import Literal, Optional, TypedDict

import pytest

from glm_jupyter.core.structured import SchemaError, parse_json_text, schema_for
from glm_jupyter.core.turn import code_blocks, pick_block
from glm_jupyter.display.chooser import BlockChooser, ask_in_terminal


class Colour(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Part:
    name: str
    colour: Colour


@dataclass
class Build:
    id: int
    parts: list[Part]
    status: Literal["open", "done"]
    note: Optional[str] = None  # noqa: UP045 - the old spelling must work too
    tags: dict[str, int] = field(default_factory=dict)


class Row(TypedDict):
    a: int
    b: list[str]


def test_dataclass_schema_and_instance() -> None:
    schema = schema_for(Build, "Build")
    assert schema.schema["required"] == ["id", "parts", "status"]
    value = {"id": 1, "parts": [{"name": "x", "colour": "red"}], "status": "open"}
    assert schema.errors(value) == []
    built = schema.build(value)
    assert built == Build(1, [Part("x", Colour.RED)], "open")
    problems = schema.errors(
        {"id": "1", "parts": [{"name": "x", "colour": "green"}], "status": "open", "extra": 1}
    )
    assert "id: '1' is not of type 'integer'" in problems
    assert any(p.startswith("parts/0/colour") for p in problems)
    assert any("extra" in p for p in problems)


def test_typeddict_and_dict_schemas() -> None:
    assert schema_for(Row, "Row").errors({"a": 1, "b": ["x"]}) == []
    assert schema_for(Row, "Row").errors({"a": 1}) == ["(top level): 'b' is a required property"]
    raw = {"type": "object", "required": ["q"]}
    assert schema_for(raw, "raw").build({"q": 1}) == {"q": 1}


def test_unsupported_schema_objects() -> None:
    with pytest.raises(SchemaError, match="expected a JSON-schema dict"):
        schema_for(42, "n")

    @dataclass
    class Odd:
        when: complex

    with pytest.raises(SchemaError, match="cannot express"):
        schema_for(Odd, "Odd")


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1}',
        '```json\n{"a": 1}\n```',
        'Here you go:\n```\n{"a": 1}\n```\nDone.',
        'Sure! {"a": 1} is the answer.',
    ],
)
def test_parse_json_text_finds_the_object(text: str) -> None:
    assert parse_json_text(text) == {"a": 1}


def test_parse_json_text_refuses_prose() -> None:
    with pytest.raises(ValueError, match="Expecting"):
        parse_json_text("no json here")


def test_code_blocks_and_picking() -> None:
    text = "```python\na = 1\n```\n```sql\nSELECT 1\n```\n```\nb = 2\n```\n```py\nc = 3\n```"
    blocks = code_blocks(text)
    assert blocks == ["a = 1", "b = 2", "c = 3"]
    assert pick_block(blocks, 2) == "b = 2"
    assert pick_block(blocks, 0) is None
    assert pick_block(["only"], 0) == "only"
    with pytest.raises(IndexError, match="3 code block"):
        pick_block(blocks, 4)


async def test_block_chooser_resolves_on_click() -> None:
    chooser = BlockChooser(["a = 1", "b = 2\nc = 3"])
    assert chooser.buttons[1].description == "2: b = 2 (2 lines)"
    task = asyncio.ensure_future(chooser.ask())
    await asyncio.sleep(0)
    chooser.buttons[1].click()
    assert await task == 2


def test_terminal_chooser_asks_until_it_gets_an_answer() -> None:
    answers = iter(["9", "x", "2"])
    assert ask_in_terminal(["a", "b"], ask=lambda _prompt: next(answers)) == 2
    assert ask_in_terminal(["a", "b"], ask=lambda _prompt: "") == 0
