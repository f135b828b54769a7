"""DingTalk robot callbacks built as DingTalk builds them: JSON signed in the headers, or
the encrypted envelope signed in the query."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import struct
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.conftest import DINGTALK_APP_SECRET


def signature(timestamp: str, secret: str = DINGTALK_APP_SECRET) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def headers(timestamp_ms: int, secret: str = DINGTALK_APP_SECRET) -> dict[str, str]:
    ts = str(timestamp_ms)
    return {"timestamp": ts, "sign": signature(ts, secret), "Content-Type": "application/json"}


def text_payload(
    text: str,
    msg_id: str,
    at_ms: int,
    *,
    group: bool = False,
    staff: str = "user001",
    mentioned: bool = True,
    conversation: str = "cidTESTgroup==",
) -> dict[str, Any]:
    """The documented text callback (PROTOCOLS.md 7.8), 1:1 or in a group."""
    return {
        "conversationId": conversation if group else "cidTESTdm==",
        "conversationType": "2" if group else "1",
        "conversationTitle": "幸福村议事群" if group else "",
        "chatbotCorpId": "dingCORP",
        "chatbotUserId": "$:LWCP_v1:$BOT",
        "robotCode": "dingAPPKEY",
        "msgId": msg_id,
        "msgtype": "text",
        "text": {"content": " " + text},
        "createAt": at_ms,
        "senderId": "$:LWCP_v1:$USER",
        "senderNick": "王大爷",
        "senderStaffId": staff,
        "senderCorpId": "dingCORP",
        "isAdmin": False,
        "isInAtList": mentioned,
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$BOT"}],
        "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=TEST",
        "sessionWebhookExpiredTime": at_ms + 5_400_000,
    }


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


# --- the encrypted callback, built as DingTalk's official samples build it
# (open-dingtalk/DingTalk-Callback-Crypto: DingCallbackCrypto.java) -------------------------


def msg_signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted((token, timestamp, nonce, encrypt))).encode()).hexdigest()


def _cipher(aes_key: str) -> Cipher[modes.CBC]:
    key = base64.b64decode(aes_key + "=")
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypted(
    message: str, *, token: str, aes_key: str, owner: str, timestamp_ms: int, nonce: str
) -> tuple[dict[str, str], bytes]:
    """The query and body of an encrypted callback: 16 random characters, the message's
    length (4 bytes, big-endian), the message and the owner (the app key), padded PKCS#7 to
    32 bytes, AES-256-CBC with the key's first 16 bytes as IV; signed with SHA-1 over the
    sorted token, timestamp, nonce and encrypt."""
    data = message.encode()
    plain = b"abcdEFGH12345678" + struct.pack(">I", len(data)) + data + owner.encode()
    pad = 32 - len(plain) % 32
    plain += bytes([pad]) * pad
    encryptor = _cipher(aes_key).encryptor()
    encrypt = base64.b64encode(encryptor.update(plain) + encryptor.finalize()).decode()
    timestamp = str(timestamp_ms)
    signature = msg_signature(token, timestamp, nonce, encrypt)
    query = {"signature": signature, "timestamp": timestamp, "nonce": nonce}
    return query, json.dumps({"encrypt": encrypt}).encode()


def opened(answer: dict[str, str], *, token: str, aes_key: str, owner: str) -> str:
    """The message inside an encrypted answer, as DingTalk opens it: its msg_signature
    checked, decrypted, the padding and the owner checked."""
    encrypt = answer["encrypt"]
    assert answer["msg_signature"] == msg_signature(
        token, answer["timeStamp"], answer["nonce"], encrypt
    )
    decryptor = _cipher(aes_key).decryptor()
    plain = decryptor.update(base64.b64decode(encrypt)) + decryptor.finalize()
    pad = plain[-1]
    assert 1 <= pad <= 32
    assert plain[-pad:] == bytes([pad]) * pad
    plain = plain[:-pad]
    (length,) = struct.unpack(">I", plain[16:20])
    assert plain[20 + length :] == owner.encode()
    return plain[20 : 20 + length].decode()
