"""The DingTalk app robot's callback, signed and shaped exactly as DingTalk sends it."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

import pytest
from sqlalchemy import select

from bot.app import Services
from bot.channels.dingtalk_send import body_of, sign
from bot.clock import FixedClock
from bot.i18n import Translations
from bot.message import Reply, ReplyKind
from storage.models import InboundLog, InboundResult
from tests.channels.dingtalk_support import body, headers, signature, text_payload
from tests.conftest import ADMIN

ZH = Translations().for_locale("zh_CN")
VECTOR_MS = 1_700_000_000_000


def now_ms(clock: FixedClock) -> int:
    return int(clock.now().timestamp() * 1000)


async def logged(services: Services) -> list[InboundLog]:
    async with services.uow() as store:
        return list((await store.session.scalars(select(InboundLog))).all())


def test_signatures_match_the_documented_vectors() -> None:
    # PROTOCOLS.md 7.5: the app robot's callback header
    assert sign("testAppSecret_village", "1700000000000") == (
        "lJe6NjZE+Hgtm/1063rOy/GeqXWpBT/hXrQ9ZdYusKI="
    )
    assert signature("1700000000000") == sign("testAppSecret_village", "1700000000000")
    # PROTOCOLS.md 7.6: a custom robot's webhook query
    custom = sign("SECtest0123456789abcdef", "1700000000000")
    assert custom == "/lfnxUUu80FwVTsIlv2F1cMGBb+PxEKAwYh/bsRxXcc="
    assert quote_plus(custom) == "%2FlfnxUUu80FwVTsIlv2F1cMGBb%2BPxEKAwYh%2FbsRxXcc%3D"


async def test_help_in_a_one_to_one_chat_is_answered_in_the_response(
    client: Any, clock: FixedClock
) -> None:
    at = now_ms(clock)
    resp = await client.post(
        "/callback/ding", data=body(text_payload("帮助", "msg1", at)), headers=headers(at)
    )
    assert resp.status == 200
    answer = await resp.json()
    assert answer["msgtype"] == "text"
    assert answer["text"]["content"].startswith(ZH.t("help.title.guest"))


@pytest.mark.parametrize(
    ("offset_ms", "status"),
    [(0, 200), (3_599_999, 200), (-3_599_999, 200), (3_600_001, 403), (-3_600_001, 403)],
)
async def test_the_timestamp_may_be_an_hour_off_and_no_more(
    client: Any, clock: FixedClock, services: Services, offset_ms: int, status: int
) -> None:
    clock.set(datetime.fromtimestamp(VECTOR_MS / 1000, UTC))
    sent = VECTOR_MS + offset_ms
    resp = await client.post(
        "/callback/ding", data=body(text_payload("帮助", "w1", sent)), headers=headers(sent)
    )
    assert resp.status == status
    assert len(await logged(services)) == (1 if status == 200 else 0)


@pytest.mark.parametrize(
    "forge",
    ["missing-sign", "missing-timestamp", "one-char", "other-secret", "garbage-timestamp"],
)
async def test_forged_or_missing_signatures_are_refused(
    client: Any, clock: FixedClock, services: Services, forge: str
) -> None:
    at = now_ms(clock)
    sent = headers(at)
    if forge == "missing-sign":
        del sent["sign"]
    elif forge == "missing-timestamp":
        del sent["timestamp"]
    elif forge == "one-char":
        sent["sign"] = ("A" if sent["sign"][0] != "A" else "B") + sent["sign"][1:]
    elif forge == "other-secret":
        sent = headers(at, secret="someoneElsesSecret")
    else:
        sent["timestamp"] = "yesterday"
        sent["sign"] = signature("yesterday")
    resp = await client.post(
        "/callback/ding", data=body(text_payload("帮助", "f1", at)), headers=sent
    )
    assert resp.status == 403
    assert await logged(services) == []


async def test_a_plus_turned_into_a_space_by_a_proxy_still_verifies(
    client: Any, clock: FixedClock
) -> None:
    clock.set(datetime.fromtimestamp(VECTOR_MS / 1000, UTC))
    sent = headers(VECTOR_MS)
    assert "+" in sent["sign"]
    sent["sign"] = sent["sign"].replace("+", " ")
    resp = await client.post(
        "/callback/ding", data=body(text_payload("帮助", "p1", VECTOR_MS)), headers=sent
    )
    assert resp.status == 200


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"[1, 2]", b'{"msgtype": "text"}', "\u5e2e\u52a9".encode("gbk"), b""],
    ids=["malformed", "array", "incomplete", "not-utf8", "empty"],
)
async def test_malformed_bodies_get_400_and_nothing_is_stored(
    client: Any, clock: FixedClock, services: Services, raw: bytes
) -> None:
    at = now_ms(clock)
    resp = await client.post("/callback/ding", data=raw, headers=headers(at))
    assert resp.status == 400
    assert await logged(services) == []


async def test_an_oversized_body_gets_413(client: Any, clock: FixedClock) -> None:
    at = now_ms(clock)
    big = text_payload("x" * (1024 * 1024 + 10), "big", at)
    resp = await client.post(
        "/callback/ding", data=io.BytesIO(body(big)), headers=headers(at)
    )  # BytesIO: aiohttp warns about large raw bytes bodies
    assert resp.status == 413


async def test_only_posts(client: Any) -> None:
    assert (await client.get("/callback/ding")).status == 405


async def test_a_retried_callback_is_handled_once_and_answered_the_same(
    client: Any, clock: FixedClock, services: Services
) -> None:
    at = now_ms(clock)
    answers = []
    for _ in range(2):
        resp = await client.post(
            "/callback/ding", data=body(text_payload("帮助", "again", at)), headers=headers(at)
        )
        answers.append(await resp.json())
    assert answers[0] == answers[1]
    assert len(await logged(services)) == 1


async def test_group_message_mentioning_the_robot(
    client: Any, clock: FixedClock, services: Services
) -> None:
    at = now_ms(clock)
    payload = text_payload("今天开会吗", "g1", at, group=True)
    resp = await client.post("/callback/ding", data=body(payload), headers=headers(at))
    assert (await resp.json())["text"]["content"] == ZH.t("fallback.chat")
    (row,) = await logged(services)
    assert (row.chat_id, row.sender_id) == ("cidTESTgroup==", "user001")


def payload_of(kind: str, at: int, **where: Any) -> dict[str, Any]:
    base = text_payload("", f"k-{kind}", at, **where)
    del base["text"]
    base["msgtype"] = kind
    base["content"] = {
        "picture": {"downloadCode": "DLCODE1"},
        "richText": {
            "richText": [
                {"text": "帮"},
                {"type": "picture", "downloadCode": "RT1"},
                {"text": "助"},
            ]
        },
        "audio": {"recognition": "帮助", "downloadCode": "AU1", "duration": 2000},
        "file": {"downloadCode": "F1", "fileName": "村规民约.pdf", "fileId": "1", "spaceId": "2"},
        "video": {"downloadCode": "V1", "duration": 3000, "videoType": "mp4"},
        "interactiveCard": {"cardTemplateId": "StandardCard", "cardData": {"title": "投票"}},
    }[kind]
    return base


@pytest.mark.parametrize(
    ("kind", "logged_kind", "logged_text"),
    [
        ("picture", "image", ""),
        ("richText", "image", "帮助"),
        ("audio", "voice", "帮助"),
    ],
)
async def test_each_message_type_is_understood(
    client: Any,
    clock: FixedClock,
    services: Services,
    kind: str,
    logged_kind: str,
    logged_text: str,
) -> None:
    at = now_ms(clock)
    resp = await client.post(
        "/callback/ding", data=body(payload_of(kind, at)), headers=headers(at)
    )
    assert resp.status == 200
    (row,) = await logged(services)
    assert (row.kind, row.text) == (logged_kind, logged_text)
    if kind == "audio":  # a spoken "帮助" gets the menu like a typed one
        assert (await resp.json())["text"]["content"].startswith(ZH.t("help.title.guest"))


@pytest.mark.parametrize("kind", ["file", "video", "interactiveCard"])
async def test_a_kind_the_bot_cannot_open_is_answered_politely_and_logged(
    client: Any, clock: FixedClock, services: Services, kind: str
) -> None:
    """In 1:1, and in a group when the robot is @mentioned: the sender reads what gets
    through; the log shows they wrote. A file's name is not taken for words."""
    at = now_ms(clock)
    for where in ({}, {"group": True}):
        payload = payload_of(kind, at, **where)
        payload["msgId"] += "-group" if where else ""
        resp = await client.post("/callback/ding", data=body(payload), headers=headers(at))
        assert resp.status == 200
        assert (await resp.json())["text"]["content"] == ZH.t("fallback.cannot_open")
    rows = await logged(services)
    assert [(r.chat_id, r.kind, r.text, r.handler) for r in rows] == [
        (chat, "other", "", "fallback.cannot_open") for chat in ("user001", "cidTESTgroup==")
    ]


