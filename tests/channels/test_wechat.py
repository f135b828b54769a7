"""The WeChat Official Account callback over real HTTP, in plaintext and safe (AES) mode.

Every callback is built as WeChat builds it (tests/wechat_support.py) and stamped near the
test clock, since the channel refuses timestamps more than five minutes off.
"""

from __future__ import annotations

import asyncio
import io
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import xmltodict
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.channels.wechat import clip
from bot.clock import FixedClock
from bot.i18n import Translations
from storage.importer import RegistryIn, import_registry
from storage.models import InboundLog, InboundResult
from tests.conftest import ADMIN, WECHAT_TOKEN
from tests.wechat_support import (
    AES,
    IMAGE_7_7,
    LOCATION_7_7,
    OA_ID,
    PLAIN,
    decrypt_reply,
    deliver,
    encrypt,
    event_xml,
    message_xml,
    open_reply,
    other_xml,
    plain_query,
    sign,
    text_xml,
    voice_xml,
)

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
BOTH_MODES = pytest.mark.parametrize("channel", [PLAIN, AES])

VECTOR_AT = 1700000000  # PROTOCOLS 7.1 and 7.2 were signed at this time
VECTOR_7_1 = {
    "signature": "4710f0825ef97a18963671ad4ab86087df0d5beb",
    "timestamp": "1700000000",
    "nonce": "123456789",
    "echostr": "hello123",
}
ENCRYPT_7_2 = (
    "Q3stYC6hdFzMh9T8HCvyDFSFnoqDnu7JjCQsXnHnmZsxefh4lH4obyRBpkfKpBWVOlKENGoq9jIIin5NXQyA+Pb0"
    "FJENLXT5mzqYXIXdbab3V2AzBjmY2Nlf00y/uraoWR31t6mo0CTemn3u/1sa6vT8P7oOr+5QuKi1epzRuxgEwifA"
    "xcR8VC3OHL8gAG9wJtMSIk8s3vYLKStmtbuhtQuF5iffOt8lsH+0XiZvuGUeYSS7TP91LvfHc7x3mb2XzN9rKOEP"
    "AMsOUDdGxGIdAQK9jC3vkE6I2Q5omtSOAv9R13QaKiF1GmcW8TO78umOBqefts6+d0E3gTJR0233lGhDexzTl39V"
    "jhXdbimdxGBI27OcwvAdr9aovSKrNV/7"
)
MSG_SIGNATURE_7_2 = "125d301b24fa36fddecb28447bcbd6135a35dcf3"

# An unknown name with a wrong phone: each handling costs one of three binding attempts,
# so a second handling of the same message would answer differently.
WRONG_BINDING = "绑定 张三 0000"
FIRST_MISS = ZH.t("bind.no_match", left=2)


def now_of(clock: FixedClock) -> int:
    return int(clock.now().timestamp())


async def inbound_rows(services: Services) -> list[InboundLog]:
    async with services.uow() as store:
        return list((await store.session.scalars(select(InboundLog))).all())


# --- 1. URL verification ------------------------------------------------------------------


@BOTH_MODES
async def test_url_verification_echoes_echostr(
    client: Client, clock: FixedClock, channel: str
) -> None:
    """PROTOCOLS 7.1; safe mode keeps this GET in plaintext."""
    clock.set(datetime.fromtimestamp(VECTOR_AT, UTC))
    resp = await client.get(f"/callback/{channel}", params=VECTOR_7_1)
    assert resp.status == 200
    assert await resp.text() == "hello123"


@pytest.mark.parametrize(
    "changed",
    [
        {"signature": "4710f0825ef97a18963671ad4ab86087df0d5bec"},
        {"nonce": "123456780"},
        {"timestamp": "1700000001"},
    ],
    ids=["signature", "nonce", "timestamp"],
)
async def test_url_verification_with_any_input_changed_is_refused(
    client: Client, clock: FixedClock, changed: dict[str, str]
) -> None:
    clock.set(datetime.fromtimestamp(VECTOR_AT, UTC))
    resp = await client.get("/callback/oa", params=VECTOR_7_1 | changed)
    assert resp.status == 403
    assert "hello123" not in await resp.text()


