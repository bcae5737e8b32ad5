"""JSON bodies with a bounded nesting depth: the API's parser, and the check for views that read
their body themselves (the registry's events).

Python's json parser recurses once per level: a body nested 100,000 levels (200 KB) raised
``RecursionError``, a 500 on every JSON endpoint (issue 26). No body the API takes is nested
more than a few levels, so a body deeper than ``MAX_JSON_DEPTH`` is a 400, refused by a linear
scan before the parser starts.
"""

from __future__ import annotations

import codecs
import io
import json
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

#: The deepest nesting of arrays and objects a JSON body may have; every body the API takes
#: (the registry's events included) needs fewer than 8.
MAX_JSON_DEPTH = 64

# A JSON string (escapes included): brackets inside one do not nest. Unambiguous, so linear.
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.S)
_BRACKETS = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = str.maketrans({"[": "+", "{": "+", "]": "-", "}": "-"})


class JsonTooDeep(ValueError):
    def __init__(self) -> None:
        super().__init__(
            f"The JSON body is nested deeper than {MAX_JSON_DEPTH} levels of arrays and objects: "
            "no request of this API needs that many."
        )


def depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (JSON, or something close to it)."""
    brackets = _BRACKETS.sub("", _STRING.sub("", text)).translate(_DEPTH_STEP)
    return max(accumulate(1 if step == "+" else -1 for step in brackets), default=0)


def check_depth(text: str) -> None:
    """``JsonTooDeep`` when ``text`` nests deeper than MAX_JSON_DEPTH (cheap: brackets are few
    below the limit, and a deeper body is refused without being parsed)."""
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and depth(text) > MAX_JSON_DEPTH:
        raise JsonTooDeep()


def loads(raw: bytes | str) -> Any:
    """``json.loads`` with the depth checked first: ``JsonTooDeep``, or ValueError/UnicodeDecodeError
    for a body that is not JSON."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    check_depth(text)
    return json.loads(text)


class BoundedJSONParser(JSONParser):
    """DRF's JSONParser (the API's only parser) refusing bodies nested deeper than MAX_JSON_DEPTH."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding") or "utf-8"
        raw = stream.read() if stream is not None else b""
        try:
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as e:
            raise ParseError(f"JSON parse error - {e}") from e
        try:
            check_depth(text)
        except JsonTooDeep as e:
            raise ParseError(str(e)) from e
        return super().parse(io.BytesIO(text.encode("utf-8")), media_type, {**parser_context, "encoding": "utf-8"})
