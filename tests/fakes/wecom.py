"""A local WeCom, as documented: group robot webhooks (a key, 20 messages a minute,
errcodes; text, markdown, markdown_v2, image and news), the app's access token, messages
and media downloads, and response_urls; for the smart robot, encrypted pictures behind
links that expire, and its callbacks (tests/fakes/wecom_smart.py)."""

from __future__ import annotations

import base64
import hashlib
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.clock import Clock
from tests.fakes.wechat import file_answer

PER_MINUTE = 20
BOT_MEDIA_SECONDS = 5 * 60  # a smart robot's picture link lives 5 minutes (§8.1)


@dataclass
class GroupRobot:
    key: str
    received: list[dict[str, Any]] = field(default_factory=list)
    sends: deque[datetime] = field(default_factory=deque)
    throttled: int = 0


class FakeWeCom:
    def __init__(self, clock: Clock, corp_id: str = "", secret: str = "") -> None:
        self.clock = clock
        self.robots: dict[str, GroupRobot] = {}
        self.corp_id, self.secret = corp_id, secret
        self.tokens: set[str] = set()
        self.expired: set[str] = set()
        self.token_fetches = 0
        self.media: dict[str, bytes] = {}  # media id -> what the member sent the app
        self.media_asked: list[str] = []  # the media ids asked for, with a valid token
        self.token_refusals: list[int] = []  # errcodes of calls refused for their token
        self.members: dict[str, list[dict[str, Any]]] = {}  # userid -> app messages received
        self.responses: dict[str, list[dict[str, Any]]] = {}  # response code -> answers
        self.bot_media: dict[str, tuple[bytes, datetime]] = {}  # smart robot: sealed, issued
        self.bot_media_asked: list[str] = []

    def robot(self, key: str) -> GroupRobot:
        self.robots[key] = GroupRobot(key)
        return self.robots[key]

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (WeCom answers 42001 for it)."""
        self.expired |= self.tokens
        self.tokens.clear()

    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/cgi-bin/webhook/send", self._send)
        app.router.add_get("/cgi-bin/gettoken", self._gettoken)
        app.router.add_post("/cgi-bin/message/send", self._message_send)
        app.router.add_post("/cgi-bin/aibot/response", self._response)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        app.router.add_get("/aibot-media/{name}", self._bot_media_get)
        return app

    def bot_picture(self, base: str, sealed: bytes) -> str:
        """The link a smart-robot callback gives for a picture (sealed: see seal_media), as
        WeCom's storage signs it: valid BOT_MEDIA_SECONDS from now, by the fake's clock."""
        name = f"p{len(self.bot_media) + 1}"
        self.bot_media[name] = (sealed, self.clock.now())
        return f"{base}/aibot-media/{name}?sign=q-sign-{name}"

    async def _bot_media_get(self, request: web.Request) -> web.Response:
        """The sealed file, or 403 once its link has expired (a 404 for one never issued)."""
        name = request.match_info["name"]
        self.bot_media_asked.append(name)
        if name not in self.bot_media or request.query.get("sign") != f"q-sign-{name}":
            return web.Response(status=404, text="NoSuchKey")
        sealed, issued = self.bot_media[name]
        if self.clock.now() - issued > timedelta(seconds=BOT_MEDIA_SECONDS):
            return web.Response(status=403, text="Request has expired")
        return web.Response(body=sealed, content_type="application/octet-stream")

    def _refused(self, request: web.Request) -> web.Response | None:
        """The answer to a call whose access token is missing (41001), expired (42001) or
        was never issued (40014)."""
        token = request.query.get("access_token", "")
        if not token:
            self.token_refusals.append(41001)
            return web.json_response({"errcode": 41001, "errmsg": "access_token missing"})
        if token in self.expired:
            self.token_refusals.append(42001)
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if token not in self.tokens:
            self.token_refusals.append(40014)
            return web.json_response({"errcode": 40014, "errmsg": "invalid access_token"})
        return None

    async def _media_get(self, request: web.Request) -> web.Response:
        """The file itself, named in Content-Disposition; JSON 40007 for an unknown id."""
        refused = self._refused(request)
        if refused is not None:
            return refused
        media_id = request.query.get("media_id", "")
        self.media_asked.append(media_id)
        data = self.media.get(media_id)
        if data is None:
            return web.json_response({"errcode": 40007, "errmsg": "invalid media_id"})
        return file_answer(media_id, data)

    async def _response(self, request: web.Request) -> web.Response:
        """A smart-robot message's response_url: it answers once."""
        code = request.query.get("response_code", "")
        if code not in self.responses or self.responses[code]:
            return web.json_response({"errcode": 40058, "errmsg": "response_code used or invalid"})
        self.responses[code].append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _gettoken(self, request: web.Request) -> web.Response:
        if request.query.get("corpid") != self.corp_id:
            return web.json_response({"errcode": 40013, "errmsg": "invalid corpid"})
        if request.query.get("corpsecret") != self.secret:
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.token_fetches += 1
        token = f"wecom-token-{self.token_fetches}"
        self.tokens.add(token)
        return web.json_response(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": 7200}
        )

    async def _message_send(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = await request.json()
        user = body.get("touser", "")
        if user not in self.members:
            return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": user})
        self.members[user].append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "invaliduser": ""})

    async def _send(self, request: web.Request) -> web.Response:
        robot = self.robots.get(request.query.get("key", ""))
        if robot is None:
            return web.json_response({"errcode": 93000, "errmsg": "invalid webhook url"})
        now = self.clock.now()
        while robot.sends and now - robot.sends[0] >= timedelta(minutes=1):
            robot.sends.popleft()
        if len(robot.sends) >= PER_MINUTE:
            robot.throttled += 1
            return web.json_response({"errcode": 45009, "errmsg": "api freq out of limit"})
        message = await request.json()
        problem = _problem(message)
        if problem:
            return web.json_response({"errcode": 40008, "errmsg": problem})
        robot.sends.append(now)
        robot.received.append(message)
        return web.json_response({"errcode": 0, "errmsg": "ok"})


def _problem(message: dict[str, Any]) -> str:
    kind = message.get("msgtype")
    if kind == "text":
        content = message["text"]["content"]
        return "content exceed max length" if len(content.encode()) > 2048 else ""
    if kind in ("markdown", "markdown_v2"):
        content = message[kind]["content"]
        return "content exceed max length" if len(content.encode()) > 4096 else ""
    if kind == "news":
        return "" if message["news"]["articles"] else "articles missing"
    if kind == "image":
        raw = base64.b64decode(message["image"]["base64"])
        if len(raw) > 2 * 1024 * 1024:
            return "image too large"
        return "" if hashlib.md5(raw).hexdigest() == message["image"]["md5"] else "md5 mismatch"
    return "invalid message type"
