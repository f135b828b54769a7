"""Hostile callback bodies for the fuzz tests (test_fuzz_callbacks.py), as hypothesis
strategies: random bytes, truncated and deeply nested documents, wrong types and huge
numbers in the fields the platforms send, NUL and control characters in texts."""

from __future__ import annotations

import base64
import copy
import json
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.wechat_support import message_xml

# Numbers no float or 64-bit integer holds, and spellings of numbers JSON has no word for
HUGE_NUMBERS = (
    "1e400",
    "-1e400",
    "1e-400",
    str(10**40),
    str(-(10**40)),
    "9" * 400,
    "NaN",
    "Infinity",
    "-Infinity",
    "-0",
    "0x1F",
    "1_000",
    "١٧٠٠٠٠٠٠٠٠",  # Arabic-Indic digits: int() reads them, a platform never sends them
)
# NUL and other control characters, characters XML refuses, markup and escapes
HOSTILE_PIECES = (
    "\x00",
    "\x01",
    "\x08",
    "\x0b",
    "\x1b",
    "\x7f",
    "\x85",
    "\u2028",
    "\ufeff",
    "\ufffe",
    "]]>",
    "<![CDATA[",
    "<",
    "&",
    "&#0;",
    '"',
    "\\",
    "%00",
    "帮助",
    "绑定 张三 1234",
    "🌾",
)

short_hostile_text = st.one_of(
    st.text(max_size=64),  # any code point but surrogates: NUL and controls included
    st.lists(st.sampled_from(HOSTILE_PIECES), max_size=12).map("".join),
    st.sampled_from(HUGE_NUMBERS),
)
hostile_text = short_hostile_text | st.integers(1, 20).map(lambda k: "帮" * (1000 * k))
random_bytes = st.binary(max_size=2048)
depth = st.integers(8, 20_000)


def nested_xml() -> st.SearchStrategy[bytes]:
    """<xml><a><a>… nested `depth` deep, closed or cut off."""
    return st.builds(
        lambda n, closed: (
            "<xml>" + "<a>" * n + "x" + ("</a>" * n + "</xml>" if closed else "")
        ).encode(),
        depth,
        st.booleans(),
    )


def nested_json(key: str = "") -> st.SearchStrategy[bytes]:
    """Arrays or objects nested `depth` deep, at the top or as the value of `key`."""

    def build(n: int, arrays: bool) -> bytes:
        inner = "[" * n + "]" * n if arrays else '{"a":' * n + "1" + "}" * n
        return (f'{{"{key}":{inner}}}' if key else inner).encode()

    return st.builds(build, depth, st.booleans())


# Encodings a prolog may declare: expat knows some, refuses multi-byte ones, and has never
# heard of others (each an exception of its own)
ENCODINGS = ("GBK", "GB2312", "Big5", "bogus", "UTF-16", "ISO-8859-1", "ascii", "", "utf-8")


def declared(xml: str) -> st.SearchStrategy[str]:
    """`xml` behind a prolog declaring one of ENCODINGS."""
    return st.sampled_from(ENCODINGS).map(lambda e: f"<?xml version='1.0' encoding='{e}'?>{xml}")


def truncated(body: bytes) -> st.SearchStrategy[bytes]:
    return st.integers(0, max(0, len(body) - 1)).map(lambda k: body[:k])


# --- XML messages (WeChat, WeCom app) ---------------------------------------------------

XML_BASES: tuple[dict[str, str | int], ...] = (
    {"MsgType": "text", "Content": "帮助", "MsgId": 1},
    {"MsgType": "image", "PicUrl": "http://mmbiz.qpic.cn/x", "MediaId": "MEDIA1", "MsgId": 1},
    {"MsgType": "voice", "MediaId": "M", "Format": "amr", "Recognition": "停水了", "MsgId": 1},
    {
        "MsgType": "location",
        "Location_X": "30.27",
        "Location_Y": "120.15",
        "Scale": "15",
        "Label": "村委会",
        "MsgId": 1,
    },
    {"MsgType": "event", "Event": "CLICK", "EventKey": "REPORT_ISSUE"},
    {"MsgType": "event", "Event": "subscribe", "EventKey": "qrscene_42", "Ticket": "T"},
    {
        "MsgType": "event",
        "Event": "LOCATION",
        "Latitude": "30.27",
        "Longitude": "120.15",
        "Precision": "65.0",
    },
)
XML_FIELDS = sorted(
    {name for base in XML_BASES for name in base}
    | {"ToUserName", "FromUserName", "CreateTime", "AgentID", "MsgID"}
)


