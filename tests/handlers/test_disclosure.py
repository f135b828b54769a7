"""三务公开 through the simulator, on both stacks: a village cadre publishes (guided: kind,
title, words and photos, period, 确认) and the residents' group is told; villagers list and
read their own village's, and ask about one (the village cadre group gets the question);
取消 leaves nothing; a period that cannot be read is refused with an example; and
`remind-finance`, run at chosen times, reminds once the villages without last month's
finance disclosure and tells their township."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from handlers.disclosure.period import Period, month_before, parse_period
from scheduler.jobs import JOBS, JobContext
from storage.importer import import_registry
from storage.models import Disclosure, DisclosureKind, Question, QuestionKind
from tests.factories import png
from tests.handlers.support import add_cadre_group, two_villages
from tests.sim_support import enroll, pushed, say, send_photo

ZH = Translations().for_locale("zh_CN")
EN = Translations().for_locale("en")
Client = TestClient[Any, Any]
SECRETARY, VILLAGER, OTHER_SECRETARY = "sim-P2", "sim-P1", "sim-P9"
CADRES, RESIDENTS = "g-v1-cadres", "g-v1-residents"
V2_CADRES, TOWNSHIP = "g-v2-cadres", "g-t1-cadres"
TITLE = "2026年11月收支明细"
TEXT = "本月收入3万元，支出2.1万元，明细见照片。"
DEC_11_0900 = datetime(2026, 12, 11, 1, 0, tzinfo=UTC)  # 09:00 in Asia/Shanghai
JAN_11_0900 = datetime(2027, 1, 11, 1, 0, tzinfo=UTC)


@pytest.fixture
async def villages(services: Services, registry: None) -> None:
    await import_registry(services.uow, two_villages(), services.clock.now())
    await add_cadre_group(services, "V2", V2_CADRES)
    await enroll(services)


async def disclosures(services: Services) -> list[Disclosure]:
    async with services.uow() as store:
        rows = await store.session.scalars(select(Disclosure).order_by(Disclosure.id))
        return list(rows.all())


async def publish(
    client: Client, sender: str, kind: str, title: str, period: str, *, photo: bool = False
) -> str:
    """The whole guided flow, with words (and a photo); returns the last answer."""
    await say(client, sender, "发布公开")
    await say(client, sender, kind)
    await say(client, sender, title)
    if photo:
        await send_photo(client, sender, png(3, 3))
    await say(client, sender, TEXT)
    await say(client, sender, "好了")
    await say(client, sender, period)
    (done,) = await say(client, sender, "确认")
    return done


async def test_a_cadre_publishes_finance_and_villagers_read_it_and_ask(
    client: Client, services: Services, villages: None
) -> None:
    residents = len(await pushed(client, services, RESIDENTS))
    (first,) = await say(client, SECRETARY, "发布公开")
    assert first == ZH.t("disclosure.guide.kind", village="柳树村")
    assert await say(client, SECRETARY, "3") == [
        ZH.t("disclosure.guide.title", kind="财务", limit=100)
    ]
    assert await say(client, SECRETARY, TITLE) == [ZH.t("disclosure.guide.content")]
    assert await send_photo(client, SECRETARY, png(3, 3)) == [
        ZH.t("disclosure.guide.photo_received", count=1)
    ]
    assert await say(client, SECRETARY, TEXT) == [ZH.t("disclosure.guide.text_received")]
    # 完成 is a task's 完成 N elsewhere: here it ends the step
    assert await say(client, SECRETARY, "完成") == [ZH.t("disclosure.guide.period")]
    (summary,) = await say(client, SECRETARY, "2026年11月")
    assert f"【财务公开】{TITLE}" in summary
    assert "时间段：2026年11月" in summary
    assert "照片：1张" in summary
    assert await say(client, SECRETARY, "确认") == [
        ZH.t("disclosure.published", kind="财务", number=1, groups=1)
    ]
    (stored,) = await disclosures(services)
    assert (stored.kind, stored.title, stored.body) == (DisclosureKind.FINANCE, TITLE, TEXT)
    assert (stored.period_start, stored.period_months, len(stored.photos)) == (
        date(2026, 11, 1),
        1,
        1,
    )
    (announced,) = (await pushed(client, services, RESIDENTS))[residents:]
    assert announced == ZH.t(
        "disclosure.announce", kind="财务", title=TITLE, period="2026年11月", number=1
    )

    (listed,) = await say(client, VILLAGER, "财务公开")
    assert listed.splitlines()[:2] == [
        ZH.t("disclosure.list_title", village="柳树村", what="财务"),
        f"1. 2026年11月 {TITLE}",
    ]
    assert await say(client, VILLAGER, "党务公开") == [
        ZH.t("disclosure.list_none", village="柳树村", what="党务")
    ]
    (every,) = await say(client, VILLAGER, "三务公开")
    assert f"1. 【财务】2026年11月 {TITLE}" in every
    (shown,) = await say(client, VILLAGER, "公开 1")
    lines = shown.splitlines()
    assert lines[0] == f"【财务公开 1】{TITLE}"
    assert lines[1] == "柳树村　时间段：2026年11月　2026-11-24发布"
    assert TEXT in lines
    assert lines[-2] == f"照片1：/media/{stored.photos[0]}"
    assert lines[-1] == ZH.t("disclosure.view_hint", number=1)
    (english,) = await say(client, "sim-P6", "finance affairs")
    assert english.startswith(EN.t("disclosure.list_title", village="柳树村", what="Finance"))

    cadres = len(await pushed(client, services, CADRES))
    assert await say(client, VILLAGER, "问公开 1") == [ZH.t("disclosure.ask_usage")]
    (made,) = await say(client, VILLAGER, "问公开 1 支出的2.1万元都用在哪里了？")
    assert made.startswith("这个问题我转给了")
    (question,) = (await pushed(client, services, CADRES))[cadres:]
    assert "王秀英" in question
    assert f"财务公开 1《{TITLE}》" in question
    assert "支出的2.1万元都用在哪里了？" in question
    async with services.uow() as store:
        asked = await store.session.scalar(select(Question))
    assert asked is not None
    assert (asked.kind, asked.disclosure_id) == (QuestionKind.DISCLOSURE, 1)


async def test_cancelling_midway_leaves_nothing(
    client: Client, services: Services, villages: None
) -> None:
    residents = len(await pushed(client, services, RESIDENTS))
    await say(client, SECRETARY, "发布公开 村务")  # the kind said at once
    await say(client, SECRETARY, "村集体土地流转情况")
    await send_photo(client, SECRETARY, png(3, 3))
    assert await say(client, SECRETARY, "取消") == [ZH.t("disclosure.guide.cancelled")]
    assert await disclosures(services) == []
    assert (await pushed(client, services, RESIDENTS))[residents:] == []
    assert await say(client, VILLAGER, "村务公开") == [
        ZH.t("disclosure.list_none", village="柳树村", what="村务")
    ]


async def test_a_period_that_cannot_be_read_is_refused_with_an_example(
    client: Client, services: Services, villages: None
) -> None:
    await say(client, SECRETARY, "发布公开")
    assert await say(client, SECRETARY, "5") == [ZH.t("disclosure.guide.kind_again")]
    await say(client, SECRETARY, "财务公开")  # the kind, not the villagers' list
    await say(client, SECRETARY, "第四季度收支")
    assert await say(client, SECRETARY, "好了") == [ZH.t("disclosure.guide.content_empty")]
    await say(client, SECRETARY, TEXT)
    await say(client, SECRETARY, "好了")
    (refused,) = await say(client, SECRETARY, "下个月吧")
    assert refused == ZH.t("disclosure.guide.period_bad", text="下个月吧")
    assert "2026年11月" in refused
    assert await say(client, SECRETARY, "2027年1月") == [
        ZH.t("disclosure.guide.period_future", period="2027年1月")
    ]
    (summary,) = await say(client, SECRETARY, "2026年第四季度")
    assert "时间段：2026年第四季度" in summary
    assert "照片：0张" in summary
    await say(client, SECRETARY, "确认")
    (stored,) = await disclosures(services)
    assert (stored.period_start, stored.period_months) == (date(2026, 10, 1), 3)


async def test_a_villager_cannot_publish_and_another_village_cannot_read(
    client: Client, services: Services, villages: None
) -> None:
    assert await say(client, VILLAGER, "发布公开") == [ZH.t("refusal.not_permitted")]
    await publish(client, SECRETARY, "3", TITLE, "11月", photo=True)
    assert await say(client, OTHER_SECRETARY, "公开 1") == [ZH.t("disclosure.no_such", number=1)]
    assert await say(client, OTHER_SECRETARY, "财务公开") == [
        ZH.t("disclosure.list_none", village="杨庄村", what="财务")
    ]
    assert await say(client, OTHER_SECRETARY, "问公开 1 钱去哪了") == [
        ZH.t("disclosure.no_such", number=1)
    ]
    # words that only start like the commands are not them
    (report,) = await say(client, VILLAGER, "公开栏的玻璃碎了")
    assert not report.startswith(ZH.t("disclosure.no_such", number=1))


async def test_the_menus_offer_publishing_to_cadres_and_reading_to_villagers(
    client: Client, services: Services, villages: None
) -> None:
    (villager,) = await say(client, VILLAGER, "帮助")
    assert ZH.t("menu.disclosure_read") in villager
    assert ZH.t("menu.disclosure_publish") not in villager
    (cadre,) = await say(client, SECRETARY, "帮助")
    assert ZH.t("menu.disclosure_publish") in cadre


async def run_reminder(services: Services, clock: FixedClock, at: datetime) -> int:
    clock.set(at)
    job = JOBS["remind-finance"]
    return await job.run(JobContext(services.uow, services.settings, Translations(), at))


async def test_villages_without_last_months_finance_disclosure_are_reminded_once(
    client: Client, services: Services, villages: None, clock: FixedClock
) -> None:
    await publish(client, SECRETARY, "3", TITLE, "2026年11月")
    await publish(client, OTHER_SECRETARY, "2", "村务", "2026年11月")  # not a finance one
    seen = {c: len(await pushed(client, services, c)) for c in (CADRES, V2_CADRES, TOWNSHIP)}

    assert await run_reminder(services, clock, DEC_11_0900) == 2
    assert (await pushed(client, services, V2_CADRES))[seen[V2_CADRES] :] == [
        ZH.t("disclosure.remind_village", month="2026年11月")
    ]
    assert (await pushed(client, services, TOWNSHIP))[seen[TOWNSHIP] :] == [
        ZH.t("disclosure.remind_township", month="2026年11月", count=1, villages="杨庄村")
    ]
    assert (await pushed(client, services, CADRES))[seen[CADRES] :] == []  # it published

    seen = {c: len(await pushed(client, services, c)) for c in (CADRES, V2_CADRES, TOWNSHIP)}
    assert await run_reminder(services, clock, DEC_11_0900) == 0  # once
    for chat, count in seen.items():
        assert len(await pushed(client, services, chat)) == count

    # December: 杨庄村's quarter covers it, 柳树村's November does not
    clock.set(datetime(2026, 12, 20, 2, 0, tzinfo=UTC))
    await publish(client, OTHER_SECRETARY, "3", "第四季度收支", "2026年第四季度")
    seen = {c: len(await pushed(client, services, c)) for c in (CADRES, V2_CADRES, TOWNSHIP)}
    assert await run_reminder(services, clock, JAN_11_0900) == 2
    assert (await pushed(client, services, CADRES))[seen[CADRES] :] == [
        ZH.t("disclosure.remind_village", month="2026年12月")
    ]
    assert (await pushed(client, services, V2_CADRES))[seen[V2_CADRES] :] == []
    assert (await pushed(client, services, TOWNSHIP))[seen[TOWNSHIP] :] == [
        ZH.t("disclosure.remind_township", month="2026年12月", count=1, villages="柳树村")
    ]


# --- the period as written ------------------------------------------------------------------

TODAY = date(2026, 11, 24)


@pytest.mark.parametrize(
    ("written", "start", "months"),
    [
        ("2026年11月", date(2026, 11, 1), 1),
        ("2026年11", date(2026, 11, 1), 1),
        ("２０２６年１１月份", date(2026, 11, 1), 1),
        ("2026-3", date(2026, 3, 1), 1),
        ("11月", date(2026, 11, 1), 1),
        ("十月", date(2026, 10, 1), 1),
        ("12月", date(2025, 12, 1), 1),  # this year's has not begun: last year's
        ("2026年第四季度", date(2026, 10, 1), 3),
        ("2026年 第4季度", date(2026, 10, 1), 3),
        ("2026q1", date(2026, 1, 1), 3),
        ("三季度", date(2026, 7, 1), 3),
    ],
)
def test_periods_are_read_as_cadres_write_them(written: str, start: date, months: int) -> None:
    assert parse_period(written, TODAY) == Period(start, months)


@pytest.mark.parametrize("written", ["", "下个月", "13月", "2026年", "1999年5月", "第五季度"])
def test_what_is_no_period_is_refused(written: str) -> None:
    assert parse_period(written, TODAY) is None


def test_a_quarter_covers_its_three_months_and_the_month_before_is_last_years_in_january() -> None:
    quarter = Period(date(2026, 10, 1), 3)
    assert [quarter.covers(date(2026, m, 1)) for m in (9, 10, 11, 12)] == [
        False,
        True,
        True,
        True,
    ]
    assert month_before(date(2027, 1, 11)) == Period(date(2026, 12, 1), 1)
    assert quarter.shown(ZH.t) == "2026年第四季度"
