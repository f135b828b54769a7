"""A local DingTalk: custom group robots as the platform documents them, over real HTTP.

Each robot checks its access token and, when it has a secret, the timestamp/sign query
signature (within an hour); it takes 20 messages a minute and answers the 21st with
errcode 130101 and a 10-minute ban. Time comes from the test's clock.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web

from bot.clock import Clock

PER_MINUTE = 20
BAN = timedelta(minutes=10)


@dataclass
class Robot:
    token: str
    secret: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    sends: deque[datetime] = field(default_factory=deque)  # accepted, last minute
    banned_until: datetime | None = None
    throttled: int = 0  # how many times it answered 130101
    fail_next: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def out_of_order(self) -> int:
        """Messages numbered "… #k" that arrived after a higher number (for the bench)."""
        numbers = [int(t.rsplit("#", 1)[1]) for t in self.texts() if "#" in t]
        return sum(1 for a, b in itertools.pairwise(numbers) if b < a)

    def texts(self) -> list[str]:
        out = []
        for m in self.received:
            body = m.get("text") or m.get("markdown") or {}
            out.append(str(body.get("content") or body.get("text") or ""))
        return out


class FakeDingTalk:
    def __init__(self, clock: Clock, *, limit: bool = True) -> None:
        self.clock = clock
        self.limit = limit  # False: no 20-a-minute limit (to measure raw throughput)
        self.delay = 0.0  # seconds each send takes (a slow platform)
        self.robots: dict[str, Robot] = {}
        self.sessions: dict[str, list[dict[str, Any]]] = {}  # session -> messages received
        self.requests = 0
        self.app_key, self.app_secret = "dingAPPKEY", "testAppSecret_village"
        self.tokens: set[str] = set()
        self.token_fetches = 0
        self.files: dict[str, bytes] = {}  # download code -> what the person sent
        self.tickets: set[str] = set()
        self.streams: list[web.WebSocketResponse] = []  # open stream connections, newest last
        self.acks: list[dict[str, Any]] = []
        self.api_messages: dict[str, list[dict[str, Any]]] = {}  # conversation or user -> sent

    def robot(self, token: str, secret: str = "") -> Robot:
        self.robots[token] = Robot(token, secret)
        return self.robots[token]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/robot/send", self._send)
        app.router.add_post("/robot/sendBySession", self._send_by_session)
        app.router.add_get("/stats", self._stats)
        app.router.add_post("/v1.0/oauth2/accessToken", self._access_token)
        app.router.add_post("/v1.0/robot/messageFiles/download", self._download)
        app.router.add_get("/files/{code}", self._file)
        app.router.add_post("/v1.0/gateway/connections/open", self._open_stream)
        app.router.add_get("/stream", self._stream)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._api_send)
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._api_send)
        return app

    async def _send_by_session(self, request: web.Request) -> web.Response:
        """A message's session webhook: no token, the URL is the credential."""
        self.requests += 1
        session = request.query.get("session", "")
        if session not in self.sessions:
            return web.json_response({"errcode": 300001, "errmsg": "session is not exist"})
        self.sessions[session].append(await request.json())
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _access_token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body.get("appKey"), body.get("appSecret")) != (self.app_key, self.app_secret):
            return web.json_response({"code": "invalidClientIdOrSecret"}, status=400)
        self.token_fetches += 1
        token = f"dt-token-{self.token_fetches}"
        self.tokens.add(token)
        return web.json_response({"accessToken": token, "expireIn": 7200})

    async def _download(self, request: web.Request) -> web.Response:
        if request.headers.get("x-acs-dingtalk-access-token") not in self.tokens:
            return web.json_response({"code": "InvalidAuthentication"}, status=401)
        body = await request.json()
        code = body.get("downloadCode", "")
        if code not in self.files or body.get("robotCode") != self.app_key:
            return web.json_response({"code": "invalidParameter"}, status=400)
        return web.json_response({"downloadUrl": f"{request.url.origin()}/files/{code}"})

    async def _file(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["code"])
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="image/png")

    async def _api_send(self, request: web.Request) -> web.Response:
        """The app robot's OpenAPI sends: to a group (openConversationId) or to users."""
        if request.headers.get("x-acs-dingtalk-access-token") not in self.tokens:
            return web.json_response({"code": "InvalidAuthentication"}, status=401)
        body = await request.json()
        if body.get("robotCode") != self.app_key or body.get("msgKey") not in (
            "sampleText",
            "sampleMarkdown",
        ):
            return web.json_response({"code": "invalidParameter", "message": "bad"}, status=400)
        targets = [body["openConversationId"]] if "openConversationId" in body else body["userIds"]
        for target in targets:
            if target not in self.api_messages:
                return web.json_response(
                    {"code": "resource.not.found", "message": f"{target}"}, status=400
                )
            self.api_messages[target].append(json.loads(body["msgParam"]))
        return web.json_response({"processQueryKey": f"q{self.requests}"})

    async def _open_stream(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body.get("clientId"), body.get("clientSecret")) != (self.app_key, self.app_secret):
            return web.json_response({"code": "invalidClientIdOrSecret"}, status=401)
        ticket = f"ticket-{len(self.tickets) + 1}"
        self.tickets.add(ticket)
        endpoint = f"ws://{request.host}/stream"
        return web.json_response({"endpoint": endpoint, "ticket": ticket})

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("ticket") not in self.tickets:
            return web.Response(status=401)
        self.tickets.discard(request.query["ticket"])  # a ticket is good for one connection
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.streams.append(ws)
        async for message in ws:
            self.acks.append(json.loads(message.data))
        return ws

    async def frame(self, kind: str, topic: str, message_id: str, data: Any) -> None:
        """Send a frame down the newest stream connection, as DingTalk does."""
        await self.frame_of_text(kind, topic, message_id, json.dumps(data, ensure_ascii=False))

    async def frame_of_text(self, kind: str, topic: str, message_id: str, data: str) -> None:
        """A frame whose data is this text as it stands (JSON no encoder would write)."""
        await self.streams[-1].send_str(
            json.dumps(
                {
                    "specVersion": "1.0",
                    "type": kind,
                    "headers": {
                        "appId": "a",
                        "connectionId": "c",
                        "contentType": "application/json",
                        "messageId": message_id,
                        "time": "1700000000000",
                        "topic": topic,
                    },
                    "data": data,
                }
            )
        )

    async def _stats(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "requests": self.requests,
                "received": sum(len(r.received) for r in self.robots.values()),
                "throttled": sum(r.throttled for r in self.robots.values()),
                "out_of_order": sum(r.out_of_order() for r in self.robots.values()),
            }
        )

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        robot = self.robots.get(request.query.get("access_token", ""))
        if robot is None:
            return web.json_response({"errcode": 300001, "errmsg": "token is not exist"})
        if robot.fail_next:
            status, body = robot.fail_next.pop(0)
            return web.json_response(body, status=status)
        now = self.clock.now()
        if robot.secret and not self._signed(robot.secret, request.query, now):
            return web.json_response({"errcode": 310000, "errmsg": "sign not match"})
        if robot.banned_until is not None and now < robot.banned_until:
            robot.throttled += 1
            return web.json_response(_too_fast())
        while robot.sends and now - robot.sends[0] >= timedelta(minutes=1):
            robot.sends.popleft()
        if self.limit and len(robot.sends) >= PER_MINUTE:
            robot.banned_until = now + BAN
            robot.throttled += 1
            return web.json_response(_too_fast())
        message = await request.json()
        if message.get("msgtype") not in ("text", "markdown", "link", "actionCard", "feedCard"):
            return web.json_response({"errcode": 40035, "errmsg": "缺少参数 json"})
        robot.sends.append(now)
        robot.received.append(message)
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    @staticmethod
    def _signed(secret: str, query: Any, now: datetime) -> bool:
        timestamp, given = query.get("timestamp", ""), query.get("sign", "")
        if not timestamp.isdigit() or abs(now.timestamp() * 1000 - int(timestamp)) > 3_600_000:
            return False
        digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
        return hmac.compare_digest(base64.b64encode(digest.digest()).decode(), given)


def _too_fast() -> dict[str, Any]:
    return {
        "errcode": 130101,
        "errmsg": "send too fast, exceed 20 times per minute",
        "status": 130101,
        "punish": "ban 10 minutes",
    }
