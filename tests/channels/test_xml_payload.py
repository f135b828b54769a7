"""Every field of the XML that WeChat and the WeCom app post is validated, over real HTTP:
a value no platform sends is a 400 that names the field, with one log line and nothing
stored, in plaintext, in safe mode and sealed by WeCom alike; what platforms do send
(either spelling of MsgId, events in any case, events the bot has no name for) is taken,
and a message of a kind the bot cannot read is answered and logged.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import xmltodict
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.app import SERVICES, Services, create_app
from bot.clock import FixedClock
from bot.config import Settings, WeComChannelSettings
from bot.i18n import Translations
from storage.models import InboundLog
from tests.conftest import WECHAT_AES_KEY, WECHAT_TOKEN
from tests.wechat_support import AES, OA_ID, PLAIN, decrypt_reply, deliver, message_xml, sign

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
CORP_ID = "ww0123456789abcdef"
AGENT_ID = 1000002
WECOM = "wecom"
CRYPTO = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, CORP_ID)
EVERY_MODE = pytest.mark.parametrize("channel", [PLAIN, AES, WECOM])


@pytest.fixture
async def app(settings: Settings, clock: FixedClock, aiohttp_client: Any) -> Client:
    """Both Official Account channels of the test settings, and a WeCom app."""
    wecom = WeComChannelSettings(
        type="wecom",
        name=WECOM,
        corp_id=CORP_ID,
        agent_id=AGENT_ID,
        secret="app-secret",
        token=WECHAT_TOKEN,
        encoding_aes_key=WECHAT_AES_KEY,
        api_base="http://127.0.0.1:9",  # never called: no test here sends or downloads
    )
    channels = [*settings.channels, wecom]
    app = create_app(settings.model_copy(update={"channels": channels}), clock)
    client: Client = await aiohttp_client(app)
    return client


def services_of(client: Client) -> Services:
    found: Services = client.app[SERVICES]
    return found


async def rows(client: Client) -> list[InboundLog]:
    async with services_of(client).uow() as store:
        return list((await store.session.scalars(select(InboundLog))).all())


_ids = iter(range(8_000_000_000_000_000_001, 9_000_000_000_000_000_000))


def fields_of(channel: str, kind: dict[str, str | int], at: int) -> dict[str, str | int]:
    """A message's fields as the channel's platform writes them (a fresh MsgId for each)."""
    common: dict[str, str | int] = {
        "ToUserName": CORP_ID if channel == WECOM else OA_ID,
        "FromUserName": "zhangsan" if channel == WECOM else "oVILLAGER001",
        "CreateTime": at,
    }
    found = common | kind
    if "MsgId" in found:
        found["MsgId"] = next(_ids)
    if channel == WECOM:
        found["AgentID"] = AGENT_ID
    return found


async def post(client: Client, channel: str, xml: str, at: int) -> ClientResponse:
    if channel != WECOM:
        return await deliver(client, channel, xml, at)
    sealed = CRYPTO.encrypt_message(xml, "n1", str(at))
    encrypt = sealed.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    query = {"msg_signature": sign(WECHAT_TOKEN, str(at), "n1", encrypt), "timestamp": str(at)}
    body = f"<xml><ToUserName>{CORP_ID}</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"
    return await client.post(f"/callback/{WECOM}", params=query | {"nonce": "n1"}, data=body)


TEXT: dict[str, str | int] = {"MsgType": "text", "Content": "帮助", "MsgId": 0}
IMAGE: dict[str, str | int] = {
    "MsgType": "image",
    "PicUrl": "http://mmbiz.qpic.cn/x",
    "MediaId": "MEDIA1",
    "MsgId": 0,
}
VOICE: dict[str, str | int] = {"MsgType": "voice", "MediaId": "M", "Format": "amr", "MsgId": 0}
PLACE: dict[str, str | int] = {
    "MsgType": "location",
    "Location_X": "30.27",
    "Location_Y": "120.15",
    "Scale": "15",
    "Label": "村委会",
    "MsgId": 0,
}
CLICK: dict[str, str | int] = {"MsgType": "event", "Event": "CLICK", "EventKey": "REPORT"}
WHERE: dict[str, str | int] = {
    "MsgType": "event",
    "Event": "LOCATION",
    "Latitude": "30.27",
    "Longitude": "120.15",
    "Precision": "65.0",
}

# (the message, the field changed, its new value): each must be refused, naming the field
REFUSED: dict[str, tuple[dict[str, str | int], str, str]] = {
    "to-empty": (TEXT, "ToUserName", ""),
    "to-too-long": (TEXT, "ToUserName", "g" * 65),
    "from-too-long": (TEXT, "FromUserName", "o" * 65),
    "from-newline": (TEXT, "FromUserName", "oU\nforged log line"),
    "from-chinese": (TEXT, "FromUserName", "张三"),
    "time-words": (TEXT, "CreateTime", "yesterday"),
    "time-negative": (TEXT, "CreateTime", "-1700000000"),
    "time-fraction": (TEXT, "CreateTime", "1700000000.5"),
    "time-exponent": (TEXT, "CreateTime", "1.7e9"),
    "time-wide-digits": (TEXT, "CreateTime", "１７００００００００"),
    "time-1999": (TEXT, "CreateTime", "915148800"),
    "time-2101": (TEXT, "CreateTime", "4133980800"),
    "time-huge": (TEXT, "CreateTime", str(10**40)),
    "type-upper": (TEXT, "MsgType", "TEXT"),
    "type-odd": (TEXT, "MsgType", "te xt"),
    "id-words": (TEXT, "MsgId", "abc"),
    "id-zero": (TEXT, "MsgId", "0"),
    "id-past-64-bits": (TEXT, "MsgId", str(2**64)),
    "content-too-long": (TEXT, "Content", "帮" * 8193),
    "url-script": (IMAGE, "PicUrl", "javascript:alert(1)"),
    "url-too-long": (IMAGE, "PicUrl", "http://x/" + "a" * 2048),
    "media-blank": (IMAGE, "MediaId", "MEDIA 1"),
    "media-empty": (IMAGE, "MediaId", ""),
    "media-too-long": (IMAGE, "MediaId", "M" * 257),
    "format-odd": (VOICE, "Format", "amr;rm -rf"),
    "latitude-nan": (PLACE, "Location_X", "nan"),
    "latitude-huge": (PLACE, "Location_X", "1e400"),
    "longitude-past-180": (PLACE, "Location_Y", "180.5"),
    "scale-negative": (PLACE, "Scale", "-1"),
    "label-too-long": (PLACE, "Label", "村" * 257),
    "event-empty": (CLICK, "Event", ""),
    "event-odd": (CLICK, "Event", "CLICK;DROP"),
    "event-key-too-long": (CLICK, "EventKey", "k" * 2049),
    "event-latitude-infinite": (WHERE, "Latitude", "inf"),
    "event-precision-negative": (WHERE, "Precision", "-1"),
    "agent-words": (TEXT, "AgentID", "app"),
}


@EVERY_MODE
async def test_a_field_no_platform_sends_is_refused_by_name(
    app: Client, clock: FixedClock, caplog: pytest.LogCaptureFixture, channel: str
) -> None:
    at = int(clock.now().timestamp())
    for case, (kind, name, value) in REFUSED.items():
        caplog.clear()
        xml = message_xml(fields_of(channel, kind, at) | {name: value})
        with caplog.at_level(logging.INFO):
            resp = await post(app, channel, xml, at)
        assert resp.status == 400, case
        assert name in await resp.text(), case
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
        assert len(warnings) == 1, (case, [r.getMessage() for r in warnings])
    assert await rows(app) == []


def malformed(channel: str, at: int) -> dict[str, str]:
    text = fields_of(channel, TEXT, at)
    return {
        "no-content": message_xml({k: v for k, v in text.items() if k != "Content"}),
        "no-sender": message_xml({k: v for k, v in text.items() if k != "FromUserName"}),
        "twice": message_xml(text).replace("</xml>", "<MsgType>image</MsgType></xml>"),
        "many-fields": message_xml(text).replace("</xml>", "<F>1</F>" * 60 + "</xml>"),
        "deep": message_xml(text).replace("</xml>", "<a>" * 17 + "</a>" * 17 + "</xml>"),
        "root-not-xml": message_xml(text).replace("xml>", "message>"),
        "gbk-declared": "<?xml version='1.0' encoding='GBK'?>" + message_xml(text),
        "unknown-encoding": "<?xml version='1.0' encoding='bogus'?>" + message_xml(text),
    }


@EVERY_MODE
async def test_a_body_that_is_no_message_is_refused(
    app: Client, clock: FixedClock, channel: str
) -> None:
    at = int(clock.now().timestamp())
    for case, xml in malformed(channel, at).items():
        resp = await post(app, channel, xml, at)
        assert resp.status == 400, case
    assert await rows(app) == []


@pytest.mark.parametrize("channel", [AES, WECOM])
async def test_an_envelope_whose_ciphertext_is_not_base64_is_refused(
    app: Client, clock: FixedClock, channel: str
) -> None:
    at = str(int(clock.now().timestamp()))
    encrypt = "not base64!"
    query = {"msg_signature": sign(WECHAT_TOKEN, at, "n1", encrypt), "timestamp": at}
    query |= {"nonce": "n1", "signature": sign(WECHAT_TOKEN, at, "n1"), "encrypt_type": "aes"}
    body = f"<xml><Encrypt>{encrypt}</Encrypt></xml>"
    resp = await app.post(f"/callback/{channel}", params=query, data=body)
    assert resp.status == 400
    assert "Encrypt" in await resp.text()


@pytest.mark.parametrize("channel", [PLAIN, WECOM])
async def test_a_signed_timestamp_no_platform_sends_is_refused(
    app: Client, clock: FixedClock, channel: str
) -> None:
    """A 400-digit timestamp signed correctly, and a signature that is not hex: 403, not
    the 500 that int() -> float or compare_digest on non-ASCII would give."""
    xml = message_xml(fields_of(channel, TEXT, int(clock.now().timestamp())))
    for timestamp, given in [("9" * 400, None), ("1700000000", "签名")]:
        if channel == PLAIN:
            sig = given or sign(WECHAT_TOKEN, timestamp, "n1")
            query = {"signature": sig, "timestamp": timestamp, "nonce": "n1"}
            body = xml
        else:
            sig = given or sign(WECHAT_TOKEN, timestamp, "n1", "Zm9v")
            query = {"msg_signature": sig, "timestamp": timestamp, "nonce": "n1"}
            body = "<xml><Encrypt>Zm9v</Encrypt></xml>"
        resp = await app.post(f"/callback/{channel}", params=query, data=body)
        assert resp.status == 403, timestamp
    assert await rows(app) == []


@EVERY_MODE
async def test_what_platforms_do_send_is_taken(
    app: Client, clock: FixedClock, channel: str
) -> None:
    at = int(clock.now().timestamp())
    voice = {k: v for k, v in VOICE.items() if k != "MsgId"} | {"MsgID": next(_ids)}
    taken = [
        fields_of(channel, TEXT, at) | {"Content": "帮" * 8192},  # at the limit
        fields_of(channel, voice, at + 1),  # voice spells it MsgID
        fields_of(channel, CLICK, at + 2) | {"Event": "click"},  # events in either case
        fields_of(channel, WHERE, at + 3),
        # an event the bot has no name for is logged, as a new WeChat one would be
        fields_of(channel, CLICK, at + 4) | {"Event": "TEMPLATESENDJOBFINISH", "Status": "ok"},
    ]
    for fields in taken:
        resp = await post(app, channel, message_xml(fields), at)
        assert resp.status == 200, (fields["MsgType"], await resp.text())
    logged = {(row.kind, row.text[:1]) for row in await rows(app)}
    assert logged == {("text", "帮"), ("voice", ""), ("event", "")}
    assert len(await rows(app)) == len(taken)


def opened(channel: str, body: str) -> dict[str, Any]:
    """The passive reply as the platform reads it: unsealed (signature checked) if sealed."""
    if channel == AES:
        return decrypt_reply(body)
    plain = body
    if channel == WECOM:
        envelope = xmltodict.parse(body)["xml"]
        plain = CRYPTO.decrypt_message(
            body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
        )
    found: dict[str, Any] = xmltodict.parse(plain)["xml"]
    return found


VIDEO: dict[str, str | int] = {
    "MsgType": "video",
    "MediaId": "V1",
    "ThumbMediaId": "T1",
    "MsgId": 0,
}
NEW_KIND: dict[str, str | int] = {"MsgType": "file", "Title": "村规民约.pdf", "MsgId": 0}


@EVERY_MODE
async def test_a_message_the_bot_cannot_read_is_answered_and_logged(
    app: Client, clock: FixedClock, channel: str
) -> None:
    """A video, and kinds the bot has no model for (with a MsgId, and without one): each is
    answered in the platform's reply form with what does get through, and logged once."""
    at = int(clock.now().timestamp())
    unnumbered = {k: v for k, v in NEW_KIND.items() if k != "MsgId"} | {"MsgType": "card"}
    sent = [
        fields_of(channel, VIDEO, at),
        fields_of(channel, NEW_KIND, at + 1),
        fields_of(channel, unnumbered, at + 2),
    ]
    for fields in sent:
        resp = await post(app, channel, message_xml(fields), at)
        assert resp.status == 200, (fields["MsgType"], await resp.text())
        reply = opened(channel, await resp.text())
        assert reply["ToUserName"] == fields["FromUserName"]
        assert reply["Content"] == ZH.t("fallback.cannot_open")
    logged = sorted((row.msg_id, row.kind, row.text) for row in await rows(app))
    ids = [str(f.get("MsgId", f"{f['FromUserName']}:{f['CreateTime']}")) for f in sent]
    assert logged == sorted((msg_id, "other", "") for msg_id in ids)


async def test_the_wecom_apps_reply_names_the_app(app: Client, clock: FixedClock) -> None:
    at = int(clock.now().timestamp())
    resp = await post(app, WECOM, message_xml(fields_of(WECOM, TEXT, at)), at)
    assert resp.status == 200
    envelope = xmltodict.parse(await resp.text())["xml"]
    plain = CRYPTO.decrypt_message(
        await resp.text(), envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    reply = xmltodict.parse(plain)["xml"]
    assert (reply["ToUserName"], reply["FromUserName"]) == ("zhangsan", CORP_ID)
    assert reply["AgentID"] == str(AGENT_ID)
    assert reply["Content"].startswith(ZH.t("help.title.guest"))
