"""A local WeChat Official Account API: access tokens, customer-service messages and media
downloads, with the 48-hour window, the 5-per-message quota and token expiry as the platform
documents them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.clock import Clock

WINDOW = timedelta(hours=48)
QUOTA = 5  # customer-service messages per message of the villager's


@dataclass
class Follower:
    openid: str
    last_message: datetime | None = None
    quota_used: int = 0
    received: list[dict[str, Any]] = field(default_factory=list)


class FakeWeChat:
    def __init__(self, clock: Clock, app_id: str, secret: str) -> None:
        self.clock = clock
        self.app_id, self.secret = app_id, secret
        self.tokens: dict[str, datetime] = {}  # token -> expiry
        self.token_fetches = 0
        self.followers: dict[str, Follower] = {}
        self.templates: dict[str, list[dict[str, Any]]] = {}  # template id -> messages sent
        self.media: dict[str, bytes] = {}  # media id -> what the villager sent
        self.media_asked: list[str] = []  # the media ids asked for, with a valid token
        self.token_refusals: list[int] = []  # errcodes of calls refused for their token

    def wrote(self, openid: str, at: datetime | None = None) -> Follower:
        """The villager sent the account a message (which opens the 48-hour window)."""
        follower = self.followers.setdefault(openid, Follower(openid))
        follower.last_message, follower.quota_used = at or self.clock.now(), 0
        return follower

    def expire_tokens(self) -> None:
        """Every token issued so far expires now (WeChat answers 42001 for it)."""
        for token in self.tokens:
            self.tokens[token] = self.clock.now()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/cgi-bin/message/template/send", self._template_send)
        app.router.add_get("/cgi-bin/media/get", self._media_get)
        return app

    def _refused(self, request: web.Request) -> web.Response | None:
        """The answer to a call with an unknown (40001) or expired (42001) access token."""
        token = request.query.get("access_token", "")
        if token not in self.tokens:
            self.token_refusals.append(40001)
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        if self.tokens[token] <= self.clock.now():
            self.token_refusals.append(42001)
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
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

    async def _token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("appid") != self.app_id or q.get("secret") != self.secret:
            return web.json_response({"errcode": 40125, "errmsg": "invalid appsecret"})
        self.token_fetches += 1
        token = secrets.token_hex(16)
        self.tokens[token] = self.clock.now() + timedelta(seconds=7200)
        return web.json_response({"access_token": token, "expires_in": 7200})

    async def _template_send(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = await request.json()
        if body.get("touser") not in self.followers:
            return web.json_response({"errcode": 40003, "errmsg": "invalid openid"})
        sent = self.templates.get(body.get("template_id", ""))
        if sent is None:
            return web.json_response({"errcode": 40037, "errmsg": "invalid template_id"})
        sent.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok", "msgid": len(sent)})

    async def _custom_send(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = await request.json()
        follower = self.followers.get(body.get("touser", ""))
        if follower is None:
            return web.json_response({"errcode": 40003, "errmsg": "invalid openid"})
        last = follower.last_message
        if last is None or self.clock.now() - last > WINDOW:
            return web.json_response(
                {
                    "errcode": 45015,
                    "errmsg": "response out of time limit or subscription is canceled",
                }
            )
        if follower.quota_used >= QUOTA:
            return web.json_response({"errcode": 45047, "errmsg": "out of response count limit"})
        follower.quota_used += 1
        follower.received.append(body)
        return web.json_response({"errcode": 0, "errmsg": "ok"})


def file_answer(media_id: str, data: bytes) -> web.Response:
    """media/get's answer for a stored file (WeChat's and WeCom's alike): the bytes, typed,
    with the file's name in Content-Disposition."""
    if data.startswith(b"\x89PNG"):
        content_type, ext = "image/png", "png"
    elif data.startswith(b"\xff\xd8\xff"):
        content_type, ext = "image/jpeg", "jpg"
    else:
        content_type, ext = "application/octet-stream", "bin"
    disposition = f'attachment; filename="{media_id}.{ext}"'
    return web.Response(
        body=data, content_type=content_type, headers={"Content-Disposition": disposition}
    )
