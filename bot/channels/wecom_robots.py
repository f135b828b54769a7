"""WeCom group robots (群机器人): push-only webhooks, one per group chat, keyed by a secret.

20 messages a minute per robot, no signature (the key is the credential and is never
logged); text (mentions in mentioned_list), markdown (<@userid>), markdown_v2 (tables),
image (base64 + md5 of the raw bytes, at most 2 MB) and news. HTTP 200 is not success: the
errcode says. A text that carries a photo is followed by the photo, as a second message.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote_plus

from aiohttp import ClientError

from bot.channels.base import errcode, json_answer, photo_of
from bot.channels.render import WECOM_MARKDOWN, WECOM_MARKDOWN_V2, has_table, render
from bot.channels.robots import RobotBook
from bot.http import Http
from bot.media import MediaStore
from bot.message import Push, Reply, ReplyKind
from bot.outbox import SendError
from storage.repos import UnitOfWork

log = logging.getLogger(__name__)

ROBOT_INTERVAL = 3.0  # 20 messages a minute per group robot
THROTTLED = {45009, 45033}  # "api freq out of limit" and its kin: wait, then send again
THROTTLE_WAIT = 60.0
IMAGE_MAX_BYTES = 2 * 1024 * 1024
MARKDOWN_MAX_BYTES = 4096
TEXT_MAX_BYTES = 2048
PHOTO_SECONDS = 5.0  # the photo after a text: given up (the text has its link) past this
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
        return markdown_body(reply)
    text: dict[str, Any] = {"content": clip_bytes(reply.text, TEXT_MAX_BYTES)}
    if reply.mentions:
        text["mentioned_list"] = list(reply.mentions)
    return {"msgtype": "text", "text": text}


def markdown_body(reply: Reply) -> dict[str, Any]:
    """WeCom has two markdowns (PROTOCOLS.md §8.2): `markdown` takes <@userid> mentions but
    draws no tables or lists; `markdown_v2` draws tables but no mentions (and clients older
    than 4.1.36 show it as plain text). So markdown_v2 only for a table with no one to
    mention; a table that must mention someone goes as `markdown` with each row a line, as
    a mention that reaches no one is worse than a table drawn as lines."""
    if not reply.mentions and has_table(reply.text):
        content = render(reply.text, WECOM_MARKDOWN_V2, MARKDOWN_MAX_BYTES)
        return {
            "msgtype": "markdown_v2",
            "markdown_v2": {"content": clip_bytes(content, MARKDOWN_MAX_BYTES)},
        }
    mentions = "".join(f"<@{m}>" for m in reply.mentions)
    suffix = f"\n{mentions}" if mentions else ""
    budget = MARKDOWN_MAX_BYTES - len(suffix.encode())
    content = clip_bytes(render(reply.text, WECOM_MARKDOWN, budget), budget) + suffix
    return {"msgtype": "markdown", "markdown": {"content": content}}


def robot_interval(push: Push) -> float:
    """The spacing a push to a group robot needs: a text with its photo is two messages."""
    return ROBOT_INTERVAL * (2 if photo_of(push.reply) else 1)


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

    async def has_robot(self, chat_id: str) -> bool:
        key, _ = await self._book.robot(chat_id)
        return bool(key)

    async def send(self, push: Push) -> str:
        key, _ = await self._book.robot(push.chat_id)
        if not key:
            raise SendError(f"group chat {push.chat_id} has no robot key", permanent=True)
        reply = push.reply
        if reply.kind is ReplyKind.IMAGE:  # a photo from the media store, by its name
            return await self._post(key, robot_body(reply, await self._photo(reply.image)))
        photo = await self._optional_photo(photo_of(reply))
        answer = await self._post(key, robot_body(reply))
        if photo is None:
            return answer
        # The text is in and holds the photo's link: a photo that fails is let go, since
        # trying the push again would say its text twice.
        try:
            async with asyncio.timeout(PHOTO_SECONDS):
                await self._post(key, robot_body(reply, photo))
        except (SendError, ClientError, TimeoutError, OSError) as exc:
            log.warning("photo after the text to group %s not sent: %s", push.chat_id, exc)
            return f"{answer}; photo not sent: {exc}"
        return f"{answer}; photo sent"

    async def _photo(self, name: str) -> bytes:
        path = self._media.path(name)
        if not path.is_file():
            raise SendError(f"no stored photo {name!r}", permanent=True)
        image = await asyncio.to_thread(path.read_bytes)
        if len(image) > IMAGE_MAX_BYTES:
            raise SendError("photo over the group robot's 2 MB", permanent=True)
        return image

    async def _optional_photo(self, name: str) -> bytes | None:
        """The photo a text carries, if it can go (its link is in the text either way)."""
        if not name:
            return None
        try:
            return await self._photo(name)
        except SendError as exc:
            log.warning("a push's photo is left out: %s", exc)
            return None

    async def _post(self, key: str, body: dict[str, Any]) -> str:
        url = f"{self._api_base}/cgi-bin/webhook/send?key={quote_plus(key)}"
        async with self._http.session.post(url, json=body) as resp:
            answer = await json_answer(resp)
        code, reason = errcode(answer)
        if code == 0:
            return reason
        if code in THROTTLED:
            raise SendError(reason, retry_after=THROTTLE_WAIT)
        raise SendError(reason, permanent=code in PERMANENT)