async def test_a_kind_the_bot_cannot_open_unaddressed_in_a_group_is_logged_not_answered(
    client: Any, clock: FixedClock, services: Services
) -> None:
    at = now_ms(clock)
    payload = payload_of("video", at, group=True, mentioned=False)
    resp = await client.post("/callback/ding", data=body(payload), headers=headers(at))
    assert resp.status == 200
    assert await resp.json() == {}
    (row,) = await logged(services)
    assert (row.kind, row.result, row.replies) == ("other", InboundResult.IGNORED, [])


async def test_the_metrics_count_refusals(client: Any, clock: FixedClock) -> None:
    at = now_ms(clock)
    await client.post("/callback/ding", data=b"{}", headers={"timestamp": str(at)})
    text = await (await client.get("/metrics", headers=ADMIN)).text()
    line = 'villagebot_inbound_messages_total{channel="ding",kind="unknown",result="rejected"}'
    assert f"{line} 1.0" in text


def test_robot_bodies_follow_the_documented_shapes() -> None:
    assert body_of(Reply.of_text("开会", mentions=("user001",))) == {
        "msgtype": "text",
        "text": {"content": "开会"},
        "at": {"atUserIds": ["user001"]},
    }
    markdown = body_of(Reply(kind=ReplyKind.MARKDOWN, text="#### 停水通知\n周一 8:00-12:00"))
    assert markdown == {
        "msgtype": "markdown",
        "markdown": {"title": "停水通知", "text": "#### 停水通知\n周一 8:00-12:00"},
    }
    card = Reply(kind=ReplyKind.LINK, title="停水通知", text="周一", url="https://v.example/1")
    assert body_of(card) == {
        "msgtype": "link",
        "link": {
            "title": "停水通知",
            "text": "周一",
            "messageUrl": "https://v.example/1",
            "picUrl": "",
        },
    }


def test_a_table_goes_to_dingtalk_as_a_numbered_list_titled_in_plain_words() -> None:
    table = "| 名次 | 单位 | 上报 |\n|---|---|---:|\n| 1 | 柳树村 | 2 |\n| 2 | 杨庄村 | 0 |"
    merged = f"**以下 2 条消息合并发送**\n\n---\n\n### 本周排名\n\n{table}"
    body = body_of(Reply(kind=ReplyKind.MARKDOWN, text=merged, mentions=("user001",)))
    assert body == {
        "msgtype": "markdown",
        "markdown": {
            "title": "以下 2 条消息合并发送",
            "text": (
                "**以下 2 条消息合并发送**\n\n——————\n\n### 本周排名\n\n"
                "1. **柳树村**\u3000上报 2\n2. **杨庄村**\u3000上报 0"
            ),
        },
        "at": {"atUserIds": ["user001"]},
    }


def test_a_photo_a_text_carries_goes_as_the_link_in_the_text() -> None:
    text = "【随手拍 #3】照片：https://v.example/media/ab.png"
    assert body_of(Reply(text=text, image="ab.png")) == {
        "msgtype": "text",
        "text": {"content": text},
    }
