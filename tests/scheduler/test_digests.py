"""The digests on both stacks, through the simulator, the sweeps run at chosen clock times:
each village's evening digest (only where there is something to say), the Monday table for
townships and the county, each sent once however often the sweep runs."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from bot.app import Services
from bot.i18n import Translations
from scheduler.sweeps import digests
from storage.models import ElderAlert, OutboxMessage, Report
from tests.scheduler.district import (
    COUNTY,
    LI,
    SUN,
    T1,
    T2,
    V1,
    V2,
    WANG,
    ZHOU,
    District,
)
from tests.sim_support import say

ZH = Translations().for_locale("zh_CN")


async def a_day_in_the_district(d: District) -> list[Report]:
    """Two reports from 柳树村 (one fixed the same day) and a notice from 河口镇 to its
    villages, asking each to acknowledge it."""
    await say(d.client, WANG, "村口路灯坏了，晚上看不见路")
    await say(d.client, WANG, "垃圾堆在路边好几天没人清理")
    async with d.services.uow() as store:
        reports = list((await store.session.scalars(select(Report).order_by(Report.id))).all())
    assert [r.village_id for r in reports] == [reports[0].village_id] * 2
    d.at(3)
    await d.said(LI, f"办结 {reports[0].id} 换了新灯泡", V1)
    assert await d.photo(LI, V1) == [ZH.t("report.resolved", number=reports[0].id)]
    await d.guided(ZHOU, T1, "发布通知", "防火", "注意防火。", "跳过", "是", "3天", "现在")
    await d.said(ZHOU, "确认", T1)
    await d.news()  # the reports' and the notice's own pushes, out of the way
    return reports


async def test_the_evening_digest_goes_once_to_each_village_with_something_to_say(
    district: District,
) -> None:
    d = district
    await a_day_in_the_district(d)
    assert await d.run("digest-daily", 9) == 2  # 18:00 local
    news = await d.news()
    assert set(news) == {V1, V2}  # 石桥村 had nothing: no digest; townships get the weekly
    assert news[V1] == [
        ZH.t(
            "digest.daily",
            village="柳树村",
            date="11-24",
            new=2,
            resolved=1,
            overdue=0,
            alerts=0,
            notices=1,
        )
    ]
    assert "新上报 0 件" in news[V2][0]
    assert "通知、督办未回复：1 件" in news[V2][0]
    assert await d.run("digest-daily", 9.5) == 0  # again the same evening: nothing twice
    assert await d.news() == {}

    # the next day: 孙大爷 has been quiet past his threshold; the alert is in the digest
    assert await d.run("elder-watch", 25) == 1
    await d.news()
    assert await d.run("digest-daily", 33) == 2
    (v1,) = (await d.news())[V1]
    assert "新上报 0 件，今天办结 0 件" in v1
    assert "老人关爱提醒未处理：1 条" in v1


async def test_the_monday_table_ranks_villages_and_townships(
    district: District, services: Services
) -> None:
    d = district
    await a_day_in_the_district(d)
    await d.said(LI, "已学习", V1)  # 柳树村 answers the notice, 杨庄村 does not
    assert await d.run("elder-watch", 25) == 1  # 孙大爷 quiet; then his word closes it
    d.at(26)
    await say(d.client, SUN, "平安")
    async with services.uow() as store:
        (alert,) = (await store.session.scalars(select(ElderAlert))).all()
    assert alert.closed_at is not None
    await d.news()

    assert await d.run("digest-weekly", 143.5) == 3  # Monday 30 Nov 08:30: two townships, county
    news = await d.news()
    assert set(news) == {COUNTY, T1, T2}
    (t1,) = news[T1]
    assert t1.startswith("### 河口镇一周简报（11-23—11-30）")
    rows = [line for line in t1.splitlines() if line.startswith("| 1 ") or line.startswith("| 2 ")]
    assert rows == [
        "| 1 | 柳树村 | 2 | 50% | 50% | 3.0 | 3.0 | — | 100% | 1/1 |",  # one fixed, one late
        "| 2 | 杨庄村 | 0 | — | — | — | — | — | 0% | 0/0 |",
    ]
    (county,) = news[COUNTY]
    assert "| 1 | 河口镇 | 2 | 50% | 50% |" in county
    assert "| 2 | 石桥镇 | 0 |" in county
    async with services.uow() as store:
        row = await store.session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.target == T1)
            .order_by(OutboxMessage.id.desc())
        )
    assert row is not None
    assert row.reply["kind"] == "markdown"  # a table where the platform draws one

    assert await d.run("digest-weekly", 144) == 0  # the same week: nothing twice
    assert await d.news() == {}
    assert await d.run("digest-weekly", 143.5 + 7 * 24) == 3  # the next Monday: again


async def test_two_instances_sweeping_at_once_send_each_digest_once(district: District) -> None:
    d = district
    await a_day_in_the_district(d)
    d.at(9)
    runs = [d.services.scheduler.run("digest-daily") for _ in range(3)]
    assert sum(await asyncio.gather(*runs)) == 2
    news = await d.news()
    assert [len(news[V1]), len(news[V2])] == [1, 1]


async def test_a_long_table_is_cut_to_fit_a_message(
    district: District, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = district
    await a_day_in_the_district(d)
    monkeypatch.setattr(digests, "MAX_ROWS", 1)  # as if 河口镇 had more villages than fit
    assert await d.run("digest-weekly", 143.5) == 3
    (t1,) = (await d.news())[T1]
    assert "| 1 | 柳树村 |" in t1
    assert "杨庄村" not in t1
    assert ZH.t("digest.weekly_more", count=1) in t1
