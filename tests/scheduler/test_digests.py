"""The digests on both stacks, through the simulator, the sweeps run at chosen clock times:
each village's evening digest (only where there is something to say), the Monday table for
townships and the county, each sent once however often the sweep runs; and the Monday table
as the local WeCom, DingTalk and WeChat receive it, drawn for what each of them shows."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from bot.app import SERVICES, Services, create_app
from bot.channels.render import PLAIN, render
from bot.clock import FixedClock
from bot.config import (
    DingTalkChannelSettings,
    Settings,
    WeChatChannelSettings,
    WeComBotChannelSettings,
)
from bot.i18n import Translations
from bot.message import Push, Reply
from bot.outbox import enqueue
from scheduler.sweeps import digests
from storage.importer import import_registry, read_registry
from storage.models import ChatPurpose, ElderAlert, GroupChat, OrgUnit, OutboxMessage, Report
from tests.conftest import (
    DATA,
    DINGTALK_APP_KEY,
    DINGTALK_APP_SECRET,
    WECHAT_AES_KEY,
    WECHAT_APP_ID,
    WECHAT_TOKEN,
)
from tests.fakes.dingtalk import FakeDingTalk
from tests.fakes.wechat import FakeWeChat
from tests.fakes.wecom import FakeWeCom
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
from tests.sim_support import drain, enroll, say

ZH = Translations().for_locale("zh_CN")


async def a_day_in_the_district(d: District, *, check: bool = True) -> list[Report]:
    """Two reports from 柳树村 (one fixed the same day) and a notice from 河口镇 to its
    villages, asking each to acknowledge it (`check`: and the fix's answer checked)."""
    await say(d.client, WANG, "村口路灯坏了三天了")
    await say(d.client, WANG, "垃圾堆在路边好几天没人清理")
    async with d.services.uow() as store:
        reports = list((await store.session.scalars(select(Report).order_by(Report.id))).all())
    assert [r.village_id for r in reports] == [reports[0].village_id] * 2
    d.at(3)
    await d.said(LI, f"办结 {reports[0].id} 换了新灯泡", V1)
    fixed = await d.photo(LI, V1)
    # said in the group it tells: the group's notice of the fix is the answer there
    resolved = ZH.t(
        "report.resolved_group",
        number=reports[0].id,
        category="路灯电力",
        who="李书记",
        note="换了新灯泡",
    )
    assert fixed == [resolved] or not check
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

    await d.said(LI, "加分 王秀英 孝老爱亲 照顾孙大爷", V1)  # one of 柳树村's two households
    await d.news()
    assert await d.run("digest-weekly", 143.5) == 3  # Monday 30 Nov 08:30: two townships, county
    news = await d.news()
    assert set(news) == {COUNTY, T1, T2}
    (t1,) = news[T1]
    assert t1.startswith("### 河口镇一周简报（11-23—11-30）")
    rows = [line for line in t1.splitlines() if line.startswith("| 1 ") or line.startswith("| 2 ")]
    assert rows == [
        # one fixed, one late; no villager's question due this week
        "| 1 | 柳树村 | 2 | 50% | 50% | 3.0 | 3.0 | — | 100% | 1/1 | 50% | — |",
        "| 2 | 杨庄村 | 0 | — | — | — | — | — | 0% | 0/0 | — | — |",  # no household registered
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


# --- the Monday table on the platforms ------------------------------------------------------

OA_SECRET = "oa-secret"
FOLLOWER = "oZHOU0001"  # 周镇长 on the Official Account


@dataclass
class Platforms:
    district: District
    wecom: FakeWeCom
    dingtalk: FakeDingTalk
    wechat: FakeWeChat


async def platform_channels(
    settings: Settings, clock: FixedClock, aiohttp_server: Any
) -> tuple[list[Any], FakeWeCom, FakeDingTalk, FakeWeChat]:
    """The app's channels with the WeChat, DingTalk and WeCom APIs at local fakes."""
    wecom, ding, wechat = (
        FakeWeCom(clock),
        FakeDingTalk(clock),
        FakeWeChat(clock, WECHAT_APP_ID, OA_SECRET),
    )
    base = {}
    for name, fake in (("wecom", wecom), ("ding", ding), ("wechat", wechat)):
        base[name] = str((await aiohttp_server(fake.app())).make_url("")).rstrip("/")
    channels = [c for c in settings.channels if c.name not in ("oa", "ding")]
    channels += [
        WeChatChannelSettings(
            type="wechat",
            name="oa",
            token=WECHAT_TOKEN,
            app_id=WECHAT_APP_ID,
            app_secret=OA_SECRET,
            api_base=base["wechat"],
        ),
        DingTalkChannelSettings(
            type="dingtalk",
            name="ding",
            app_key=DINGTALK_APP_KEY,
            app_secret=DINGTALK_APP_SECRET,
            api_base=base["ding"],
            oapi_base=base["ding"],
        ),
        WeComBotChannelSettings(
            type="wecom_bot",
            name="wbot",
            token=WECHAT_TOKEN,
            encoding_aes_key=WECHAT_AES_KEY,
            api_base=base["wecom"],
        ),
    ]
    return channels, wecom, ding, wechat


@pytest.fixture
async def platforms(
    settings: Settings, clock: FixedClock, aiohttp_client: Any, aiohttp_server: Any
) -> Platforms:
    """The district, with 河口镇's cadres also in a WeCom group and a DingTalk group, each
    with its push robot, and 周镇长 following the Official Account."""
    channels, wecom, ding, wechat = await platform_channels(settings, clock, aiohttp_server)
    client = await aiohttp_client(
        create_app(settings.model_copy(update={"channels": channels}), clock)
    )
    services: Services = client.app[SERVICES]
    await import_registry(services.uow, read_registry(DATA / "district.yaml"), clock.now())
    await enroll(services)
    wecom.robot("KEY-T1")
    ding.robot("DT-T1", "SECdigest")
    async with services.uow() as store:
        township = await store.session.scalar(select(OrgUnit.id).where(OrgUnit.code == "T1"))
        assert township is not None
        for code, channel, token, secret in [
            ("GC-T1-WECOM", "wbot", "KEY-T1", ""),
            ("GC-T1-DING", "ding", "DT-T1", "SECdigest"),
        ]:
            group = GroupChat(
                code=code,
                name="河口镇干部群",
                channel=channel,
                external_id=f"{channel}-t1",
                org_unit_id=township,
                purpose=ChatPurpose.CADRES,
                robot_token=token,
                robot_secret=secret,
            )
            store.session.add(group)
    return Platforms(District(client, services, clock), wecom, ding, wechat)


async def test_the_monday_table_is_drawn_for_what_each_platform_shows(
    platforms: Platforms,
) -> None:
    d = platforms.district
    await a_day_in_the_district(d, check=False)
    assert await d.run("digest-weekly", 143.5) == 3
    await drain(d.services)
    title = "河口镇一周简报（11-23—11-30）"
    first = "| 1 | 柳树村 | 2 | 50% | 50% | 3.0 | 3.0 | — | 0% | 0/0 | 0% |"

    # WeCom: markdown_v2 draws tables (and there is no one to @mention): the table as written
    (wecom,) = platforms.wecom.robots["KEY-T1"].received
    assert wecom["msgtype"] == "markdown_v2"
    assert first in wecom["markdown_v2"]["content"]

    # DingTalk draws lists, not tables: a numbered list, the figures after their names
    (ding,) = platforms.dingtalk.robots["DT-T1"].received
    assert ding["msgtype"] == "markdown"
    assert ding["markdown"]["title"] == title
    text = ding["markdown"]["text"]
    assert "|" not in text
    assert "---" not in text
    assert text.startswith(f"### {title}")
    assert (
        "1. **柳树村**\u3000上报 2 · 办结率 50% · 按期办结率 50% · 接单用时(小时) 3.0 · "
        "办结用时(小时) 3.0 · 满意度 — · 通知回复率 0% · 老人提醒(发/结) 0/0"
    ) in text
    assert "\n2. **杨庄村**\u3000上报 0 · 办结率 — ·" in text

    # WeChat, the same table forwarded 1:1 to 周镇长: plain text, nothing of markdown left
    async with d.services.uow() as store:
        row = await store.session.scalar(
            select(OutboxMessage).where(OutboxMessage.channel == "ding")
        )
        assert row is not None
        platforms.wechat.wrote(FOLLOWER)
        reply = Reply.model_validate(row.reply)
        enqueue(
            store, Push(channel="oa", chat_id=FOLLOWER, is_group=False, reply=reply), d.clock.now()
        )
    await drain(d.services)
    (sent,) = platforms.wechat.followers[FOLLOWER].received
    shown = sent["text"]["content"]
    assert shown == render(reply.text, PLAIN)
    assert not any(mark in shown for mark in ("**", "###", "|", "---"))
    lines = shown.splitlines()
    assert lines[0] == title
    assert lines[2].startswith("1. 柳树村\u3000上报 2 · 办结率 50% · 按期办结率 50%")
    assert lines[3].startswith("2. 杨庄村\u3000上报 0 ·")
    assert lines[-1] == "按办结率、按期办结率排名；“—”表示本周没有可算的数。"
