"""What every channel shares: the callback protocol and delivery within a reply deadline."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from aiohttp import ClientResponse, web

from bot.channels.tokens import AccessToken
from bot.clock import Clock
from bot.dispatcher import Dispatcher
from bot.http import Http
from bot.media import MAX_BYTES, MediaError
from bot.message import InboundMessage, Reply, ReplyKind
from bot.metrics import Metrics
from bot.outbox import SendError
from bot.tasks import TaskSet

log = logging.getLogger(__name__)


class Channel(Protocol):
    name: str

    async def callback(self, request: web.Request) -> web.StreamResponse:
        """Answer a platform's HTTP callback at /callback/{name}."""
        ...


@runtime_checkable
class Background(Protocol):
    """A channel with work of its own while the app runs (a WebSocket to keep open)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ChannelDeps:
    """What a channel needs from the app."""

    dispatcher: Dispatcher
    tasks: TaskSet
    clock: Clock
    metrics: Metrics


async def deliver(deps: ChannelDeps, msg: InboundMessage, deadline: float) -> tuple[Reply, ...]:
    """Hand the message to the dispatcher and return its replies within `deadline` seconds.

    The handling runs as an owned task, so a platform that hangs up, or a deadline that
    passes, never cancels it half way: it finishes and logs its replies, which a retry of
    the same message is then given; if no retry comes for them, they are pushed.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    task = deps.tasks.spawn(deps.dispatcher.feed(msg), name=f"feed {msg.channel}/{msg.msg_id}")
    try:
        outcome = await asyncio.wait_for(asyncio.shield(task), deadline)
    except TimeoutError:
        log.warning("message %s/%s missed the reply deadline", msg.channel, msg.msg_id)
        deps.tasks.spawn(deps.dispatcher.replies.late(msg, task), name=f"late {msg.msg_id}")
        return ()
    if outcome.result != "duplicate":
        return outcome.replies
    remaining = max(0.0, deadline - (loop.time() - started))
    replies = await deps.dispatcher.replies.of(msg.channel, msg.msg_id, remaining)
    if replies and await deps.dispatcher.replies.claim(msg, "retry"):
        return replies  # the retry carries the answer: no late push
    return ()  # none yet, or the late push has them


async def json_answer(resp: ClientResponse) -> dict[str, Any]:
    """A platform API's JSON answer. 5xx: SendError to retry; other 4xx: a permanent one;
    unreadable: to retry. (Errors never carry the URL: it may hold a token or key.)"""
    if resp.status >= 500:
        raise SendError(f"HTTP {resp.status}")
    if resp.status >= 400:
        raise SendError(f"HTTP {resp.status}", permanent=True)
    try:
        answer = await resp.json(content_type=None)
    except ValueError as exc:
        raise SendError(f"unreadable answer: {exc}") from exc
    if not isinstance(answer, dict):
        raise SendError("unreadable answer")
    return answer


def errcode(answer: dict[str, Any]) -> tuple[int, str]:
    """The `errcode` of a WeChat, WeCom or DingTalk robot answer, and a line saying it."""
    code = int(answer.get("errcode", -1))
    return code, f"errcode {code}: {answer.get('errmsg', '')}"


def photo_of(reply: Reply) -> str:
    """The stored photo a text or markdown push carries (its text holds the photo's link),
    or "": sent as an image after the text where the channel can push images."""
    return reply.image if reply.kind in (ReplyKind.TEXT, ReplyKind.MARKDOWN) else ""


def reject(deps: ChannelDeps, channel: str, status: int, reason: str) -> web.Response:
    """A refused callback: an HTTP status, a log line and a count; nothing dispatched."""
    log.warning("channel %s refused a callback (%d): %s", channel, status, reason)
    deps.metrics.inbound.labels(channel, "unknown", "rejected").inc()
    return web.Response(status=status, text=reason)


# --- a person's media by its media_id: WeChat's and WeCom's media/get -----------------------

ERROR_BODY_TYPES = ("application/json", "text/plain")  # media/get's refusals; files are not
INVALID_MEDIA_ID = 40007  # unknown, or older than the platform's three days


@dataclass(frozen=True, slots=True)
class MediaGet:
    """`GET {url}?access_token=…&media_id=…`, as WeChat and WeCom both answer it: the file's
    bytes, or a JSON refusal (told apart by the Content-Type, as the status is 200 either
    way). A refused token is fetched again once; a throttled call says when to try again."""

    http: Http
    token: AccessToken
    url: str
    token_invalid: frozenset[int]
    throttled: frozenset[int]
    throttle_wait: float = 60.0

    async def fetch(self, media_id: str) -> bytes:
        if not media_id:
            raise SendError("no media id", permanent=True)
        for attempt in (1, 2):
            token = await self.token.get()
            query = {"access_token": token, "media_id": media_id}
            async with self.http.session.get(self.url, params=query) as resp:
                if resp.status < 400 and resp.content_type not in ERROR_BODY_TYPES:
                    return await read_limited(resp)
                answer = await json_answer(resp)
            code, reason = errcode(answer)
            if code in self.token_invalid and attempt == 1:
                await self.token.invalidate(token)
                continue
            if code in self.throttled:
                raise SendError(reason, retry_after=self.throttle_wait)
            raise SendError(
                reason, permanent=code in self.token_invalid or code == INVALID_MEDIA_ID
            )
        raise AssertionError("unreachable")


async def read_limited(resp: ClientResponse, limit: int = MAX_BYTES) -> bytes:
    """A response body of at most `limit` bytes; past it, MediaError at once (nothing of it
    is kept, so the rest is never read)."""
    data = bytearray()
    async for chunk in resp.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > limit:
            raise MediaError("media.too_large")
    return bytes(data)
