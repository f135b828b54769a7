"""WeCom's smart robot: a group's @mentions as encrypted JSON (the receive id is ""),
answered passively within the deadline; a later answer goes once through the message's
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
from bot.channels.render import WECOM_MARKDOWN, as_plain, render
from bot.channels.wecom import RESPONSE_URL_SECONDS, Envelope
from bot.channels.wecom_robots import (
    MARKDOWN_MAX_BYTES,
    GroupRobots,
    robot_interval,
)
from bot.config import WeComBotChannelSettings
from bot.http import Http
from bot.media import MediaStore
from bot.message import InboundMessage, Kind, Push, ReplyKind
from bot.outbox import SendError
from bot.store import KeyValue
from storage.repos import UnitOfWork

log = logging.getLogger(__name__)


class WeComBotChannel:
    """The smart robot: group @mentions as encrypted JSON, answered passively."""

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

    async def callback(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        if request.method == "GET":
            return self._envelope.url_check(self.name, query)
        try:
            envelope = json.loads(await request.read())
            encrypted = str(envelope["encrypt"]) if isinstance(envelope, dict) else ""
        except (ValueError, KeyError) as exc:
            return reject(self._deps, self.name, 400, f"not a smart-robot callback: {exc}")
        problem = self._envelope.problem(query, encrypted)
        if problem:
            return reject(self._deps, self.name, 403, problem)
        try:
            msg = self.parse(json.loads(self._envelope.decrypt(encrypted, query)))
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            return reject(self._deps, self.name, 400, f"not a smart-robot message: {exc}")
        if msg is None:
            return web.Response(text="")
        await self._remember_response_url(msg)
        replies = await deliver(self._deps, msg, self._deadline)
        texts = [as_plain(r) for r in replies if r.text]  # a passive reply is plain text
        if not texts:
            return web.Response(text="")
        plain = json.dumps(
            {"msgtype": "text", "text": {"content": "\n\n".join(texts)}}, ensure_ascii=False
        )
        return web.json_response(self._envelope.seal(plain))

    def parse(self, data: Any) -> InboundMessage | None:
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        msgtype = str(data["msgtype"])
        is_group = data.get("chattype") == "group"
        sender = str(data["from"]["userid"])
        if msgtype == "text":
            text = str(data["text"]["content"]).strip()
            if is_group and text.startswith("@"):  # "@VillageBot 停水通知": drop the mention
                text = text.split(maxsplit=1)[1] if " " in text else ""
        elif msgtype == "mixed":
            items = data["mixed"]["msg_item"]
            text = " ".join(
                str(i["text"]["content"]) for i in items if i.get("msgtype") == "text"
            ).strip()
        else:
            log.info("channel %s: %s messages are not taken", self.name, msgtype)
            return None
        return InboundMessage(
            channel=self.name,
            msg_id=str(data["msgid"]),
            chat_id=str(data["chatid"]) if is_group else sender,
            is_group=is_group,
            sender_id=sender,
            kind=Kind.TEXT,
            text=text,
            mentioned=is_group,  # in a group only @mentions reach a smart robot
            time=self._deps.clock.now(),  # the callback carries no time of its own
            raw=data,
        )

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
            content = push.reply.text
            if push.reply.kind is ReplyKind.MARKDOWN:
                content = render(content, WECOM_MARKDOWN, MARKDOWN_MAX_BYTES)
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
        text with its photo when the group's robot can send both."""
        if push.reply.kind is ReplyKind.IMAGE:
            return False
        return not (photo_of(push.reply) and await self._robots.has_robot(push.chat_id))
