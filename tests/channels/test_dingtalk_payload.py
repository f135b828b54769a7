"""Hostile and malformed DingTalk robot messages, correctly signed: each is refused with a
400 before anything is stored or handled, and a kind the bot does not take is answered
politely and logged."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.app import Services
from bot.channels.dingtalk_payload import robot_message, to_inbound
from bot.channels.payload import PayloadError
from bot.i18n import Translations
from storage.models import InboundLog, Report
from storage.models.people import Identity
from tests.channels.dingtalk_support import body, headers, text_payload
from tests.handlers.support import person_id

ZH = Translations().for_locale("zh_CN")
PROBLEM = "村口路灯坏了三天了"  # a report, when a bound villager says it


async def counted(services: Services) -> tuple[int, int]:
    """(inbound log rows, reports)."""
    async with services.uow() as store:
        logged = await store.session.scalar(select(func.count()).select_from(InboundLog))
        reports = await store.session.scalar(select(func.count()).select_from(Report))
    return logged or 0, reports or 0


async def bind_villager(services: Services) -> None:
    """DingTalk's user001 is 王秀英 (P1), a villager of 柳树村."""
    pid = await person_id(services, "P1")
    async with services.uow() as store:
        store.session.add(
            Identity(
                channel="ding",
                external_id="user001",
                person_id=pid,
                bound_by="import",
                bound_at=services.clock.now(),
            )
        )


def now_ms(services: Services) -> int:
    return int(services.clock.now().timestamp() * 1000)


