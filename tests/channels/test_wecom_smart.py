"""WeCom's smart robot through the real HTTP app: callbacks sealed and signed as WeCom seals
them, answers held to what WeCom accepts (tests/fakes/wecom_smart.py), pictures fetched
from a local WeCom's expiring links and decrypted."""

from __future__ import annotations

import base64
import itertools
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import SERVICES, Services, create_app
from bot.clock import FixedClock
from bot.config import Settings, WeComBotChannelSettings
from bot.i18n import Translations
from storage.importer import import_registry, read_registry
from storage.models import Report, ReportPhoto
from tests.channels.test_dingtalk import logged
from tests.conftest import DATA, WECHAT_AES_KEY, WECHAT_TOKEN
from tests.factories import add_wecom_group, png
from tests.fakes.wecom import FakeWeCom
from tests.fakes.wecom_smart import BotAnswer, SmartRobotCallbacks, refusal, seal_media
from tests.wechat_support import sign

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
VILLAGER = "wangxiuying"  # bound to 王秀英 (P1, grid G1 of 柳树村) in each test
_ids = itertools.count(1)


@pytest.fixture
async def fake(clock: FixedClock, aiohttp_server: Any) -> tuple[FakeWeCom, str]:
    wecom = FakeWeCom(clock)
    server = await aiohttp_server(wecom.app())
    return wecom, str(server.make_url("")).rstrip("/")


@pytest.fixture
async def app(
    settings: Settings, clock: FixedClock, fake: tuple[FakeWeCom, str], aiohttp_client: Any
) -> Client:
    """The app with a smart-robot channel whose API base is the fake, and the registry."""
    robot = WeComBotChannelSettings(
        type="wecom_bot",
        name="wbot",
        token=WECHAT_TOKEN,
        encoding_aes_key=WECHAT_AES_KEY,
        api_base=fake[1],
    )
    channels = [*settings.channels, robot]
    client: Client = await aiohttp_client(
        create_app(settings.model_copy(update={"channels": channels}), clock)
    )
    await import_registry(services_of(client).uow, read_registry(DATA / "registry.yaml"))
    return client


@pytest.fixture
def wecom(app: Client, clock: FixedClock) -> SmartRobotCallbacks:
    return SmartRobotCallbacks(app, "/callback/wbot", clock, WECHAT_TOKEN, WECHAT_AES_KEY)


@pytest.fixture
async def bound(wecom: SmartRobotCallbacks) -> None:
    """王秀英 has bound her WeCom account in the robot's 1:1 chat."""
    assert await said(wecom, text("绑定 王秀英 1111")) == ZH.t("bind.ok", name="王秀英")


def services_of(client: Client) -> Services:
    found: Services = client.app[SERVICES]
    return found


def message(msgtype: str, body: Any, chat: str = "", **extra: Any) -> dict[str, Any]:
    """A decrypted callback as WeCom writes it: 1:1 unless `chat` names the group."""
    msg: dict[str, Any] = {
        "msgid": f"msg-{next(_ids)}",
        "aibotid": "AIBOT1",
        "chattype": "group" if chat else "single",
        "from": {"userid": VILLAGER},
        "msgtype": msgtype,
        msgtype: body,
    }
    if chat:
        msg["chatid"] = chat
    return msg | extra


def text(words: str, chat: str = "") -> dict[str, Any]:
    return message("text", {"content": words}, chat)


def mixed(words: str, url: str, chat: str) -> dict[str, Any]:
    items = [
        {"msgtype": "text", "text": {"content": words}},
        {"msgtype": "image", "image": {"url": url}},
    ]
    return message("mixed", {"msg_item": items}, chat)


def stream_of(answer: BotAnswer) -> dict[str, Any]:
    assert answer.status == 200, answer.text
    assert answer.reply is not None
    assert answer.reply["msgtype"] == "stream", answer.reply
    stream: dict[str, Any] = answer.reply["stream"]
    assert stream["finish"] is True  # the whole answer is known at once
    return stream


async def said(wecom: SmartRobotCallbacks, msg: dict[str, Any]) -> str:
    """What the person reads in answer to their message (its stream's content)."""
    content: str = stream_of(await wecom.post(msg))["content"]
    return content


async def stored(client: Client) -> tuple[list[Report], list[ReportPhoto]]:
    async with services_of(client).uow() as store:
        reports = (await store.session.scalars(select(Report).order_by(Report.id))).all()
        photos = (await store.session.scalars(select(ReportPhoto).order_by(ReportPhoto.id))).all()
    return list(reports), list(photos)


def received(report: Report) -> str:
    return ZH.t(
        "report.received",
        number=report.id,
        category="水利设施",
        role=ZH.t("role.village_secretary"),
    )


def picture(fake: tuple[FakeWeCom, str], data: bytes, **seal: Any) -> str:
    return fake[0].bot_picture(fake[1], seal_media(data, WECHAT_AES_KEY, **seal))


