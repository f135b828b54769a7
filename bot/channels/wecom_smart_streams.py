"""The smart robot's answer to a user's message: one finished `stream` message (PROTOCOLS.md
§8.1), kept by its id so that a refresh callback for it is answered with the same body."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

from bot.channels.base import photo_of
from bot.channels.escape import user_text
from bot.channels.render import WECOM_MARKDOWN, as_markdown, render
from bot.channels.wecom_robots import clip_bytes
from bot.media import MediaStore, image_type
from bot.message import Reply, ReplyKind
from bot.store import KeyValue

log = logging.getLogger(__name__)

CONTENT_MAX_BYTES = 20_480
IMAGES_MAX = 10
IMAGE_MAX_BYTES = 10 * 1024 * 1024
IMAGE_TYPES = ("jpg", "png")  # what a stream's msg_item shows
# WeCom refreshes an unfinished stream for up to 6 minutes from the user's message: the
# body is kept a little past that.
STREAM_SECONDS = 7 * 60


def stream_id(channel: str, msg_id: str) -> str:
    """One stream per message: a retry of the message is answered with the same stream."""
    return hashlib.sha256(f"{channel}\n{msg_id}".encode()).hexdigest()[:32]


def stream_content(replies: Sequence[Reply]) -> str:
    """The joined replies as the stream's markdown, clipped at a character's edge."""
    parts: list[str] = []
    for reply in replies:  # a text's words (a villager's report) are never read as markup
        markdown = as_markdown(reply)
        if reply.kind is ReplyKind.LINK:
            markdown = f"[{user_text(reply.title or reply.url)}]({reply.url})\n{markdown}"
        parts.append(render(markdown, WECOM_MARKDOWN, CONTENT_MAX_BYTES))
    return clip_bytes("\n\n".join(p for p in parts if p), CONTENT_MAX_BYTES)


def stream_photos(replies: Sequence[Reply]) -> list[str]:
    """The stored photos the replies carry, in order, each once."""
    names = [r.image if r.kind is ReplyKind.IMAGE else photo_of(r) for r in replies]
    return list(dict.fromkeys(n for n in names if n))[:IMAGES_MAX]


class Streams:
    """Stream bodies by id, in the KeyValue store (any instance may get the refresh)."""

    def __init__(self, channel: str, kv: KeyValue, media: MediaStore) -> None:
        self._channel = channel
        self._kv = kv
        self._media = media

    async def answer(self, msg_id: str, replies: Sequence[Reply]) -> dict[str, Any] | None:
        """The finished stream for a message's replies; None when there is nothing to say."""
        content, photos = stream_content(replies), stream_photos(replies)
        if not content and not photos:
            return None
        sid = stream_id(self._channel, msg_id)
        kept = json.dumps({"content": content, "photos": photos}, ensure_ascii=False)
        await self._kv.set(self._kv.keys.stream(self._channel, sid), kept, STREAM_SECONDS)
        return await self._body(sid, content, photos)

    async def refresh(self, sid: str) -> dict[str, Any]:
        """The body of a stream asked for again; for one we do not know (expired, or from
        another deployment), an empty finished stream, so WeCom stops asking."""
        kept = await self._kv.get(self._kv.keys.stream(self._channel, sid))
        if kept is None:
            log.info("channel %s: refresh of an unknown stream", self._channel)
            return await self._body(sid, "", [])
        body = json.loads(kept)
        return await self._body(sid, str(body["content"]), [str(p) for p in body["photos"]])

    async def _body(self, sid: str, content: str, photos: list[str]) -> dict[str, Any]:
        stream: dict[str, Any] = {"id": sid, "finish": True, "content": content}
        items = [item for item in [await self._image(p) for p in photos] if item is not None]
        if items:
            stream["msg_item"] = items
        return {"msgtype": "stream", "stream": stream}

    async def _image(self, name: str) -> dict[str, Any] | None:
        """A stored photo as a msg_item (base64 and md5 of its bytes), if a stream can show
        it; otherwise it is left out (the text holds its link)."""
        path = self._media.path(name)
        if not path.is_file():
            log.warning("channel %s: stored photo %s is gone", self._channel, name)
            return None
        data = await asyncio.to_thread(path.read_bytes)
        if len(data) > IMAGE_MAX_BYTES or image_type(data) not in IMAGE_TYPES:
            log.info("channel %s: photo %s is not a JPG/PNG a stream takes", self._channel, name)
            return None
        image = {"base64": base64.b64encode(data).decode(), "md5": hashlib.md5(data).hexdigest()}
        return {"msgtype": "image", "image": image}
