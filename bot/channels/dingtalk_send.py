"""DingTalk pushes: through a chat's live session webhook, a group's custom robot (at most
20 a minute per robot, or DingTalk bans it for 10 minutes with errcode 130101; signed when
it has a secret), or the app robot's OpenAPI with the app's access token."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import quote_plus

from bot.channels.base import errcode, json_answer
from bot.channels.render import DINGTALK_MARKDOWN, PLAIN, as_markdown, render
from bot.channels.robots import RobotBook
from bot.channels.tokens import AccessToken
from bot.clock import Clock
from bot.config import DingTalkChannelSettings
from bot.http import Http
from bot.message import Push, Reply, ReplyKind
from bot.outbox import SendError
from bot.store import KeyValue

ROBOT_INTERVAL = 3.0  # 20 messages a minute per custom robot
ROBOT_BAN_SECONDS = 600  # what DingTalk imposes after errcode 130101
THROTTLED = 130101
# The robot's token or signature is wrong, the group is gone, or the message is refused for
# its content: sending it again cannot help.
PERMANENT = {300001, 310000, 400013, 400101, 400102, 410100}


def sign(secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)), as DingTalk signs."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def body_of(reply: Reply) -> dict[str, Any]:
    """A DingTalk robot message: the same shape for a callback's answer, a session webhook
    and a custom robot. Its markdown draws lists but no tables (PROTOCOLS.md §8.2): a table
    goes as a numbered list. A photo a text carries stays the link in its text: robots have
    no image message (PROTOCOLS.md §5)."""
    at = {"atUserIds": list(reply.mentions)} if reply.mentions else {}
    if reply.kind is ReplyKind.LINK:
        link = {"title": reply.title, "text": reply.text, "messageUrl": reply.url}
        return {"msgtype": "link", "link": {**link, "picUrl": reply.image}}
    if reply.kind is ReplyKind.MARKDOWN:
        lines = render(reply.text, PLAIN).strip().splitlines()
        title = lines[0][:40] if lines else ""
        message: dict[str, Any] = {
            "msgtype": "markdown",
            "markdown": {"title": title or "通知", "text": render(reply.text, DINGTALK_MARKDOWN)},
        }
    else:
        message = {"msgtype": "text", "text": {"content": reply.text}}
    if at:
        message["at"] = at
    return message


def joined(replies: tuple[Reply, ...]) -> Reply:
    """Several replies as one message: the callback's response carries only one."""
    if len(replies) == 1:
        return replies[0]
    kind = (
        ReplyKind.MARKDOWN
        if any(r.kind is ReplyKind.MARKDOWN for r in replies)
        else ReplyKind.TEXT
    )
    mentions = tuple(dict.fromkeys(m for r in replies for m in r.mentions))
    # in markdown, a text's words are shown as written, none of them read as markup
    texts = (as_markdown(r) if kind is ReplyKind.MARKDOWN else r.text for r in replies)
    return Reply(kind=kind, text="\n\n".join(texts), mentions=mentions)


class Sender:
    """The three ways a push reaches a DingTalk chat, tried in that order."""

    def __init__(
        self,
        settings: DingTalkChannelSettings,
        clock: Clock,
        http: Http,
        kv: KeyValue,
        token: AccessToken,
        robots: RobotBook,
    ) -> None:
        self.name = settings.name
        self._settings = settings
        self._clock = clock
        self._http = http
        self._kv = kv
        self._token = token
        self._robots = robots
        self._robot_code = settings.robot_code or settings.app_key

    async def send(self, push: Push) -> str:
        """Through the chat's live session webhook; else a group's custom robot; else the
        app robot's OpenAPI (group or 1:1) with the app's access token."""
        session = await self._kv.get(self._kv.keys.session_webhook(self.name, push.chat_id))
        if session is not None:
            return await self._post(session, push.reply)
        token, secret = await self._robots.robot(push.chat_id) if push.is_group else ("", "")
        if token:
            url = f"{self._settings.oapi_base}/robot/send?access_token={quote_plus(token)}"
            if secret:
                timestamp = str(int(self._clock.now().timestamp() * 1000))
                url += f"&timestamp={timestamp}&sign={quote_plus(sign(secret, timestamp))}"
            return await self._post(url, push.reply)
        return await self._send_by_api(push)

    async def _send_by_api(self, push: Push) -> str:
        reply = push.reply
        if reply.kind is ReplyKind.MARKDOWN:
            key, param = "sampleMarkdown", body_of(reply)["markdown"]
        else:
            key, param = "sampleText", {"content": reply.text}
        body: dict[str, Any] = {
            "robotCode": self._robot_code,
            "msgKey": key,
            "msgParam": json.dumps(param, ensure_ascii=False),
        }
        if push.is_group:
            path, body["openConversationId"] = "/v1.0/robot/groupMessages/send", push.chat_id
        else:
            path, body["userIds"] = "/v1.0/robot/oToMessages/batchSend", [push.chat_id]
        for attempt in (1, 2):
            token = await self._token.get()
            headers = {"x-acs-dingtalk-access-token": token}
            url = f"{self._settings.api_base}{path}"
            async with self._http.session.post(url, json=body, headers=headers) as resp:
                if resp.status in (401, 403) and attempt == 1:
                    await self._token.invalidate(token)
                    continue
                try:
                    answer = await resp.json(content_type=None)
                except ValueError:
                    answer = {}
                if resp.status == 200:
                    return f"processQueryKey {answer.get('processQueryKey', '')}"
                reason = (
                    f"HTTP {resp.status} {answer.get('code', '')}: {answer.get('message', '')}"
                )
                if resp.status == 429:
                    raise SendError(reason, retry_after=60)
                raise SendError(reason, permanent=400 <= resp.status < 500)
        raise AssertionError("unreachable")

    async def _post(self, url: str, reply: Reply) -> str:
        """Send one robot message (the URL holds a secret: it never appears in errors)."""
        async with self._http.session.post(url, json=body_of(reply)) as resp:
            answer = await json_answer(resp)
        code, reason = errcode(answer)
        if code == 0:
            return reason
        if code == THROTTLED:
            raise SendError(reason, retry_after=ROBOT_BAN_SECONDS)
        raise SendError(reason, permanent=code in PERMANENT)
