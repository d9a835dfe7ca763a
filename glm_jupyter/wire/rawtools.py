"""Tool calls written as text, by servers that run GLM without a tool-call parser.

`<tool_call>name<arg_key>k</arg_key><arg_value>v</arg_value></tool_call>`: GLM-4.5/4.6 put
newlines between the parts; string values are raw, other values JSON.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..messages import ToolCall

_CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
_PAIR = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)</arg_value>", re.DOTALL)


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_raw_tool_calls(content: str) -> tuple[str, list[ToolCall]]:
    """The content without `<tool_call>` blocks, and the calls they held."""
    if "<tool_call>" not in content:
        return content, []
    calls = []
    for index, match in enumerate(_CALL.finditer(content)):
        body = match.group(1)
        name = body.split("<arg_key>", 1)[0].strip()
        arguments = {key.strip(): _value(value) for key, value in _PAIR.findall(body)}
        calls.append(
            ToolCall(
                id=f"raw_{index}", name=name, arguments=json.dumps(arguments, ensure_ascii=False)
            )
        )
    return _CALL.sub("", content).strip(), calls
