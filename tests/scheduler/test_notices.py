"""通知 and 督办 on both stacks, through the simulator, with the sweeps run at chosen clock
times: a notice some units acknowledge, the rest reminded and then their parent unit told; a
county task a township splits among its villages, completed with a photo and with words; a
notice set for later, published once however often the sweep runs.

The district is tests/scheduler/district.py's."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.app import Services
from bot.i18n import Translations
from handlers.notices.when import parse_when
from storage.models import Notice, OutboxMessage
from tests.scheduler.district import (
    CHEN,
    COUNTY,
    LI,
    QIAN,
    T1,
    T2,
    V1,
    V1_RESIDENTS,
    V2,
    V3,
    WANG,
    WU,
    ZHENG,
    ZHOU,
    District,
)

ZH = Translations().for_locale("zh_CN")
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def notices(services: Services) -> list[Notice]:
    async with services.uow() as store:
        return list((await store.session.scalars(select(Notice).order_by(Notice.id))).all())


async def outbox_rows(services: Services) -> int:
    async with services.uow() as store:
        return int(await store.session.scalar(select(func.count(OutboxMessage.id))) or 0)


async def test_a_notice_some_units_acknowledge_the_rest_reminded_then_told_above(
    district: District, services: Services
) -> None:
    d = district
    assert (await d.said(QIAN, "发布通知", COUNTY))[0].startswith("好的，发布通知。请先发标题")
    assert await d.said(QIAN, "冬季防火", COUNTY) == [ZH.t("notice.guide.body")]
    assert await d.said(QIAN, "请各村做好冬季防火宣传，清理柴草。", COUNTY) == [
        ZH.t("notice.guide.photo")
    ]
    assert await d.said(QIAN, "跳过", COUNTY) == [ZH.t("notice.guide.ack")]
    assert await d.said(QIAN, "也许", COUNTY) == [ZH.t("notice.guide.ack")]  # asked again
    assert await d.said(QIAN, "是", COUNTY) == [ZH.t("notice.guide.due")]
    assert await d.said(QIAN, "下个月", COUNTY) == [ZH.t("notice.guide.due_bad", text="下个月")]
    assert await d.said(QIAN, "2天", COUNTY) == [ZH.t("notice.guide.when")]  # 26 Nov 18:00
    (summary,) = await d.said(QIAN, "现在", COUNTY)
    assert "截止时间：11-26 18:00" in summary
    assert "发给：5个单位" in summary  # two townships, three villages
    assert await d.new(V1) == []  # nothing goes out before 确认
    (published,) = await d.said(QIAN, "确认", COUNTY)
    (notice,) = await notices(services)
    assert published == ZH.t("notice.published", what="通知", number=notice.id, groups=6)

    news = await d.news()
    assert set(news) == {T1, T2, V1, V1_RESIDENTS, V2, V3}  # not back to the county
    assert news[V1][0].startswith(f"📢【通知 #{notice.id}】冬季防火\n请各村做好冬季防火宣传")
    assert f"请在11-26 18:00前回复：已学习 {notice.id}" in news[V1][0]
    assert "已学习" not in news[V1_RESIDENTS][0]  # villagers read it; cadres answer for them
    assert news[V1_RESIDENTS][0].endswith("——测试县")

    # 柳树村 and 河口镇 acknowledge; the only notice they owe needs no number
    assert await d.said(LI, "已学习", V1) == [
        ZH.t("notice.acked", number=notice.id, title="冬季防火", unit="柳树村")
    ]
    assert (await d.said(LI, f"已学习 {notice.id}", V1))[0].startswith(
        f"通知 #{notice.id} 您单位已在"
    )
    assert (await d.said(ZHOU, f"已学习 {notice.id}", T1))[0].startswith("已记录：河口镇已学习")
    (progress,) = await d.said(QIAN, f"通知 {notice.id} 进度", COUNTY)
    assert "回复情况：已学习 2/5" in progress
    assert "✅ 已学习：河口镇、柳树村" in progress
    assert "⏳ 未学习：石桥镇、杨庄村、石桥村" in progress
    (mine,) = await d.said(CHEN, f"通知 {notice.id}", V2)  # a receiver sees only its own
    assert mine.endswith(f"您单位还没回复，看过后请回复：已学习 {notice.id}")
    assert "石桥镇" not in mine

    # the deadline (26 Nov 18:00 local is 57 hours after the import): each late unit reminded
    assert await d.run("chase-notices", 56.5) == 0
    assert await d.run("chase-notices", 58) == 3
    news = await d.news()
    assert set(news) == {T2, V2, V3}
    assert news[V2] == [
        ZH.t(
            "notice.overdue_ack",
            number=notice.id,
            title="冬季防火",
            late="1小时",
            unit="杨庄村",
        )
    ]
    rows = await outbox_rows(services)
    assert await d.run("chase-notices", 58) == 0  # run again: nothing twice
    assert await outbox_rows(services) == rows

    # 杨庄村 answers late; a grace period on, the parent of each unit still silent is told
    await d.said(CHEN, "已学习", V2)
    assert await d.run("chase-notices", 70) == 0
    assert await d.run("chase-notices", 82.5) == 2
    news = await d.news()
    assert set(news) == {COUNTY, T2}
    assert news[T2][0].startswith("⚠️ 石桥村超过截止时间1天")
    assert news[COUNTY][0].startswith("⚠️ 石桥镇超过截止时间1天")
    assert await d.run("chase-notices", 200) == 0  # the ladder ends there

    # the last two answer: the county hears everyone has read it
    await d.said(WU, "已学习", T2)
    assert await d.new(COUNTY) == []
    await d.said(ZHENG, "已学习", V3)
    assert await d.new(COUNTY) == [
        ZH.t("notice.all_acked", number=notice.id, title="冬季防火", count=5)
    ]


async def test_a_county_task_split_by_a_township_and_completed(
    district: District, services: Services
) -> None:
    d = district
    (summary,) = await d.guided(
        QIAN, COUNTY, "发布任务", "道路清障", "12月1日前清理村道障碍物。", "跳过", "11-30", "现在"
    )
    assert "发给：2个单位" in summary  # a task goes one level down: the townships
    await d.said(QIAN, "确认", COUNTY)
    (task,) = await notices(services)
    news = await d.news()
    assert set(news) == {T1, T2}
    assert f"要分到各村办，请回复：分派 {task.id}" in news[T1][0]
    assert "截止：11-30 18:00" in news[T1][0]

    # 河口镇 hands it to its villages; a wrong name is caught before anything is sent
    (unknown,) = await d.said(ZHOU, f"分派 {task.id} 柳树村 大王庄", T1)
    assert unknown == ZH.t("notice.split_unknown", names="大王庄", villages="柳树村、杨庄村")
    assert await d.news() == {}
    (split,) = await d.said(ZHOU, f"分派 {task.id}", T1)
    assert split.startswith(f"督办 #{task.id} 已分派给2个村：柳树村、杨庄村")
    news = await d.news()
    assert set(news) == {V1, V2}
    assert news[V1][0].startswith(f"📌【督办 #{task.id}】道路清障")
    assert news[V1][0].endswith(f"办完后请回复：完成 {task.id} 情况（可附照片）")
    assert (await d.said(LI, f"已学习 {task.id}", V1))[0] == ZH.t(
        "notice.wrong_command.task", number=task.id
    )

    # 柳树村 completes with a photo, 杨庄村 with words: 河口镇 hears each, then is done itself
    # asked in the group, the prompt says how to leave; the photo needs no @mention
    assert await d.said(LI, f"完成 {task.id}", V1) == [
        ZH.t("notice.done_needs_evidence", number=task.id) + "\n" + ZH.t("flow.way_out")
    ]
    (done,) = await d.photo(LI, V1, mentioned=False)
    assert done == ZH.t("notice.done", number=task.id, title="道路清障")
    news = await d.news()
    assert set(news) == {T1}
    assert news[T1][0].startswith(f"✅ 柳树村已完成督办 #{task.id}《道路清障》")
    assert "/media/" in news[T1][0]
    (progress,) = await d.said(QIAN, f"督办 {task.id}", COUNTY)
    assert "办理情况：已完成 0/2" in progress
    assert "⏳ 未完成：河口镇（已分派，完成1/2）、石桥镇" in progress

    await d.said(CHEN, f"完成 {task.id} 村道已清理干净", V2)
    news = await d.news()
    assert news[T1][0].startswith(f"✅ 杨庄村已完成督办 #{task.id}")
    assert "情况：村道已清理干净" in news[T1][0]
    assert news[COUNTY] == [
        ZH.t(
            "notice.done_group",
            unit="河口镇",
            number=task.id,
            title="道路清障",
            evidence="分派的2个村都已完成",
            photo="—",
        )
    ]

    # 石桥镇 is late: reminded at the deadline (30 Nov 18:00 = 153 h), the county told later
    assert await d.run("chase-notices", 154) == 1
    assert (await d.new(T2))[0].startswith(f"⏰ 督办 #{task.id}《道路清障》已超期1小时")
    await d.said(WU, f"完成 {task.id} 已清理", T2)
    news = await d.news()
    assert news[COUNTY][-1] == ZH.t("notice.all_done", number=task.id, title="道路清障", count=2)
    assert await d.run("chase-notices", 200) == 0  # done: no more reminders


async def test_a_notice_set_for_later_goes_out_once_at_its_time(
    district: District, services: Services
) -> None:
    d = district
    (summary,) = await d.guided(
        ZHOU,
        T1,
        "发布通知",
        "医保缴费",
        "请提醒村民按时缴纳医保。",
        "跳过",
        "否",
        "跳过",
        "明天 8:00",
    )
    assert "发出时间：11-25 08:00" in summary
    assert "发给：2个单位" in summary  # 河口镇's villages
    (saved,) = await d.said(ZHOU, "确认", T1)
    (notice,) = await notices(services)
    assert saved == ZH.t("notice.scheduled", what="通知", number=notice.id, time="11-25 08:00")
    assert await d.news() == {}
    assert await d.run("publish-notices", 22.9) == 0  # 07:54 local
    assert await d.news() == {}
    assert await d.run("publish-notices", 23.0) == 1
    news = await d.news()
    assert set(news) == {V1, V1_RESIDENTS, V2}  # not 石桥镇's villages, not the county
    assert "已学习" not in news[V1][0]  # no acknowledgement asked
    assert await d.run("publish-notices", 23.1) == 0  # again: nothing twice
    assert await d.news() == {}
    assert await d.run("chase-notices", 500) == 0  # nothing to acknowledge, nothing to chase


async def test_who_may_publish_and_what_a_wrong_answer_gets(
    district: District, services: Services
) -> None:
    d = district
    (refused,) = await d.said(WANG, "发布通知", "dm")
    assert refused == ZH.t("refusal.not_permitted")
    assert await d.said(LI, "发布任务", V1) == [ZH.t("notice.task_not_from_village")]
    # a village's notice goes to its own villagers, with no acknowledgement asked
    await d.guided(LI, V1, "发布通知", "停水", "明天上午停水。", "跳过", "是", "跳过", "现在")
    await d.said(LI, "确认", V1)
    news = await d.news()
    assert set(news) == {V1_RESIDENTS}
    (notice,) = await notices(services)
    assert notice.ack_required is False
    assert await d.said(LI, "完成 99 好了", V1) == [ZH.t("notice.no_such", number=99)]
    assert await d.said(ZHENG, "已学习", V3) == [ZH.t("notice.nothing_owed", command="已学习")]
    # 取消 at any step sends nothing
    await d.guided(QIAN, COUNTY, "发布通知", "标题", "正文")
    assert await d.said(QIAN, "取消", COUNTY) == [ZH.t("notice.guide.cancelled")]
    assert len(await notices(services)) == 1


@pytest.mark.parametrize(
    ("text", "local"),
    [
        ("明天 8:00", datetime(2026, 11, 25, 8, 0, tzinfo=SHANGHAI)),
        ("3天", datetime(2026, 11, 27, 18, 0, tzinfo=SHANGHAI)),
        ("11-30", datetime(2026, 11, 30, 18, 0, tzinfo=SHANGHAI)),
        ("11月30日 17点", datetime(2026, 11, 30, 17, 0, tzinfo=SHANGHAI)),
        ("2026-12-05 9:30", datetime(2026, 12, 5, 9, 30, tzinfo=SHANGHAI)),
        ("8点半", datetime(2026, 11, 24, 8, 30, tzinfo=SHANGHAI)),
        (
            "1-5",
            datetime(2027, 1, 5, 18, 0, tzinfo=SHANGHAI),
        ),  # a month-day already past: next year's
    ],
)
def test_times_as_cadres_write_them(text: str, local: datetime) -> None:
    now = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert parse_when(text, now, SHANGHAI, time(18)) == local


@pytest.mark.parametrize("text", ["下个月", "13-40", "25:00", "3", ""])
def test_what_is_not_a_time(text: str) -> None:
    now = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)
    assert parse_when(text, now, SHANGHAI, time(18)) is None


async def test_the_last_two_answers_at_once_tell_the_publisher_once(
    district: District, services: Services
) -> None:
    d = district
    await d.guided(ZHOU, T1, "发布通知", "防汛", "做好防汛准备。", "跳过", "是", "2天", "现在")
    await d.said(ZHOU, "确认", T1)
    await d.news()
    both = await asyncio.gather(d.said(LI, "已学习", V1), d.said(CHEN, "已学习", V2))
    assert [len(replies) for replies in both] == [1, 1]
    (notice,) = await notices(services)
    assert await d.new(T1) == [ZH.t("notice.all_acked", number=notice.id, title="防汛", count=2)]


async def test_a_villager_reads_the_notices_sent_to_the_village(
    district: District, services: Services
) -> None:
    d = district
    assert await d.said(WANG, "通知", "dm") == [ZH.t("notice.villager_none")]
    await d.guided(
        QIAN, COUNTY, "发布通知", "冬季防火", "清理柴草。", "跳过", "否", "跳过", "现在"
    )
    await d.said(QIAN, "确认", COUNTY)
    await d.guided(QIAN, COUNTY, "发布任务", "道路清障", "清理村道。", "跳过", "3天", "现在")
    await d.said(QIAN, "确认", COUNTY)
    await d.guided(WU, T2, "发布通知", "石桥停电", "明天停电。", "跳过", "否", "跳过", "现在")
    await d.said(WU, "确认", T2)
    fire, task, other = await notices(services)
    (listing,) = await d.said(WANG, "通知", "dm")
    assert f"#{fire.id}《冬季防火》" in listing
    assert "道路清障" not in listing  # a task is the cadres' business
    assert "石桥停电" not in listing  # another township's
    (full,) = await d.said(WANG, f"通知 {fire.id}", "dm")
    assert full.startswith(f"📢【通知 #{fire.id}】冬季防火\n清理柴草。")
    assert full.endswith("——测试县")
    for number in (task.id, other.id, 99):
        assert await d.said(WANG, f"通知 {number}", "dm") == [
            ZH.t("notice.no_such", number=number)
        ]
    # a cadre's 通知 is still the cadre's: the notices to the village and its tasks
    (cadre,) = await d.said(LI, "通知", V1)
    assert f"#{fire.id} 通知《冬季防火》" in cadre
    assert "道路清障" not in cadre  # the county's task went to the townships
    assert "石桥停电" not in cadre
    (shown,) = await d.said(LI, f"通知 {fire.id}", V1)
    assert shown.startswith(f"【通知 #{fire.id}】冬季防火")
    assert await d.said(LI, f"通知 {other.id}", V1) == [ZH.t("notice.not_yours", number=other.id)]
    (township,) = await d.said(ZHOU, "通知", T1)
    assert township.startswith("待回复（1件）：")
    assert f"督办 #{task.id}《道路清障》" in township


async def test_a_notice_set_for_later_may_be_withdrawn_before_it_goes(
    district: District, services: Services
) -> None:
    d = district
    await d.guided(ZHOU, T1, "发布通知", "停电", "周五停电。", "跳过", "否", "跳过", "明天 8:00")
    await d.said(ZHOU, "确认", T1)
    (notice,) = await notices(services)
    # not someone else's draft; then its author takes it back
    assert await d.said(WU, f"撤回 {notice.id}", T2) == [ZH.t("notice.no_such", number=notice.id)]
    assert await d.said(ZHOU, f"撤回 {notice.id}", T1) == [
        ZH.t("notice.withdrawn", number=notice.id, title="停电")
    ]
    assert await notices(services) == []
    assert await d.run("publish-notices", 24) == 0
    assert await d.news() == {}
    # one already sent stays
    await d.guided(ZHOU, T1, "发布通知", "防火", "注意防火。", "跳过", "否", "跳过", "现在")
    await d.said(ZHOU, "确认", T1)
    (sent,) = await notices(services)
    assert await d.said(ZHOU, f"撤回 {sent.id}", T1) == [
        ZH.t("notice.withdraw_sent", number=sent.id)
    ]