# --- 2, 3. Passive replies ----------------------------------------------------------------


@BOTH_MODES
async def test_guest_asking_for_help_gets_the_guest_menu(
    client: Client, clock: FixedClock, channel: str
) -> None:
    now = now_of(clock)
    resp = await deliver(client, channel, text_xml("帮助", 1, openid="oGUEST01", at=now), now)
    reply = await open_reply(resp, channel)
    assert reply["ToUserName"] == "oGUEST01"
    assert reply["FromUserName"] == OA_ID
    assert reply["MsgType"] == "text"
    assert reply["Content"].startswith(ZH.t("help.title.guest"))
    assert ZH.t("menu.bind") in reply["Content"]


async def test_safe_mode_reply_is_sealed_and_signed(client: Client, clock: FixedClock) -> None:
    now = now_of(clock)
    resp = await deliver(client, AES, text_xml("帮助", 1, at=now), now)
    body = await resp.text()
    envelope = xmltodict.parse(body)["xml"]
    assert set(envelope) == {"Encrypt", "MsgSignature", "TimeStamp", "Nonce"}
    assert envelope["TimeStamp"] == str(now)
    assert ZH.t("menu.bind") not in body
    assert ZH.t("menu.bind") in decrypt_reply(body)["Content"]  # checks MsgSignature too


async def test_protocol_vector_7_2_is_accepted(
    client: Client, clock: FixedClock, services: Services
) -> None:
    clock.set(datetime.fromtimestamp(VECTOR_AT, UTC))
    query = plain_query(VECTOR_AT) | {"encrypt_type": "aes", "msg_signature": MSG_SIGNATURE_7_2}
    body = (
        f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName>"
        f"<Encrypt><![CDATA[{ENCRYPT_7_2}]]></Encrypt></xml>"
    )
    resp = await client.post("/callback/oa-aes", params=query, data=body)
    reply = await open_reply(resp, AES)
    assert reply["ToUserName"] == "oVILLAGER001"
    assert reply["Content"] == ZH.t("fallback.unknown")
    [row] = await inbound_rows(services)
    assert (row.channel, row.msg_id, row.text) == ("oa-aes", "1234567890123456", "hello")


# --- 4. Refusals ----------------------------------------------------------------------------


