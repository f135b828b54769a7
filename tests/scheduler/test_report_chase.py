"""Overdue 随手拍 reports, swept at chosen clock times on both stacks: a reminder when a
deadline passes, a tier up each grace period after (village -> township -> county), each
step on the timeline and sent once however often the sweep runs."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from storage.models import OutboxMessage, ReportStatus
from tests.handlers.support import add_cadre_group, reports, unit_id
from tests.sim_support import enroll, pushed, say

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
VILLAGE, TOWNSHIP, COUNTY = "g-v1-cadres", "g-t1-cadres", "g-c1-cadres"


class Day:
    """The test's clock, in hours after the report (or question) was made (24 Nov, 09:00),
    the sweep run at chosen hours, and what each chat was sent since the last look."""

    def __init__(
        self, client: Client, services: Services, clock: FixedClock, job: str = "chase-reports"
    ) -> None:
        self.client, self.services, self.clock, self.job = client, services, clock, job
        self.start = clock.now()
        self.seen: dict[str, int] = {}

    async def sweep(self, hours: float) -> int:
        self.clock.set(self.start + timedelta(hours=hours))
        return await self.services.scheduler.run(self.job)

    async def new(self, chat: str) -> list[str]:
        """What the chat was sent since the last look."""
        texts = await pushed(self.client, self.services, chat)
        fresh, self.seen[chat] = texts[self.seen.get(chat, 0) :], len(texts)
        return fresh


async def lamp_report(day: Day) -> int:
    await enroll(day.services)
    await add_cadre_group(day.services, "C1", COUNTY)
    await say(day.client, "sim-P1", "村口路灯坏了")
    (report,) = await reports(day.services)
    for chat in (VILLAGE, "sim-P1"):
        await day.new(chat)  # the announcement and the receipt, out of the way
    return report.id


async def last_mentions(services: Services, chat: str) -> list[str]:
    async with services.uow() as store:
        row = await store.session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.target == chat)
            .order_by(OutboxMessage.id.desc())
        )
    assert row is not None
    return list(row.reply.get("mentions", []))


async def timeline(services: Services, number: int) -> list[str]:
    async with services.uow() as store:
        return [e.kind for e in await store.reports.timeline(number)]


async def test_an_unaccepted_report_is_reminded_then_climbs_to_the_county(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    day = Day(client, services, clock)
    number = await lamp_report(day)
    assert await day.sweep(23.9) == 0  # the accept deadline (24 h) has not passed
    assert await day.new(VILLAGE) == []

    # the deadline passes: the village cadre group is reminded, the secretary @mentioned
    assert await day.sweep(25) == 1
    (reminder,) = await day.new(VILLAGE)
    assert reminder == ZH.t(
        "report.overdue_accept", number=number, category="路灯电力", late="1小时", who="李书记"
    )
    assert (await last_mentions(services, VILLAGE)) == ["sim-P2"]
    assert await day.sweep(25.5) == 0  # run again: nothing twice
    assert await day.new(VILLAGE) == []

    # a grace period (24 h) later, still nobody: the township holds it
    assert await day.sweep(49) == 1
    (report,) = await reports(services)
    assert report.status is ReportStatus.ESCALATED
    assert report.unit_id == await unit_id(services, "T1")
    reason = ZH.t("report.overdue_reason", deadline="接单期限", late="1天1小时")
    (township,) = await day.new(TOWNSHIP)
    assert f"柳树村：{reason}" in township
    assert f"接单 {number}" in township
    # nobody holds it there yet: the township's cadres are asked by role and name, and @mentioned
    assert "请乡镇干部 周镇长 接单" in township
    assert await last_mentions(services, TOWNSHIP) == ["sim-P7"]
    (below,) = await day.new(VILLAGE)
    assert below == ZH.t(
        "report.overdue_escalated_below",
        number=number,
        category="路灯电力",
        reason=reason,
        unit="河口镇",
    )
    (villager,) = await day.new("sim-P1")
    assert villager == ZH.t("report.escalated_villager", number=number, unit="河口镇")

    # another grace period: the county
    assert await day.sweep(73) == 1
    (county,) = await day.new(COUNTY)
    assert "河口镇：" in county
    assert "请测试县的干部 接单" in county  # the county has no cadre registered: its cadres
    (report,) = await reports(services)
    assert report.unit_id == await unit_id(services, "C1")
    # the county is the top: nothing more is sent, however long it waits
    assert await day.sweep(97) == 0
    assert await day.sweep(500) == 0
    assert await day.new(COUNTY) == []
    assert await timeline(services, number) == [
        "submitted",
        "assigned",
        "overdue_accept",
        "escalated",
        "escalated",
    ]


async def test_a_reminder_says_how_late_in_minutes_under_an_hour(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    day = Day(client, services, clock)
    number = await lamp_report(day)
    clock.set(day.start + timedelta(hours=24, minutes=11))
    assert await services.scheduler.run("chase-reports") == 1
    (reminder,) = await day.new(VILLAGE)
    assert reminder == ZH.t(
        "report.overdue_accept", number=number, category="路灯电力", late="11分钟", who="李书记"
    )
    (view,) = await say(client, "sim-P2", f"查看 {number}")
    assert "超过接单期限，已催办：11分钟" in view


async def test_taking_a_report_in_time_moves_the_chase_to_the_resolve_deadline(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    day = Day(client, services, clock)
    number = await lamp_report(day)
    clock.set(day.start + timedelta(hours=2))
    await say(client, "sim-P2", f"接单 {number}", chat=VILLAGE, mentioned=True)
    await day.new(VILLAGE)
    assert await day.sweep(30) == 0  # accepted: the accept deadline no longer matters
    assert await day.sweep(71) == 0  # the resolve deadline is 72 h
    assert await day.sweep(75) == 1
    (reminder,) = await day.new(VILLAGE)
    assert reminder == ZH.t(
        "report.overdue_resolve", number=number, category="路灯电力", late="3小时", who="李书记"
    )
    assert f"办结 {number}" in reminder
    # 查看 shows the reminder on the timeline
    (view,) = await say(client, "sim-P2", f"查看 {number}")
    assert "超过办结期限，已催办" in view


async def test_a_report_fixed_before_its_deadline_is_never_chased(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    day = Day(client, services, clock)
    number = await lamp_report(day)
    await say(client, "sim-P2", f"退回 {number} 已经修好了")
    assert await day.sweep(200) == 0
    assert await day.new(VILLAGE) != []  # the rejection itself, and nothing after it
    assert await day.new(VILLAGE) == []


async def test_two_sweeps_at_once_take_each_step_once(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    day = Day(client, services, clock)
    number = await lamp_report(day)
    clock.set(day.start + timedelta(hours=25))
    runs = await asyncio.gather(*(services.scheduler.run("chase-reports") for _ in range(2)))
    assert sorted(runs) == [0, 1]
    assert len(await day.new(VILLAGE)) == 1
    assert (await timeline(services, number)).count("overdue_accept") == 1
