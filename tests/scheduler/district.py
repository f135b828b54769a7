"""The district the notice and digest tests run in (tests/data/district.yaml): 测试县 (钱县长)
over 河口镇 (周镇长: 柳树村 李书记, 杨庄村 陈书记) and 石桥镇 (吴镇长: 石桥村 郑书记); a cadre
group at every unit and 柳树村's residents' group; 王秀英 lives in 柳树村, and so does 孙大爷,
an elder 李书记 looks after."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.clock import FixedClock
from tests.factories import png
from tests.sim_support import pushed, say, send_photo

Client = TestClient[Any, Any]
COUNTY, T1, T2 = "g-c1-cadres", "g-t1-cadres", "g-t2-cadres"
V1, V1_RESIDENTS, V2, V3 = "g-v1-cadres", "g-v1-residents", "g-v2-cadres", "g-v3-cadres"
QIAN, ZHOU, WU, LI, CHEN, ZHENG, WANG, SUN = (f"sim-P{i}" for i in range(1, 9))
GROUPS = (COUNTY, T1, T2, V1, V1_RESIDENTS, V2, V3)


class District:
    """The clock in hours after the registry import (24 Nov, 09:00 local), and what each
    group has been sent since the last look."""

    def __init__(self, client: Client, services: Services, clock: FixedClock) -> None:
        self.client, self.services, self.clock = client, services, clock
        self.start = clock.now()
        self.seen: dict[str, int] = {}
        self.replies: dict[str, list[str]] = {}  # answers in the chat: not news

    def at(self, hours: float) -> None:
        self.clock.set(self.start + timedelta(hours=hours))

    async def run(self, job: str, hours: float) -> int:
        self.at(hours)
        return await self.services.scheduler.run(job)

    async def said(self, who: str, text: str, chat: str) -> list[str]:
        replies = await say(self.client, who, text, chat, mentioned=True)
        self.replies.setdefault(chat, []).extend(replies)
        return replies

    async def photo(self, who: str, chat: str) -> list[str]:
        replies = await send_photo(self.client, who, png(), chat, mentioned=True)
        self.replies.setdefault(chat, []).extend(replies)
        return replies

    async def new(self, chat: str) -> list[str]:
        """What the bot pushed to the chat since the last look (its answers there left out)."""
        texts = await pushed(self.client, self.services, chat)
        fresh, self.seen[chat] = texts[self.seen.get(chat, 0) :], len(texts)
        answers = self.replies.pop(chat, [])
        for answer in answers:
            if answer in fresh:
                fresh.remove(answer)
        return fresh

    async def news(self) -> dict[str, list[str]]:
        """What every group was sent since the last look (only those sent anything)."""
        found = {chat: await self.new(chat) for chat in GROUPS}
        return {chat: texts for chat, texts in found.items() if texts}

    async def guided(self, who: str, chat: str, *answers: str) -> list[str]:
        """Walk the guided flow; the last answer's replies."""
        replies: list[str] = []
        for answer in answers:
            replies = await self.said(who, answer, chat)
        return replies