async def test_a_group_mention_gets_a_finished_stream_and_a_refresh_the_same_body(
    app: Client, wecom: SmartRobotCallbacks
) -> None:
    answer = await wecom.post(text("@村务助手\u2005帮助", chat="CHAT1"))
    stream = stream_of(answer)
    assert stream["content"].startswith(ZH.t("help.title.guest"))
    (row,) = await logged(services_of(app))
    assert (row.chat_id, row.sender_id, row.text) == ("CHAT1", VILLAGER, "帮助")
    # WeCom asking for the stream again (any instance may be asked) gets the same body
    refresh = message("stream", {"id": stream["id"]}, chat="CHAT1")
    assert (await wecom.post(refresh)).reply == answer.reply
    # a stream the bot never opened (or long expired) is answered finished and empty
    unknown = await wecom.post(message("stream", {"id": "0" * 32}, chat="CHAT1"))
    assert unknown.reply == {
        "msgtype": "stream",
        "stream": {"id": "0" * 32, "finish": True, "content": ""},
    }
    assert len(await logged(services_of(app))) == 1  # refreshes are not messages


async def test_entering_the_chat_is_welcomed_with_a_passive_text(
    wecom: SmartRobotCallbacks,
) -> None:
    enter = message("event", {"eventtype": "enter_chat"}, create_time=1_700_000_000)
    answer = await wecom.post(enter)
    assert answer.reply is not None
    assert answer.reply["msgtype"] == "text"
    assert answer.reply["text"]["content"].startswith(ZH.t("help.welcome"))


async def test_a_group_photo_with_its_words_is_a_report_with_the_photo_kept(
    app: Client, wecom: SmartRobotCallbacks, fake: tuple[FakeWeCom, str], bound: None
) -> None:
    url = picture(fake, png(3, 3))
    answer = await said(wecom, mixed("@村务助手 一组水渠堵了", url, chat="CHAT-RES"))
    (report,), (photo,) = await stored(app)
    assert answer == received(report)
    assert (report.channel, report.text, report.category) == ("wbot", "一组水渠堵了", "水利设施")
    assert photo.report_id == report.id
    assert services_of(app).media.path(photo.media).read_bytes() == png(3, 3)
    assert fake[0].bot_media_asked == ["p1"]


async def test_in_the_cadre_group_the_report_is_announced_with_its_photo_in_the_stream(
    app: Client, wecom: SmartRobotCallbacks, fake: tuple[FakeWeCom, str], bound: None
) -> None:
    async with services_of(app).uow() as store:
        await add_wecom_group(store, code="WG1", chat="CHAT-CADRES")
    stream = stream_of(
        await wecom.post(mixed("@村务助手 一组水渠堵了", picture(fake, png()), "CHAT-CADRES"))
    )
    (report,), (photo,) = await stored(app)
    # one message in the group: the announcement, with the photo the stream shows
    assert stream["content"].startswith(f"【随手拍 #{report.id}】水利设施\n一组水渠堵了")
    assert photo.report_id == report.id
    (item,) = stream["msg_item"]
    assert base64.b64decode(item["image"]["base64"]) == png()


async def test_a_voice_message_is_taken_as_its_words(
    app: Client, wecom: SmartRobotCallbacks, bound: None
) -> None:
    answer = await said(wecom, message("voice", {"content": "一组水渠堵了。"}))
    (report,), photos = await stored(app)
    assert answer == received(report)
    assert (report.text, photos) == ("一组水渠堵了。", [])


async def test_a_quote_is_kept_for_handlers_and_the_message_is_its_own_words(
    app: Client, wecom: SmartRobotCallbacks
) -> None:
    quoted = {"msgtype": "text", "text": {"content": "下周二停水"}}
    msg = text("@村务助手 帮助", chat="CHAT1") | {"quote": quoted}
    assert (await said(wecom, msg)).startswith(ZH.t("help.title.guest"))
    (row,) = await logged(services_of(app))
    assert row.text == "帮助"


@pytest.mark.parametrize("when", ["expired", "bad pad"])
async def test_a_picture_that_cannot_be_had_is_asked_for_again(
    app: Client,
    wecom: SmartRobotCallbacks,
    fake: tuple[FakeWeCom, str],
    clock: FixedClock,
    bound: None,
    when: str,
) -> None:
    url = picture(fake, png(), pad_value=33 if when == "bad pad" else None)
    if when == "expired":
        clock.advance(5 * 60 + 1)  # the link WeCom gave lives 5 minutes
    answer = await said(wecom, message("image", {"url": url}))
    assert answer == ZH.t("media.unavailable")
    assert await stored(app) == ([], [])
    assert fake[0].bot_media_asked == ["p1"]


@pytest.mark.parametrize("kind", ["file", "video", "location"])  # location: a type not known
async def test_files_and_videos_are_answered_politely_and_logged(
    app: Client, wecom: SmartRobotCallbacks, bound: None, kind: str
) -> None:
    """In the 1:1 chat (where WeCom sends files and videos): one finished stream saying what
    gets through, and the message logged; nothing is fetched or taken for a report."""
    sent = message(kind, {"url": "https://cos.example/f?sign=1"})
    assert await said(wecom, sent) == ZH.t("fallback.cannot_open")
    row = next(r for r in await logged(services_of(app)) if r.msg_id == sent["msgid"])
    assert (row.kind, row.text, row.handler) == ("other", "", "fallback.cannot_open")
    assert await stored(app) == ([], [])


