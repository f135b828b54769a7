"""A callback's body, read defensively: bounded nesting before any parser sees it, and
every field validated by a pydantic model, so bad input is a 400 with one log line."""

from __future__ import annotations

import json
import math
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

MAX_DEPTH = 16  # no platform nests a callback deeper than 5

M = TypeVar("M", bound=BaseModel)


class PayloadError(ValueError):
    """The body is not what the platform sends: the caller answers 400 with this line."""


def check_depth(body: bytes, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON nested deeper than `limit` (counted on brackets outside strings) and XML
    deeper than `limit` elements, before a recursive parser can exhaust the stack."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # closing quote
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                raise PayloadError(f"nested deeper than {limit}")
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1


def check_xml_depth(body: bytes, limit: int = MAX_DEPTH) -> None:
    """Refuse XML whose elements nest deeper than `limit` (CDATA and comments skipped)."""
    depth = 0
    i, n = 0, len(body)
    while True:
        i = body.find(b"<", i)
        if i < 0 or i + 1 >= n:
            return
        if body.startswith(b"<![CDATA[", i):
            end = body.find(b"]]>", i)
            i = n if end < 0 else end + 3
            continue
        if body.startswith(b"<!--", i):
            end = body.find(b"-->", i)
            i = n if end < 0 else end + 3
            continue
        nxt = body[i + 1]
        end = body.find(b">", i)
        if end < 0:
            return  # truncated: the parser refuses it
        if nxt == 0x2F:  # </tag>
            depth -= 1
        elif nxt not in (0x3F, 0x21) and body[end - 1] != 0x2F:  # not <? <! or <tag/>
            depth += 1
            if depth > limit:
                raise PayloadError(f"nested deeper than {limit}")
        i = end + 1


def load_json(body: bytes) -> Any:
    """The JSON value of a body, nesting and numbers bounded: a number too big for a float
    or an int of more than 30 digits is refused rather than raising later."""
    check_depth(body)
    try:
        return json.loads(
            body, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_finite
        )
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise PayloadError(f"not JSON: {_short(exc)}") from exc


def validated(model: type[M], data: Any) -> M:
    """`data` as `model`, or PayloadError naming the first field that is wrong."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise PayloadError(f"{where}: {first['msg']}") from exc


def parse_json(model: type[M], body: bytes) -> M:
    """A JSON body validated as `model`."""
    return validated(model, load_json(body))


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > 30:
        raise ValueError("integer too long")
    return int(text)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _short(exc: BaseException) -> str:
    return str(exc)[:120]
