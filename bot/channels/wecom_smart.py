"""WeCom's smart robot: @mentions in groups (and 1:1 messages) as encrypted JSON, the receive
id being "". The body is bounded and its msg_signature checked before anything is decrypted;
the decrypted callback is validated as its type (wecom_smart_models.py). A user's message is
answered with one finished stream (wecom_smart_streams.py), enter_chat with a passive text
(the only callback that takes one); a later answer goes once through the message's
response_url, else through the group's robot webhook."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from bot.channels.base import (
    ChannelDeps,
    deliver,
    errcode,
    json_answer,
    photo_of,
    reject,
)
from bot.channels.payload import PayloadError, parse_json
from bot.channels.render import WECOM_MARKDOWN, as_markdown, as_plain, render
from bot.channels.wecom import RESPONSE_URL_SECONDS, Envelope
from bot.channels.wecom_robots import (
    MARKDOWN_MAX_BYTES,
    TEXT_MAX_BYTES,
    GroupRobots,
    clip_bytes,
    robot_interval,
)
from bot.channels.wecom_smart_media import MediaLinks
from bot.channels.wecom_smart_models import (
    SealedBody,
    StreamRefresh,
    read_callback,
    to_inbound,
)
from bot.channels.wecom_smart_streams import CONTENT_MAX_BYTES, Streams
from bot.config import WeComBotChannelSettings
from bot.http import Http
from bot.media import MediaStore
from bot.message import InboundMessage, Kind, MediaRef, Push, Reply, ReplyKind
from bot.outbox import SendError
from bot.store import KeyValue
from storage.repos import UnitOfWork

log = logging.getLogger(__name__)


class WeComBotChannel:
    """The smart robot: encrypted JSON callbacks, answered passively with a stream."""

    def __init__(
        self,
        settings: WeComBotChannelSettings,
        deps: ChannelDeps,
        deadline: float,
        uow: UnitOfWork,
        http: Http,
        media: MediaStore,
        kv: KeyValue,
    ) -> None:
        self.name = settings.name
        self._settings = settings
        self._deps = deps
        self._deadline = deadline
        self._http = http
        self._kv = kv
        self._envelope = Envelope(settings.token, settings.encoding_aes_key, "", deps)
        self._robots = GroupRobots(settings.name, settings.api_base, uow, http, media)
        self._streams = Streams(settings.name, kv, media)
        self._links = MediaLinks(http, settings.encoding_aes_key, media.max_bytes)

    async def callback(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if request.method == "GET":
            return self._envelope.url_check(self.name, query)
        try:
            sealed = parse_json(SealedBody, await request.read())
        except PayloadError as exc:
            return reject(self._deps, self.name, 400, f"not a smart-robot callback: {exc}")
        problem = self._envelope.problem(query, sealed.encrypt)
        if problem:
            return reject(self._deps, self.name, 403, problem)
        try:
            read = read_callback(self._envelope.decrypt(sealed.encrypt, query).encode())
        except ValueError as exc:  # PayloadError too
            return reject(self._deps, self.name, 400, f"not a smart-robot message: {exc}")
        callback, data = read
        if isinstance(callback, StreamRefresh):
            return self._sealed(await self._streams.refresh(callback.stream.id))
        msg = to_inbound(self.name, callback, data, self._deps.clock.now())
        if msg is None:  # an event other than enter_chat
            return web.Response(text="")
        await self._remember_response_url(msg)
        replies = await deliver(self._deps, msg, self._deadline)
        if not replies:  # nothing to say, or late: the answer goes through the response_url
            return web.Response(text="")
        if msg.kind is Kind.EVENT:  # enter_chat
            return self._passive_text(replies)
        stream = await self._streams.answer(msg.msg_id, replies)
        return web.Response(text="") if stream is None else self._sealed(stream)

    def _passive_text(self, replies: tuple[Reply, ...]) -> web.Response:
        texts = [as_plain(r) for r in replies if r.text]
        if not texts:
            return web.Response(text="")
        content = clip_bytes("\n\n".join(texts), TEXT_MAX_BYTES)
        return self._sealed({"msgtype": "text", "text": {"content": content}})

    def _sealed(self, answer: dict[str, Any]) -> web.Response:
        return web.json_response(self._envelope.seal(json.dumps(answer, ensure_ascii=False)))

    async def download(self, media: MediaRef) -> bytes:
        """The bytes of a picture a person sent, from its link (valid 5 minutes), decrypted.
        Larger than the media limit: MediaError."""
        return await self._links.fetch(media)

    async def _remember_response_url(self, msg: InboundMessage) -> None:
        """A message's response_url answers it once within an hour: kept for a reply that
        misses the passive window. Only WeCom's own URLs are taken."""
        url = str(msg.raw.get("response_url", ""))
        if url.startswith(f"{self._settings.api_base}/"):
            key = self._kv.keys.session_webhook(self.name, msg.chat_id)
            await self._kv.set(key, url, RESPONSE_URL_SECONDS)

    def send_interval(self, push: Push) -> float:
        return robot_interval(push) if push.is_group else 0.0

    async def prepare(self, pushes: Sequence[Push]) -> None:
        await self._robots.prepare(pushes)

    async def send(self, push: Push) -> str:
        """Through the last message's response_url (once) if there is one, else the group's
        robot; a smart robot cannot start a 1:1 chat."""
        key = self._kv.keys.session_webhook(self.name, push.chat_id)
        url = await self._kv.get(key)
        if url is not None and await self._answerable(push):
            await self._kv.delete(key)  # usable once
            # markdown: a text's words shown as written, none of them read as markup
            content = render(as_markdown(push.reply), WECOM_MARKDOWN, MARKDOWN_MAX_BYTES)
            content = clip_bytes(content, CONTENT_MAX_BYTES)  # a response_url's markdown limit
            body = {"msgtype": "markdown", "markdown": {"content": content}}
            async with self._http.session.post(url, json=body) as resp:
                code, reason = errcode(await json_answer(resp))
            if code == 0:
                return reason
            log.info("channel %s: response_url refused (%s); trying the robot", self.name, reason)
        if not push.is_group:
            raise SendError("a smart robot pushes only into group chats", permanent=True)
        return await self._robots.send(push)

    async def _answerable(self, push: Push) -> bool:
        """Whether a response_url (markdown only) can carry the push: not a photo, nor a
        card (its title and link) or a text with its photo when the group's robot can send
        them whole."""
        if push.reply.kind is ReplyKind.IMAGE:
            return False
        whole = push.reply.kind is ReplyKind.LINK or bool(photo_of(push.reply))
        return not (whole and await self._robots.has_robot(push.chat_id))