def deep(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def hostile(case: str, at: int) -> bytes:
    """The villager's report, spoiled one way."""
    payload = text_payload(PROBLEM, f"h-{case}", at)
    raw = body(payload)
    if case == "deep-nesting":  # RecursionError in json.loads, once a 500
        return deep(100_000)
    if case == "createAt-1e400":  # OverflowError on the float, once a 500
        spoiled = raw.replace(f'"createAt": {at}'.encode(), b'"createAt": 1e400')
        assert spoiled != raw
        return spoiled
    if case == "createAt-huge":  # OSError (errno 75) in fromtimestamp, once a 500
        payload["createAt"] = 10**20
    elif case == "expiry-soon":  # int("soon") outside the try, once a 500
        payload["sessionWebhookExpiredTime"] = "soon"
    elif case == "createAt-1970":
        payload["createAt"] = 0
    elif case == "type-as-number":
        payload["conversationType"] = 2
    elif case == "long-msgId":
        payload["msgId"] = "m" * 129
    elif case == "long-text":
        payload["text"] = {"content": "路" * 20_001}
    elif case == "text-not-object":
        payload["text"] = "帮助"
    elif case == "no-sender":
        del payload["senderStaffId"], payload["senderId"]
    elif case == "group-without-conversation":
        payload["conversationType"] = "2"
        del payload["conversationId"]
    elif case == "at-users-not-list":
        payload["atUsers"] = {"dingtalkId": "x"}
    elif case == "mentioned-as-object":
        payload["isInAtList"] = {"yes": True}
    elif case == "webhook-not-string":
        payload["sessionWebhook"] = ["https://oapi.dingtalk.com/robot/sendBySession?s=1"]
    elif case == "msgtype-bad":
        payload["msgtype"] = "text; DROP"
    return body(payload)


ONCE_A_500 = ["deep-nesting", "createAt-1e400", "createAt-huge", "expiry-soon"]
OUT_OF_SHAPE = [
    "createAt-1970",
    "type-as-number",
    "long-msgId",
    "long-text",
    "text-not-object",
    "no-sender",
    "group-without-conversation",
    "at-users-not-list",
    "mentioned-as-object",
    "webhook-not-string",
    "msgtype-bad",
]


async def test_the_report_itself_is_taken(client: Any, services: Services, registry: None) -> None:
    """The control: unspoiled, the message is logged and makes a report."""
    await bind_villager(services)
    at = now_ms(services)
    payload = text_payload(PROBLEM, "fine", at)
    resp = await client.post("/callback/ding", data=body(payload), headers=headers(at))
    assert resp.status == 200
    assert await counted(services) == (1, 1)


@pytest.mark.parametrize("case", ONCE_A_500)
async def test_a_body_that_once_crashed_the_callback_gets_400_and_nothing_is_stored(
    client: Any, services: Services, registry: None, case: str, caplog: Any
) -> None:
    await bind_villager(services)
    at = now_ms(services)
    caplog.set_level("INFO")
    resp = await client.post("/callback/ding", data=hostile(case, at), headers=headers(at))
    assert resp.status == 400
    assert await counted(services) == (0, 0)  # no inbound log row, no report
    (refusal,) = [r for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert "refused a callback (400)" in refusal.getMessage()
    assert len(refusal.getMessage()) < 400  # one short line, not the body echoed


@pytest.mark.parametrize("case", OUT_OF_SHAPE)
async def test_a_field_out_of_shape_gets_400_and_nothing_is_stored(
    client: Any, services: Services, case: str
) -> None:
    at = now_ms(services)
    resp = await client.post("/callback/ding", data=hostile(case, at), headers=headers(at))
    assert resp.status == 400
    assert await counted(services) == (0, 0)


@pytest.mark.parametrize(
    ("msgtype", "content"),
    [
        ("video", {"downloadCode": "V1", "duration": 3000, "videoType": "mp4"}),
        ("file", {"downloadCode": "F1", "fileName": f"{PROBLEM}.jpg"}),  # words, yet no report
        ("interactiveCard", {}),
        ("someKindDingTalkAddsNextYear", {"anything": [1, 2, {"x": None}]}),
    ],
)
async def test_a_kind_not_taken_is_answered_politely_and_logged_but_never_read(
    client: Any, services: Services, registry: None, msgtype: str, content: Any
) -> None:
    """A villager's video of the broken road: she is told what gets through; the message is
    logged, and nothing in it is taken for a report."""
    await bind_villager(services)
    at = now_ms(services)
    payload = text_payload("", f"k-{msgtype}", at)
    del payload["text"]
    payload |= {"msgtype": msgtype, "content": content}
    resp = await client.post("/callback/ding", data=body(payload), headers=headers(at))
    assert resp.status == 200
    assert (await resp.json())["text"]["content"] == ZH.t("fallback.cannot_open")
    assert await counted(services) == (1, 0)


@pytest.mark.parametrize(
    ("header", "value"), [("sign", "签名"), ("timestamp", "１７００"), ("timestamp", "9" * 5000)]
)
async def test_odd_signature_headers_are_refused_not_crashed_on(
    client: Any, services: Services, header: str, value: str
) -> None:
    at = now_ms(services)
    sent = headers(at)
    sent[header] = value
    payload = body(text_payload("帮助", "odd", at))
    resp = await client.post("/callback/ding", data=payload, headers=sent)
    assert resp.status == 403
    assert await counted(services) == (0, 0)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    ["msgtype", "msgId", "createAt", "conversationType", "conversationId", "senderStaffId",
     "senderId", "text", "content", "isInAtList", "atUsers", "sessionWebhook",
     "sessionWebhookExpiredTime"]
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(changes=st.dictionaries(FIELDS, JSON, max_size=4))
def test_any_field_set_to_anything_is_a_message_or_a_payload_error(
    changes: dict[str, Any],
) -> None:
    """Whatever DingTalk's fields hold, reading them ends in a message or a PayloadError
    (a 400), and a message read converts without raising."""
    at = 1_700_000_000_000
    payload = text_payload("帮助", "fuzz", at) | changes
    try:
        raw = json.dumps(payload, allow_nan=False).encode()
    except ValueError:
        return  # not JSON (NaN): the reader refuses those bytes before any model
    try:
        message = robot_message(raw)
    except PayloadError:
        return
    to_inbound(message, "ding", datetime.fromtimestamp(at / 1000, UTC))


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=200))
def test_any_bytes_are_a_message_or_a_payload_error(raw: bytes) -> None:
    with contextlib.suppress(PayloadError):
        robot_message(raw)
