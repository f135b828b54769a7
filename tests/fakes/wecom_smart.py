"""WeCom's side of a smart robot's callbacks (PROTOCOLS.md §3.3, §8.1): each callback sealed
and signed as WeCom seals it (wechatpy's crypto, receive id ""), and each answer opened and
held to what WeCom accepts: a passive `text` only for enter_chat, a `stream` within its
limits. Pictures are sealed for the fake's links with the scheme WeCom uses."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.clock import Clock

STREAM_CONTENT_BYTES = 20_480
STREAM_IMAGES = 10
STREAM_IMAGE_BYTES = 10 * 1024 * 1024


def seal_media(data: bytes, encoding_aes_key: str, *, pad_value: int | None = None) -> bytes:
    """A file as WeCom stores it for a smart robot: AES-256-CBC, key = the EncodingAESKey
    decoded, IV = its first 16 bytes, PKCS#7 padding to 32 bytes. `pad_value`: write that
    value in the padding instead of its length (a file that must be refused)."""
    key = base64.b64decode(encoding_aes_key + "=")
    length = 32 - len(data) % 32
    padded = data + bytes([length if pad_value is None else pad_value]) * length
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


@dataclass(frozen=True)
class BotAnswer:
    status: int
    reply: dict[str, Any] | None  # the decrypted answer; None for an empty body or a refusal
    text: str  # the body as sent


class SmartRobotCallbacks:
    """Posts callbacks to the bot's smart-robot channel as WeCom does, at the clock's time."""

    def __init__(
        self, client: TestClient[Any, Any], path: str, clock: Clock, token: str, aes_key: str
    ) -> None:
        self.client, self.path, self.clock, self.token = client, path, clock, token
        self.crypto = WeChatCrypto(token, aes_key, "")

    def seal(self, message: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
        """(query, body) of a callback: the encrypted message and its msg_signature."""
        timestamp, nonce = str(int(self.clock.now().timestamp())), secrets.token_hex(5)
        plain = json.dumps(message, ensure_ascii=False)
        xml = self.crypto.encrypt_message(plain, nonce, timestamp)
        encrypt = xml.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        signature = hashlib.sha1("".join(sorted((self.token, timestamp, nonce, encrypt))).encode())
        query = {"msg_signature": signature.hexdigest(), "timestamp": timestamp, "nonce": nonce}
        return query, {"encrypt": encrypt}

    async def post(self, message: dict[str, Any]) -> BotAnswer:
        query, body = self.seal(message)
        resp = await self.client.post(self.path, params=query, json=body)
        text = await resp.text()
        if resp.status != 200 or not text:
            return BotAnswer(resp.status, None, text)
        envelope = json.loads(text)
        plain = self.crypto.decrypt_message(  # checks the answer's msgsignature too
            {"Encrypt": envelope["encrypt"]},
            envelope["msgsignature"],
            envelope["timestamp"],
            envelope["nonce"],
        )
        reply: dict[str, Any] = json.loads(plain)
        problem = refusal(message, reply)
        if problem:
            pytest.fail(f"WeCom would refuse the bot's answer: {problem}\nanswer: {reply}")
        return BotAnswer(resp.status, reply, text)


def refusal(message: dict[str, Any], reply: dict[str, Any]) -> str:
    """Why WeCom would not take `reply` as the passive answer to `message`, or ""."""
    kind = reply.get("msgtype")
    if kind == "text":
        event = message.get("event") or {}
        if message.get("msgtype") != "event" or event.get("eventtype") != "enter_chat":
            return (
                "a passive text reply is accepted only for the enter_chat event "
                "(PROTOCOLS.md §3.3, path/101031); answer a message with a stream"
            )
        return "" if isinstance(reply["text"].get("content"), str) else "text without content"
    if kind == "stream":
        return _stream_refusal(reply.get("stream") or {})
    if kind in ("template_card", "stream_with_template_card"):
        return ""
    return f"no such passive reply type: {kind!r}"


def _stream_refusal(stream: dict[str, Any]) -> str:
    if not (isinstance(stream.get("id"), str) and stream["id"]):
        return "a stream without its id"
    if not isinstance(stream.get("finish"), bool):
        return "a stream without finish"
    content = stream.get("content", "")
    if not isinstance(content, str) or len(content.encode()) > STREAM_CONTENT_BYTES:
        return f"stream content over {STREAM_CONTENT_BYTES} bytes"
    items = stream.get("msg_item", [])
    if items and not stream["finish"]:
        return "images in a stream only with finish: true"
    if len(items) > STREAM_IMAGES:
        return f"more than {STREAM_IMAGES} images in a stream"
    for item in items:
        image = base64.b64decode(item["image"]["base64"])
        if hashlib.md5(image).hexdigest() != item["image"]["md5"]:
            return "md5 mismatch"
        if len(image) > STREAM_IMAGE_BYTES or not image.startswith((b"\xff\xd8\xff", b"\x89PNG")):
            return "a stream image must be a JPG or PNG of at most 10 MB"
    return ""
