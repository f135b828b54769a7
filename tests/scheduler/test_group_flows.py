"""Guided flows in group chats: the person the bot is guiding is heard without an @mention
in that chat (everyone else still needs one); the first prompt says how to leave; a title
may start with any word; a command word wins over a pending step's free text."""

from __future__ import annotations

import re

from bot.app import Services
from bot.i18n import Translations
from tests.scheduler.district import COUNTY, QIAN, V1, WANG, ZHOU, District
from tests.sim_support import say

ZH = Translations().for_locale("zh_CN")


async def test_a_notice_guided_in_the_county_group_needs_no_mention_after_the_first(
    district: District, services: Services
) -> None:
    d = district
    (first,) = await d.said(QIAN, "发布通知", COUNTY)  # @mentioned, as a group asks
    assert "取消" in first
    # a title that starts with a command word is the title
    steps = [("通知：冬季防火", ZH.t("notice.guide.body"))]
    steps += [("完成柴草清理，注意用火安全。", ZH.t("notice.guide.photo"))]
    steps += [("跳过", ZH.t("notice.guide.ack")), ("要", ZH.t("notice.guide.due"))]
    steps += [("3天", ZH.t("notice.guide.when"))]
    for text, prompt in steps:
        assert await say(d.client, QIAN, text, COUNTY) == [prompt]
    # someone else in the group, not addressed to the bot: not taken for the flow
    assert await say(d.client, ZHOU, "好的", COUNTY) == []
    (summary,) = await say(d.client, QIAN, "现在", COUNTY)
    assert "通知：冬季防火" in summary
    (published,) = await say(d.client, QIAN, "确认", COUNTY)
    assert published.startswith("通知 #1 已发出")
    # the flow is over: plain words in the group are for people again
    assert await say(d.client, QIAN, "辛苦大家了", COUNTY) == []


async def test_a_villagers_words_in_a_group_are_not_taken_for_someone_elses_flow(
    district: District,
) -> None:
    d = district
    await d.said(QIAN, "发布通知", COUNTY)
    assert await say(d.client, ZHOU, "冬季防火", COUNTY) == []
    assert await say(d.client, QIAN, "冬季防火", COUNTY) == [ZH.t("notice.guide.body")]


async def test_the_proof_photo_after_resolve_needs_no_mention(
    district: District, services: Services
) -> None:
    d = district
    (made,) = await say(d.client, WANG, "村口路灯坏了三天了")
    number = re.search(r"#(\d+)", made).group(1)  # type: ignore[union-attr]
    li = "sim-P4"  # 柳树村's secretary
    (ask,) = await d.said(li, f"办结 {number} 换了灯泡", V1)
    assert "照片" in ask
    assert "取消" in ask
    assert await say(d.client, li, "取消", V1) == [ZH.t("report.resolve_cancelled", number=number)]
    await d.said(li, f"办结 {number} 换了灯泡", V1)
    # no @mention; and the group reads one message of it, not a confirmation and a notice
    await d.new(V1)  # the new report's notice, out of the way
    resolved = ZH.t(
        "report.resolved_group", number=number, category="路灯电力", who="李书记", note="换了灯泡"
    )
    assert await d.photo(li, V1, mentioned=False) == [resolved]
    assert await d.new(V1) == []


async def test_a_command_word_wins_over_the_binding_flows_free_text(
    district: District,
) -> None:
    d = district
    guest = "sim-guest-1"
    assert await say(d.client, guest, "绑定") == [ZH.t("bind.prompt")]
    assert await say(d.client, guest, "我的信息") == [ZH.t("refusal.bind_first")]
    assert await say(d.client, guest, "帮助") != [ZH.t("bind.format")]
    assert await say(d.client, guest, "取消") == [ZH.t("bind.cancelled")]