async def test_an_event_the_bot_does_not_know_is_still_ignored(
    app: Client, wecom: SmartRobotCallbacks
) -> None:
    answer = await wecom.post(message("event", {"eventtype": "template_card_event"}))
    assert (answer.status, answer.text) == (200, "")
    assert await logged(services_of(app)) == []


async def test_a_forged_signature_is_refused_and_nothing_is_stored(
    app: Client, wecom: SmartRobotCallbacks, bound: None
) -> None:
    before = [row.msg_id for row in await logged(services_of(app))]  # the binding
    query, body = wecom.seal(text("一组水渠堵了"))
    forged = {**query, "msg_signature": "0" * 40}
    resp = await app.post("/callback/wbot", params=forged, json=body)
    assert resp.status == 403
    assert [row.msg_id for row in await logged(services_of(app))] == before
    assert await stored(app) == ([], [])


async def test_a_deeply_nested_body_is_a_400_not_a_crash(
    app: Client, wecom: SmartRobotCallbacks
) -> None:
    query, _ = wecom.seal(text("帮助"))
    resp = await app.post("/callback/wbot", params=query, data=b"[" * 100_000)
    assert resp.status == 400
    # the same inside a genuine envelope: signed and sealed, then refused once opened
    timestamp, nonce = query["timestamp"], query["nonce"]
    deep = wecom.crypto.encrypt_message("[" * 100_000, nonce, timestamp)
    encrypt = deep.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    signed = {**query, "msg_signature": sign(WECHAT_TOKEN, timestamp, nonce, encrypt)}
    resp = await app.post("/callback/wbot", params=signed, json={"encrypt": encrypt})
    assert resp.status == 400
    assert await logged(services_of(app)) == []


@pytest.mark.parametrize(
    "body",
    [b'{"encrypt": 5}', b'{"encrypt": ""}', b'["encrypt"]', b"{}", b'{"encrypt": "x"', b"1e999"],
    ids=["number", "empty", "list", "missing", "truncated", "huge number"],
)
async def test_an_envelope_that_is_not_wecoms_is_a_400(
    app: Client, wecom: SmartRobotCallbacks, body: bytes
) -> None:
    query, _ = wecom.seal(text("帮助"))
    resp = await app.post("/callback/wbot", params=query, data=body)
    assert resp.status == 400


@pytest.mark.parametrize(
    "change",
    [
        {"msgid": 12345},
        {"text": {"content": ["帮助"]}},
        {"text": {"content": "帮" * 20_000}},
        {"from": {"userid": ""}},
        {"from": "wangxiuying"},
        {"chattype": "channel"},
        {"chattype": "group"},  # without its chatid
        {"create_time": -1},
        {"create_time": True},
        {"quote": {"msgtype": "sticker"}},
    ],
)
async def test_a_message_of_the_wrong_shape_is_a_400_and_not_handled(
    app: Client, wecom: SmartRobotCallbacks, change: dict[str, Any]
) -> None:
    resp = await _post_raw(app, wecom, text("帮助") | change)
    assert resp == 400
    assert await logged(services_of(app)) == []


@pytest.mark.parametrize(
    "msg",
    [
        message("mixed", {"msg_item": []}, "CHAT1"),
        message("mixed", {"msg_item": [{"msgtype": "image", "image": {"url": "file:///etc"}}]}),
        message("image", {"url": "javascript:alert(1)"}),
        message("voice", {"content": 7}),
        message("stream", {"id": "../../etc"}),
        message("event", {"eventtype": 1}),
    ],
    ids=["mixed empty", "mixed bad link", "image bad link", "voice number", "stream id", "event"],
)
async def test_each_message_type_is_checked(
    app: Client, wecom: SmartRobotCallbacks, msg: dict[str, Any]
) -> None:
    assert await _post_raw(app, wecom, msg) == 400
    assert await logged(services_of(app)) == []


async def _post_raw(app: Client, wecom: SmartRobotCallbacks, msg: dict[str, Any]) -> int:
    """The status the bot answers a genuine (signed, sealed) callback with."""
    query, body = wecom.seal(msg)
    resp = await app.post("/callback/wbot", params=query, json=body)
    return resp.status


def test_the_local_wecom_refuses_what_wecom_refuses() -> None:
    # the guard every answer above went through (SmartRobotCallbacks.post)
    passive = {"msgtype": "text", "text": {"content": "您好"}}
    assert "only for the enter_chat event" in refusal(text("帮助"), passive)
    assert refusal(message("event", {"eventtype": "enter_chat"}), passive) == ""
    unfinished = {"id": "s1", "finish": False, "content": "", "msg_item": [{"image": {}}]}
    assert "only with finish" in refusal(text("帮助"), {"msgtype": "stream", "stream": unfinished})
    too_long = {"id": "s1", "finish": True, "content": "路" * 7000}
    assert "20480" in refusal(text("帮助"), {"msgtype": "stream", "stream": too_long})