def xml_messages(to_user: str, at: int, agent: int | None = None) -> st.SearchStrategy[str]:
    """A message of each kind WeChat sends, with one field dropped or given a hostile value
    (or none changed): wrong types, huge numbers, NUL, over-long text."""

    def build(base: dict[str, str | int], name: str, value: str | None, msg_id: int) -> str:
        fields: dict[str, str | int] = {
            "ToUserName": to_user,
            "FromUserName": "oFUZZ",
            "CreateTime": at,
        }
        fields |= {k: (msg_id if k == "MsgId" else v) for k, v in base.items()}
        if agent is not None:
            fields["AgentID"] = agent
        if value is None:
            fields.pop(name, None)
        else:
            fields[name] = value
        return message_xml(fields)

    changes = st.one_of(st.none(), hostile_text)
    return st.builds(
        build,
        st.sampled_from(XML_BASES),
        st.sampled_from(XML_FIELDS),
        changes,
        st.integers(1, 2**63),
    )


def sealable_text(valid_xml: str) -> st.SearchStrategy[str]:
    """Plaintexts for an encrypted callback: garbage, cut-off or deep XML, hostile text."""
    return st.one_of(
        hostile_text,
        truncated(valid_xml.encode()).map(lambda b: b.decode("utf-8", "ignore")),
        nested_xml().map(bytes.decode),
        declared(valid_xml),
    )


# Ciphertexts that are not: any text, and base64 of random bytes (so decryption is reached)
garbage_ciphertext = st.one_of(
    st.text(max_size=128),
    st.binary(max_size=256).map(lambda b: base64.b64encode(b).decode()),
    st.sampled_from(HUGE_NUMBERS),
)


# --- JSON payloads (smart robot, DingTalk, simulator) ------------------------------------

DROP = object()  # the field is left out


@dataclass(frozen=True)
class Raw:
    """A JSON literal json.dumps cannot write (1e400, NaN, 10**40 as a number, deep arrays)."""

    literal: str


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=32),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
wrong_values: st.SearchStrategy[Any] = st.one_of(
    st.just(DROP),
    json_values,
    hostile_text,
    st.sampled_from(HUGE_NUMBERS).map(Raw),
    depth.map(lambda n: Raw("[" * n + "]" * n)),
)
_MARK = "\ue000fuzz-raw\ue000"


def mutated_json(base: dict[str, Any], paths: list[tuple[str, ...]]) -> st.SearchStrategy[bytes]:
    """`base` with the field at one of `paths` dropped or given a wrong value."""

    def build(path: tuple[str, ...], value: Any) -> bytes:
        doc = copy.deepcopy(base)
        target = doc
        for key in path[:-1]:
            target = target[key]
        if value is DROP:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = _MARK if isinstance(value, Raw) else value
        text = json.dumps(doc, ensure_ascii=False)
        if isinstance(value, Raw):
            text = text.replace(json.dumps(_MARK, ensure_ascii=False), value.literal)
        return text.encode()

    return st.builds(build, st.sampled_from(paths), wrong_values)


def json_paths(doc: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every field of a JSON object, nested objects' fields included."""
    paths: list[tuple[str, ...]] = []
    for key, value in doc.items():
        paths.append((*prefix, key))
        if isinstance(value, dict):
            paths.extend(json_paths(value, (*prefix, key)))
    return paths


def json_bodies(base: dict[str, Any], key: str = "") -> st.SearchStrategy[bytes]:
    """Every kind of bad JSON body, around a valid `base`."""
    valid = json.dumps(base, ensure_ascii=False).encode()
    return st.one_of(
        random_bytes,
        nested_json(key),
        truncated(valid),
        mutated_json(base, json_paths(base)),
        st.sampled_from(HUGE_NUMBERS).map(str.encode),
    )
