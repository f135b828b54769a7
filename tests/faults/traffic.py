"""A steady stream of WeChat callbacks (signed plaintext, as the platform sends them) to the
instances, round robin as a load balancer would, with what became of each one, and the
figures every fault test prints."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass

import aiohttp

from tests.faults.deployment import OA, openid
from tests.faults.support import Instance
from tests.wechat_support import plain_query, plain_reply, text_xml

WECHAT_RETRY_SECONDS = 5.0  # WeChat gives up on an answer after 5 s and retries the message
# Problems a villager reports, each a report by the understanding (tests/faults checks the
# replies say so); the message number makes each text its own.
PROBLEMS = (
    "村口路灯坏了 第{}根",
    "垃圾桶满了没人收 编号{}",
    "村道上有个大坑 {}号",
    "桥上护栏断了 {}",
)


@dataclass
class Delivery:
    """One POST of a message to an instance: the platform's first delivery or a repeat."""

    msg_id: int
    sender: str  # person code
    text: str
    instance: str
    sent_at: float  # epoch seconds
    status: int = 0  # 0: no HTTP answer at all (refused, reset, timed out)
    seconds: float = 0.0
    reply: str = ""  # the passive reply's text ("" for "success" or no reply)
    repeat: bool = False


class Traffic:
    """Messages from `senders` at `rate` a second; every `repeat_every`-th is sent again
    (to the other instance) once the first is answered, as a platform's retry, and every
    `2 * repeat_every`-th twice at once."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        instances: list[Instance],
        senders: list[str],
        rate: float = 10.0,
        repeat_every: int = 5,
    ) -> None:
        self.session, self.instances, self.senders = session, instances, senders
        self.rate, self.repeat_every = rate, repeat_every
        self.deliveries: list[Delivery] = []
        self._numbers = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._running = asyncio.Event()
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._running.set()
        self._loop = asyncio.create_task(self._send_steadily())

    async def stop(self) -> None:
        """Stop sending; wait for every message in flight to be answered."""
        self._running.clear()
        if self._loop is not None:
            await self._loop
        while self._tasks:
            await asyncio.gather(*self._tasks)

    async def _send_steadily(self) -> None:
        started = time.monotonic()
        sent = 0
        while self._running.is_set():
            n = next(self._numbers)
            task = asyncio.create_task(self.message(n))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            sent += 1
            await asyncio.sleep(max(0.0, started + sent / self.rate - time.monotonic()))

    async def message(self, n: int) -> None:
        sender = self.senders[n % len(self.senders)]
        text = PROBLEMS[n % len(PROBLEMS)].format(n)
        first = self.instances[n % len(self.instances)]
        other = self.instances[(n + 1) % len(self.instances)]
        if self.repeat_every and n % (2 * self.repeat_every) == 0:  # twice at once
            await asyncio.gather(
                self.post(n, sender, text, first), self.post(n, sender, text, other, repeat=True)
            )
            return
        await self.post(n, sender, text, first)
        if self.repeat_every and n % self.repeat_every == 0:  # again, once answered
            await self.post(n, sender, text, other, repeat=True)

    async def post(
        self, msg_id: int, sender: str, text: str, to: Instance, *, repeat: bool = False
    ) -> Delivery:
        now = int(time.time())
        user = openid(sender)
        delivery = Delivery(msg_id, sender, text, to.name, time.time(), repeat=repeat)
        self.deliveries.append(delivery)
        started = time.monotonic()
        try:
            async with self.session.post(
                f"{to.url}/callback/{OA}",
                params=plain_query(now, nonce=f"n{msg_id}", openid=user),
                data=text_xml(text, msg_id, openid=user, at=now).encode(),
                timeout=aiohttp.ClientTimeout(total=WECHAT_RETRY_SECONDS * 3),
            ) as resp:
                delivery.status = resp.status
                body = await resp.text()
        except (aiohttp.ClientError, TimeoutError):
            body = ""
        delivery.seconds = time.monotonic() - started
        if delivery.status == 200 and body.startswith("<xml>"):
            delivery.reply = str(plain_reply(body).get("Content") or "")
        return delivery

    async def resend(self, msg_ids: list[int]) -> list[Delivery]:
        """These messages again, as the platform's retries (to the first instance)."""
        firsts = {d.msg_id: d for d in self.firsts()}
        return list(
            await asyncio.gather(
                *(
                    self.post(n, firsts[n].sender, firsts[n].text, self.instances[0], repeat=True)
                    for n in msg_ids
                )
            )
        )

    # --- what became of them -------------------------------------------------------------

    def messages(self) -> set[int]:
        return {d.msg_id for d in self.deliveries}

    def firsts(self) -> list[Delivery]:
        return [d for d in self.deliveries if not d.repeat]

    def statuses(self) -> Counter[int]:
        return Counter(d.status for d in self.deliveries)

    def late(self, deadline: float = WECHAT_RETRY_SECONDS) -> list[Delivery]:
        return [d for d in self.deliveries if d.seconds >= deadline]

    def max_seconds(self) -> float:
        return max((d.seconds for d in self.deliveries), default=0.0)

    def about(self, msg_ids: list[int]) -> str:
        """Every delivery of these messages, for an assertion's message."""
        wanted = set(msg_ids)
        return "\n".join(repr(d) for d in self.deliveries if d.msg_id in wanted)

    def between(self, start: float, end: float) -> list[Delivery]:
        return [d for d in self.deliveries if start <= d.sent_at < end]


def figures_line(name: str, **figures: object) -> str:
    values = " ".join(
        f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
    )
    return f"{name}: {values}"
