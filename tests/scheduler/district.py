"""The district the notice and digest tests run in (tests/data/district.yaml): 测试县 (钱县长)
over 河口镇 (周镇长: 柳树村 李书记, 杨庄村 陈书记) and 石桥镇 (吴镇长: 石桥村 郑书记); a cadre
group at every unit and 柳树村's residents' group; 王秀英 lives in 柳树村, and so does 孙大爷,
an elder 李书记 looks after."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.sim_support import Timeline

Client = TestClient[Any, Any]
COUNTY, T1, T2 = "g-c1-cadres", "g-t1-cadres", "g-t2-cadres"
V1, V1_RESIDENTS, V2, V3 = "g-v1-cadres", "g-v1-residents", "g-v2-cadres", "g-v3-cadres"
QIAN, ZHOU, WU, LI, CHEN, ZHENG, WANG, SUN = (f"sim-P{i}" for i in range(1, 9))
GROUPS = (COUNTY, T1, T2, V1, V1_RESIDENTS, V2, V3)


class District(Timeline):
    """The district's timeline, with a look at every group at once."""

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
