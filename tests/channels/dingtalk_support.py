"""DingTalk robot callbacks built as DingTalk builds them: JSON, signed in the headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

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
