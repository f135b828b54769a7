"""The monthly boards at chosen times, on both stacks: `points-boards` on the 1st drafts last
month's 红榜 and 黑榜 into the village cadre group (once, however often it runs), nothing
reaches the residents' group until a village cadre sends it (发布榜单, after 撤下 a line),
and villagers then read it (积分榜)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from scheduler.jobs import JOBS, JobContext
from storage.models import Person, PointEntry
from tests.sim_support import enroll, pushed, say

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
CADRES, RESIDENTS = "g-v1-cadres", "g-v1-residents"
SECRETARY = "sim-P2"
DEC_1_0800 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Asia/Shanghai


async def enter(services: Services, code: str, rule: str, points: int, at: datetime) -> None:
    async with services.uow() as store:
        person = await store.session.scalar(select(Person).where(Person.code == code))
        assert person is not None
        assert person.household_id is not None
        assert person.village_id is not None
        await store.points.add(
            PointEntry(
                household_id=person.household_id,
                village_id=person.village_id,
                rule=rule,
                points=points,
                at=at,
                note="",
            )
        )


async def run_boards(services: Services, clock: FixedClock, at: datetime) -> int:
    clock.set(at)
    job = JOBS["points-boards"]
    return await job.run(JobContext(services.uow, services.settings, Translations(), at))


async def test_the_draft_goes_to_the_cadres_and_only_their_word_publishes_it(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    await enroll(services)
    november = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    await enter(services, "P1", "R06", 10, november)  # 孝老爱亲
    await enter(services, "P1", "R21", 2, november)  # 有效上报
    await enter(services, "P4", "R20", -10, november)  # 焚烧秸秆: shown on the 黑榜
    await enter(services, "P4", "R21", 2, datetime(2026, 10, 30, tzinfo=UTC))  # October
    residents_before = len(await pushed(client, services, RESIDENTS))
    assert await run_boards(services, clock, DEC_1_0800) == 1
    assert await run_boards(services, clock, DEC_1_0800) == 0  # once
    draft = (await pushed(client, services, CADRES))[-1]
    assert draft.startswith("上月积分榜草稿")
    assert "【柳树村 11月积分榜】" in draft
    assert "1. 王秀英家 +12分" in draft
    assert "2. 孙大爷家 -10分（焚烧秸秆）" in draft
    assert "孙大爷家 +2分" not in draft  # October's points are not November's
    assert len(await pushed(client, services, RESIDENTS)) == residents_before
    assert await say(client, "sim-P1", "积分榜") == [ZH.t("points.no_board")]
    # a villager cannot publish; the village cadre takes a line out, then publishes
    assert await say(client, "sim-P1", "发布榜单") == [ZH.t("refusal.not_permitted")]
    (withdrawn,) = await say(client, SECRETARY, "撤下 2")
    assert "孙大爷" not in withdrawn
    (sent,) = await say(client, SECRETARY, "发布榜单")
    assert sent == ZH.t("points.board_sent", month=11, groups=1)
    (board,) = (await pushed(client, services, RESIDENTS))[residents_before:]
    assert board.startswith("【柳树村 11月积分榜】\n红榜：\n1. 王秀英家 +12分")
    assert "孙大爷" not in board
    (read,) = await say(client, "sim-P4", "积分榜")
    assert read.startswith("【柳树村 11月积分榜】")
    assert await say(client, SECRETARY, "发布榜单") == [ZH.t("points.no_draft")]