def _without(key: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda query: {k: v for k, v in query.items() if k != key}


FORGERIES: dict[str, Callable[[dict[str, str]], dict[str, str]]] = {
    "other-token": lambda q: q | {"signature": sign("not-our-token", q["timestamp"], q["nonce"])},
    "no-signature": _without("signature"),
    "no-timestamp": _without("timestamp"),
    "no-nonce": _without("nonce"),
}


@pytest.mark.parametrize("forge", list(FORGERIES.values()), ids=list(FORGERIES))
@BOTH_MODES
async def test_forged_or_missing_signature_is_refused(
    client: Client,
    clock: FixedClock,
    services: Services,
    channel: str,
    forge: Callable[[dict[str, str]], dict[str, str]],
) -> None:
    now = now_of(clock)
    xml = text_xml("帮助", 1, at=now)
    query, body = encrypt(xml, now) if channel == AES else (plain_query(now), xml)
    resp = await client.post(f"/callback/{channel}", params=forge(query), data=body)
    assert resp.status == 403
    assert await inbound_rows(services) == []


@pytest.mark.parametrize("offset", [-301, 301, -86400])
async def test_stale_timestamp_is_refused(
    client: Client, clock: FixedClock, services: Services, offset: int
) -> None:
    """A correctly signed callback replayed (or sent) more than five minutes off our clock."""
    sent = now_of(clock) + offset
    resp = await deliver(client, PLAIN, text_xml("帮助", 1, at=sent), sent)
    assert resp.status == 403
    assert await inbound_rows(services) == []


@pytest.mark.parametrize("offset", [-300, 300])
async def test_timestamp_within_five_minutes_is_accepted(
    client: Client, clock: FixedClock, offset: int
) -> None:
    sent = now_of(clock) + offset
    resp = await deliver(client, PLAIN, text_xml("帮助", 1, at=sent), sent)
    assert ZH.t("menu.bind") in (await open_reply(resp, PLAIN))["Content"]


@pytest.mark.parametrize(
    "msg_signature",
    [sign(WECHAT_TOKEN, "forged", "123", "Zm9yZ2Vk"), ""],
    ids=["forged", "missing"],
)
async def test_bad_msg_signature_is_refused(
    client: Client, clock: FixedClock, services: Services, msg_signature: str
) -> None:
    now = now_of(clock)
    query, body = encrypt(text_xml("帮助", 1, at=now), now)
    query = {k: v for k, v in (query | {"msg_signature": msg_signature}).items() if v}
    resp = await client.post("/callback/oa-aes", params=query, data=body)
    assert resp.status == 400
    assert await inbound_rows(services) == []


async def test_tampered_ciphertext_is_refused(
    client: Client, clock: FixedClock, services: Services
) -> None:
    """The msg_signature covers the ciphertext: a changed Encrypt no longer matches it."""
    now = now_of(clock)
    query, body = encrypt(text_xml("帮助", 1, at=now), now)
    start = body.index("<Encrypt><![CDATA[") + len("<Encrypt><![CDATA[")
    flipped = "B" if body[start] != "B" else "C"
    resp = await client.post(
        "/callback/oa-aes", params=query, data=body[:start] + flipped + body[start + 1 :]
    )
    assert resp.status == 400
    assert await inbound_rows(services) == []


async def test_message_sealed_for_another_app_is_refused(
    client: Client, clock: FixedClock, services: Services
) -> None:
    now = now_of(clock)
    query, body = encrypt(text_xml("帮助", 1, at=now), now, app_id="wxWRONG")
    resp = await client.post("/callback/oa-aes", params=query, data=body)
    assert resp.status == 400
    assert await inbound_rows(services) == []


async def test_sealed_message_to_a_channel_without_aes_key_is_refused(
    client: Client, clock: FixedClock, services: Services
) -> None:
    now = now_of(clock)
    query, body = encrypt(text_xml("帮助", 1, at=now), now)
    resp = await client.post("/callback/oa", params=query, data=body)
    assert resp.status == 400
    assert await inbound_rows(services) == []


async def test_refusals_are_counted_for_the_operator(client: Client, clock: FixedClock) -> None:
    now = now_of(clock)
    forged = plain_query(now) | {"signature": "0" * 40}
    for _ in range(2):
        resp = await client.post("/callback/oa", params=forged, data=text_xml("帮助", 1, at=now))
        assert resp.status == 403
    metrics = await (await client.get("/metrics", headers=ADMIN)).text()
    rejected = 'villagebot_inbound_messages_total{channel="oa",kind="unknown",result="rejected"}'
    assert f"{rejected} 2.0" in metrics


# --- 5. Hostile and malformed bodies --------------------------------------------------------

SECRET = "XXE-LEAKED-7f3a9c"
_MESSAGE_TAIL = (
    "<ToUserName>gh_village</ToUserName><FromUserName>oVILLAGER001</FromUserName>"
    "<CreateTime>{at}</CreateTime><MsgType>text</MsgType><Content>{entity}</Content>"
    "<MsgId>99</MsgId></xml>"
)


def _laughs(levels: int = 10) -> str:
    """Entity declarations of a billion-laughs bomb: &l9; expands to 10**9 "ha"s."""
    entities = ['<!ENTITY l0 "ha">']
    for i in range(1, levels):
        refs = f"&l{i - 1};" * 10
        entities.append(f'<!ENTITY l{i} "{refs}">')
    return "".join(entities)


HOSTILE = {
    "unclosed": "<xml><a>",
    "xxe-file": (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file://{secret}">]><xml>'
        + _MESSAGE_TAIL.replace("{entity}", "&xxe;")
    ),
    "xxe-hostname": (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
        "<xml>" + _MESSAGE_TAIL.replace("{entity}", "&xxe;")
    ),
    "billion-laughs": (
        f'<?xml version="1.0"?><!DOCTYPE xml [{_laughs()}]><xml>'
        + _MESSAGE_TAIL.replace("{entity}", "&l9;")
    ),
    "no-msgtype": "<xml><ToUserName>x</ToUserName></xml>",
    "not-xml-root": "<message><MsgType>text</MsgType></message>",
}


@pytest.mark.parametrize("payload", list(HOSTILE.values()), ids=list(HOSTILE))
@BOTH_MODES
async def test_hostile_or_malformed_xml_is_refused_unexpanded(
    client: Client,
    clock: FixedClock,
    services: Services,
    tmp_path: Path,
    channel: str,
    payload: str,
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    now = now_of(clock)
    xml = payload.replace("{secret}", str(secret)).replace("{at}", str(now))
    resp = await deliver(client, channel, xml, now)
    body = await resp.text()
    assert resp.status == 400
    assert SECRET not in body
    assert socket.gethostname() not in body
    assert "haha" not in body
    assert await inbound_rows(services) == []


def _incomplete(drop: str = "", **change: str) -> str:
    fields: dict[str, str | int] = {
        "ToUserName": OA_ID,
        "FromUserName": "oVILLAGER001",
        "CreateTime": "{at}",
        "MsgType": "location",
        "Location_X": "30.27",
        "Location_Y": "120.15",
        "MsgId": 24,
    }
    fields.update(change)
    fields.pop(drop, None)
    return message_xml(fields)


INCOMPLETE = {
    "no-createtime": _incomplete(drop="CreateTime"),
    "createtime-not-a-number": _incomplete(CreateTime="yesterday"),
    "createtime-out-of-range": _incomplete(CreateTime="99999999999999999"),
    "createtime-beyond-time_t": _incomplete(CreateTime="1" + "0" * 30),
    "no-fromusername": _incomplete(drop="FromUserName"),
    "location-without-latitude": _incomplete(drop="Location_X"),
    "latitude-out-of-range": _incomplete(Location_X="123.4"),
}


@pytest.mark.parametrize("payload", list(INCOMPLETE.values()), ids=list(INCOMPLETE))
async def test_signed_but_incomplete_message_is_refused(
    client: Client, clock: FixedClock, services: Services, payload: str
) -> None:
    """Refused with 400, not a 500 that WeChat would retry and show as "unavailable"."""
    now = now_of(clock)
    resp = await deliver(client, PLAIN, payload.replace("{at}", str(now)), now)
    assert resp.status == 400
    assert await inbound_rows(services) == []


async def test_safe_mode_envelope_with_a_doctype_is_refused(
    client: Client, clock: FixedClock, services: Services
) -> None:
    now = now_of(clock)
    query, body = encrypt(text_xml("帮助", 1, at=now), now)
    hostile = '<!DOCTYPE xml [<!ENTITY x "y">]>' + body
    resp = await client.post("/callback/oa-aes", params=query, data=hostile)
    assert resp.status == 400
    assert await inbound_rows(services) == []


async def test_body_over_one_mebibyte_is_refused(
    client: Client, clock: FixedClock, services: Services
) -> None:
    now = now_of(clock)
    huge = text_xml("帮" * (1024 * 1024 // 3 + 1), 1, at=now)
    assert len(huge.encode()) > 1024 * 1024
    body = io.BytesIO(huge.encode())  # aiohttp warns about large raw bytes bodies
    resp = await client.post("/callback/oa", params=plain_query(now), data=body)
    assert resp.status == 413
    assert await inbound_rows(services) == []


# --- 6. Retries -------------------------------------------------------------------------------


@BOTH_MODES
async def test_retry_gets_the_same_answer_and_is_handled_once(
    client: Client, clock: FixedClock, services: Services, channel: str
) -> None:
    now = now_of(clock)
    xml = text_xml(WRONG_BINDING, 4242, at=now)
    first = await open_reply(await deliver(client, channel, xml, now), channel)
    clock.advance(5)  # WeChat retries after its 5-second timeout
    again = await open_reply(await deliver(client, channel, xml, now), channel)
    assert first["Content"] == again["Content"] == FIRST_MISS
    assert [row.msg_id for row in await inbound_rows(services)] == ["4242"]


async def test_concurrent_retries_are_handled_once(
    client: Client, clock: FixedClock, services: Services
) -> None:
    now = now_of(clock)
    xml = text_xml(WRONG_BINDING, 4343, at=now)
    responses = await asyncio.gather(*(deliver(client, PLAIN, xml, now) for _ in range(3)))
    assert [r.status for r in responses] == [200, 200, 200]
    bodies = [await r.text() for r in responses]
    answered = [b for b in bodies if b != "success"]
    assert answered, "no delivery got the answer"
    assert all(xmltodict.parse(b)["xml"]["Content"] == FIRST_MISS for b in answered)
    assert [row.msg_id for row in await inbound_rows(services)] == ["4343"]


# --- 7. Events --------------------------------------------------------------------------------


@BOTH_MODES
async def test_subscribing_is_welcomed_with_the_menu(
    client: Client, clock: FixedClock, channel: str
) -> None:
    now = now_of(clock)
    resp = await deliver(client, channel, event_xml("subscribe", now, openid="oNEW01"), now)
    reply = await open_reply(resp, channel)
    assert reply["ToUserName"] == "oNEW01"
    assert reply["Content"].startswith(ZH.t("help.welcome"))
    assert ZH.t("menu.bind") in reply["Content"]


async def test_repeated_event_is_handled_once(
    client: Client, clock: FixedClock, services: Services
) -> None:
    """Events carry no MsgId: WeChat's retry is recognised by FromUserName + CreateTime."""
    now = now_of(clock)
    xml = event_xml("subscribe", now, openid="oNEW01")
    first = await open_reply(await deliver(client, PLAIN, xml, now), PLAIN)
    again = await open_reply(await deliver(client, PLAIN, xml, now), PLAIN)
    assert first["Content"] == again["Content"]
    [row] = await inbound_rows(services)
    assert (row.msg_id, row.kind) == (f"oNEW01:{now}", "event")


async def test_unsubscribing_needs_no_answer(
    client: Client, clock: FixedClock, services: Services
) -> None:
    now = now_of(clock)
    resp = await deliver(client, PLAIN, event_xml("unsubscribe", now, openid="oGONE01"), now)
    assert resp.status == 200
    assert await resp.text() == "success"
    [row] = await inbound_rows(services)
    assert (row.msg_id, row.kind) == (f"oGONE01:{now}", "event")


# --- 8. Voice, image, location and kinds the bot does not take ------------------------------


@BOTH_MODES
async def test_spoken_help_gets_the_menu(client: Client, clock: FixedClock, channel: str) -> None:
    """Elders speak instead of typing: WeChat's speech recognition is read as text."""
    now = now_of(clock)
    resp = await deliver(client, channel, voice_xml(7, now, recognition="帮助"), now)
    reply = await open_reply(resp, channel)
    assert reply["Content"].startswith(ZH.t("help.title.guest"))


@pytest.mark.parametrize("recognition", [None, ""], ids=["no-recognition", "empty"])
async def test_unrecognised_voice_asks_to_say_it_again(
    client: Client, clock: FixedClock, services: Services, recognition: str | None
) -> None:
    now = now_of(clock)
    resp = await deliver(client, PLAIN, voice_xml(8, now, recognition=recognition), now)
    assert (await open_reply(resp, PLAIN))["Content"] == ZH.t("fallback.empty_voice")
    [row] = await inbound_rows(services)
    assert row.kind == "voice"


@pytest.mark.parametrize(
    ("payload", "msg_id", "kind", "answer"),
    [
        # a photo is a 随手拍 report: a stranger is asked to bind first
        (IMAGE_7_7, "22", "image", "refusal.bind_first"),
        (LOCATION_7_7, "23", "location", "fallback.unsupported"),
    ],
    ids=["image", "location"],
)
@BOTH_MODES
async def test_image_and_location_are_acknowledged_and_logged(
    client: Client,
    clock: FixedClock,
    services: Services,
    channel: str,
    payload: str,
    msg_id: str,
    kind: str,
    answer: str,
) -> None:
    now = now_of(clock)
    resp = await deliver(client, channel, payload.format(at=now), now)
    reply = await open_reply(resp, channel)
    assert reply["ToUserName"] == "oU"
    assert reply["Content"] == ZH.t(answer)
    [row] = await inbound_rows(services)
    assert (row.msg_id, row.sender_id, row.kind) == (msg_id, "oU", kind)


@pytest.mark.parametrize("msg_type", ["video", "shortvideo", "link"])
@BOTH_MODES
async def test_kinds_the_bot_cannot_open_are_answered_politely_and_logged(
    client: Client, clock: FixedClock, services: Services, channel: str, msg_type: str
) -> None:
    """A video of a broken road is not met with silence: the sender is told what gets
    through, and the log shows that they wrote; WeChat's retry gets the same answer."""
    now = now_of(clock)
    xml = other_xml(msg_type, 31, now)
    reply = await open_reply(await deliver(client, channel, xml, now), channel)
    assert (reply["ToUserName"], reply["FromUserName"]) == ("oVILLAGER001", OA_ID)
    assert reply["Content"] == ZH.t("fallback.cannot_open")
    again = await open_reply(await deliver(client, channel, xml, now), channel)
    assert again["Content"] == reply["Content"]
    [row] = await inbound_rows(services)
    assert (row.msg_id, row.kind, row.text) == ("31", "other", "")
    assert (row.result, row.handler) == (InboundResult.HANDLED, "fallback.cannot_open")


# --- 9, 10. Reply safety ----------------------------------------------------------------------

TRICKY_NAME = "王]]><x>"  # a registry name that would close the reply's CDATA section early


@BOTH_MODES
async def test_reply_echoing_cdata_terminator_stays_well_formed(
    client: Client, clock: FixedClock, services: Services, channel: str
) -> None:
    registry = RegistryIn.model_validate(
        {
            "org": {"code": "C1", "name": "测试县", "level": "county"},
            "people": [{"code": "P9", "name": TRICKY_NAME, "phone": "13900009999"}],
        }
    )
    await import_registry(services.uow, registry)
    now = now_of(clock)
    resp = await deliver(client, channel, text_xml(f"绑定 {TRICKY_NAME} 9999", 9, at=now), now)
    reply = await open_reply(resp, channel)  # xmltodict raises on a broken reply
    assert reply["Content"] == ZH.t("bind.ok", name=TRICKY_NAME)
    assert "x" not in reply  # no stray <x> element escaped the CDATA


@pytest.mark.parametrize(
    "text",
    ["a" * 5000, "帮" * 1000, "🌾" * 700, "ab" + "帮" * 900],
    ids=["ascii", "cjk", "emoji", "offset"],
)
def test_long_reply_is_clipped_to_what_wechat_shows(text: str) -> None:
    clipped = clip(text)
    assert len(clipped.encode()) <= 2048
    assert clipped.endswith("…")
    assert text.startswith(clipped[:-1])
    assert len(clipped.encode()) > 1500  # clipped, not emptied


@pytest.mark.parametrize("text", ["", "短消息", "a" * 2000], ids=["empty", "short", "at-limit"])
def test_short_reply_is_not_clipped(text: str) -> None:
    assert clip(text) == text
