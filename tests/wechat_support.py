"""Build WeChat Official Account callbacks exactly as the platform does (wechatpy's own crypto)."""

from __future__ import annotations

import hashlib
from typing import Any

import xmltodict
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from wechatpy.crypto import WeChatCrypto

from tests.conftest import WECHAT_AES_KEY, WECHAT_APP_ID, WECHAT_TOKEN

OA_ID = "gh_village"
PLAIN, AES = "oa", "oa-aes"  # the two OA channels of the test settings


def sign(*parts: str) -> str:
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def cdata(value: str) -> str:
    """A CDATA section holding `value`, split where the value itself contains ']]>'."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def message_xml(fields: dict[str, str | int]) -> str:
    """A flat <xml> message: strings in CDATA, numbers bare, as WeChat writes them."""
    inner = "".join(
        f"<{name}>{value if isinstance(value, int) else cdata(value)}</{name}>"
        for name, value in fields.items()
    )
    return f"<xml>{inner}</xml>"


def _common(msg_type: str, openid: str, at: int) -> dict[str, str | int]:
    return {"ToUserName": OA_ID, "FromUserName": openid, "CreateTime": at, "MsgType": msg_type}


def text_xml(content: str, msg_id: int, openid: str = "oVILLAGER001", at: int = 0) -> str:
    return message_xml(_common("text", openid, at) | {"Content": content, "MsgId": msg_id})


def voice_xml(
    msg_id: int, at: int, recognition: str | None = None, openid: str = "oVILLAGER001"
) -> str:
    fields = _common("voice", openid, at) | {"MediaId": "VOICE1", "Format": "amr"}
    if recognition is not None:  # only when voice recognition is enabled on the account
        fields["Recognition"] = recognition
    return message_xml(fields | {"MsgId": msg_id})


def event_xml(event: str, at: int, openid: str = "oVILLAGER001", **extra: str) -> str:
    """An event: no MsgId, WeChat identifies it by FromUserName + CreateTime."""
    fields = _common("event", openid, at)
    fields.update({"Event": event}, **extra)
    return message_xml(fields)


_OTHER_FIELDS = {
    "video": {"MediaId": "V1", "ThumbMediaId": "T1"},
    "shortvideo": {"MediaId": "V2", "ThumbMediaId": "T2"},
    "link": {"Title": "通知", "Description": "村里的通知", "Url": "https://example.org/n"},
}


def other_xml(msg_type: str, msg_id: int, at: int, openid: str = "oVILLAGER001") -> str:
    """A message of a kind the bot does not take (video, shortvideo, link)."""
    fields = _common(msg_type, openid, at)
    fields.update(_OTHER_FIELDS[msg_type], MsgId=msg_id)
    return message_xml(fields)


# PROTOCOLS 7.7, verbatim but for CreateTime, which must be near the test clock.
IMAGE_7_7 = (
    "<xml><ToUserName>gh</ToUserName><FromUserName>oU</FromUserName>"
    "<CreateTime>{at}</CreateTime><MsgType>image</MsgType>"
    "<PicUrl>http://mmbiz.qpic.cn/x</PicUrl><MediaId>MEDIA1</MediaId><MsgId>22</MsgId></xml>"
)
LOCATION_7_7 = (
    "<xml><ToUserName>gh</ToUserName><FromUserName>oU</FromUserName>"
    "<CreateTime>{at}</CreateTime><MsgType>location</MsgType><Location_X>30.27</Location_X>"
    "<Location_Y>120.15</Location_Y><Scale>15</Scale><Label>村委会</Label><MsgId>23</MsgId></xml>"
)


def plain_query(
    timestamp: int, nonce: str = "123456789", openid: str = "oVILLAGER001"
) -> dict[str, str]:
    ts = str(timestamp)
    return {
        "signature": sign(WECHAT_TOKEN, ts, nonce),
        "timestamp": ts,
        "nonce": nonce,
        "openid": openid,
    }


def encrypt(
    xml: str, timestamp: int, nonce: str = "987654321", app_id: str = WECHAT_APP_ID
) -> tuple[dict[str, str], str]:
    """The query and body of a safe-mode POST carrying `xml` (sealed for `app_id`)."""
    crypto = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, app_id)
    envelope = xmltodict.parse(crypto.encrypt_message(xml, nonce, str(timestamp)))["xml"]
    body = (
        f"<xml><ToUserName><![CDATA[{OA_ID}]]></ToUserName>"
        f"<Encrypt><![CDATA[{envelope['Encrypt']}]]></Encrypt></xml>"
    )
    query = plain_query(timestamp, nonce) | {
        "encrypt_type": "aes",
        "msg_signature": envelope["MsgSignature"],
    }
    return query, body


def decrypt_reply(body: str) -> dict[str, Any]:
    """Open an encrypted passive reply as the platform would, checking its signature."""
    envelope = xmltodict.parse(body)["xml"]
    crypto = WeChatCrypto(WECHAT_TOKEN, WECHAT_AES_KEY, WECHAT_APP_ID)
    plain = crypto.decrypt_message(
        body, envelope["MsgSignature"], envelope["TimeStamp"], envelope["Nonce"]
    )
    reply: dict[str, Any] = xmltodict.parse(plain)["xml"]
    return reply


def plain_reply(body: str) -> dict[str, Any]:
    reply: dict[str, Any] = xmltodict.parse(body)["xml"]
    return reply


async def deliver(
    client: TestClient[Any, Any], channel: str, xml: str, timestamp: int
) -> ClientResponse:
    """POST `xml` to an OA channel as WeChat would: plaintext to PLAIN, sealed to AES."""
    if channel == AES:
        query, body = encrypt(xml, timestamp)
    else:
        query, body = plain_query(timestamp), xml
    return await client.post(f"/callback/{channel}", params=query, data=body.encode())


async def open_reply(resp: ClientResponse, channel: str) -> dict[str, Any]:
    """The passive reply of a 200 response, decrypted (and its signature checked) if sealed."""
    assert resp.status == 200, await resp.text()
    body = await resp.text()
    return decrypt_reply(body) if channel == AES else plain_reply(body)
