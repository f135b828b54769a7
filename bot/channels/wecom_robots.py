"""WeCom group robots (群机器人): push-only webhooks, one per group chat, keyed by a secret.

20 messages a minute per robot, no signature (the key is the credential and is never
logged); text (mentions in mentioned_list), markdown (<@userid>), image (base64 + md5 of the
raw bytes, at most 2 MB) and news. HTTP 200 is not success: the errcode says.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

from bot.channels.base import errcode, json_answer
from bot.channels.robots import RobotBook
from bot.http import Http
from bot.media import MediaStore
from bot.message import Push, Reply, ReplyKind
from bot.outbox import SendError
from storage.repos import UnitOfWork

ROBOT_INTERVAL = 3.0  # 20 messages a minute per group robot
THROTTLED = {45009, 45033}  # "api freq out of limit" and its kin: wait, then send again
THROTTLE_WAIT = 60.0
IMAGE_MAX_BYTES = 2 * 1024 * 1024
MARKDOWN_MAX_BYTES = 4096
TEXT_MAX_BYTES = 2048
# The key is wrong or the robot was removed, or the message is refused for its content.
PERMANENT = {93000, 93004, 93008, 40008, 44004, 40058}


def robot_body(reply: Reply, image: bytes | None = None) -> dict[str, Any]:
    """A group robot message: text (mentions as mentioned_list), markdown (<@userid>) or an
    image (base64 + md5 of the raw bytes)."""
    if image is not None:
        return {
            "msgtype": "image",
            "image": {
                "base64": base64.b64encode(image).decode(),
                "md5": hashlib.md5(image).hexdigest(),
            },
        }
    if reply.kind is ReplyKind.LINK:
        article = {"title": reply.title, "description": reply.text, "url": reply.url}
        if reply.image:
            article["picurl"] = reply.image
        return {"msgtype": "news", "news": {"articles": [article]}}
    if reply.kind is ReplyKind.MARKDOWN:
        mentions = "".join(f"<@{m}>" for m in reply.mentions)
        content = clip_bytes(
            reply.text + (f"\n{mentions}" if mentions else ""), MARKDOWN_MAX_BYTES
        )
        return {"msgtype": "markdown", "markdown": {"content": content}}
    text: dict[str, Any] = {"content": clip_bytes(reply.text, TEXT_MAX_BYTES)}
    if reply.mentions:
        text["mentioned_list"] = list(reply.mentions)
    return {"msgtype": "text", "text": text}


def clip_bytes(text: str, limit: int) -> str:
    raw = text.encode()
    return text if len(raw) <= limit else raw[: limit - 3].decode(errors="ignore") + "…"


class GroupRobots:
    """Pushes into group chats through their group robot webhooks."""

    def __init__(
        self, channel: str, api_base: str, uow: UnitOfWork, http: Http, media: MediaStore
    ) -> None:
        self._channel = channel
        self._api_base = api_base
        self._book = RobotBook(uow, channel)
        self._http = http
        self._media = media

    async def prepare(self, pushes: Sequence[Push]) -> None:
        await self._book.prepare(pushes)

    async def send(self, push: Push) -> str:
        key, _ = await self._book.robot(push.chat_id)
        if not key:
            raise SendError(f"group chat {push.chat_id} has no robot key", permanent=True)
        image = None
        if push.reply.kind is ReplyKind.IMAGE:  # a photo from the media store, by its name
            path = self._media.path(push.reply.image)
            if not path.is_file():
                raise SendError(f"no stored photo {push.reply.image!r}", permanent=True)
            image = await asyncio.to_thread(path.read_bytes)
            if len(image) > IMAGE_MAX_BYTES:
                raise SendError("photo over the group robot's 2 MB", permanent=True)
        url = f"{self._api_base}/cgi-bin/webhook/send?key={quote_plus(key)}"
        async with self._http.session.post(url, json=robot_body(push.reply, image)) as resp:
            answer = await json_answer(resp)
        code, reason = errcode(answer)
        if code == 0:
            return reason
        if code in THROTTLED:
            raise SendError(reason, retry_after=THROTTLE_WAIT)
        raise SendError(reason, permanent=code in PERMANENT)
