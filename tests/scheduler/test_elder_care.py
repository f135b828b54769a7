"""关爱空巢老人 on both stacks, with the sweeps run at chosen clock times: an elder going
quiet, alerted, the alert climbing, then checking in; a caretaker's visit; SOS; the daily
check-in prompt; quiet hours. The registry's elder is 孙大爷 (P4, grid G2 of 柳树村), his
caretaker the grid worker 赵网格 (P3), his family 孙小明 (P5); 李书记 (P2) is the secretary."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import delete, select

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from storage.importer import import_registry, read_registry
from storage.models import ElderAlert, GroupChat, OutboxMessage
from tests.conftest import DATA
from tests.handlers.support import person_id
from tests.sim_support import Timeline, enroll, say
from tests.wechat_support import PLAIN, deliver, open_reply, other_xml

ZH = Translations().for_locale("zh_CN")
EN = Translations().for_locale("en")
Client = TestClient[Any, Any]
VILLAGE, TOWNSHIP, RESIDENTS = "g-v1-cadres", "g-t1-cadres", "g-v1-residents"
ELDER, CARETAKER, FAMILY, SECRETARY = "sim-P4", "sim-P3", "sim-P5", "sim-P2"


async def watching(client: Client, services: Services, clock: FixedClock) -> Timeline:
    """Everyone in the village on the simulator; the son, who lives away, binds himself."""
    await enroll(services)
    assert await say(client, FAMILY, "绑定 孙小明 5555") == [ZH.t("bind.ok", name="孙小明")]
    watch = Timeline(client, services, clock)
    await watch.new(FAMILY)  # the binding's answer, out of the way
    return watch


async def alerts(services: Services) -> list[ElderAlert]:
    async with services.uow() as store:
        rows = await store.session.scalars(select(ElderAlert).order_by(ElderAlert.id))
        return list(rows.all())


async def mentions(services: Services, chat: str) -> list[str]:
    """Who the last push to the chat @mentions."""
    async with services.uow() as store:
        row = await store.session.scalar(
            select(OutboxMessage)
            .where(OutboxMessage.target == chat)
            .order_by(OutboxMessage.id.desc())
        )
    assert row is not None
    return sorted(row.reply.get("mentions", []))


async def test_a_quiet_elder_is_alerted_the_alert_climbs_and_his_word_closes_it(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    w = await watching(client, services, clock)
    assert await w.run("elder-watch", 23.5) == 0  # quiet, but not yet 24 hours
    assert await w.run("elder-watch", 24.1) == 1
    (alert,) = await alerts(services)
    (to_caretaker,) = await w.new(VILLAGE)
    # he has sent nothing since the registry listed him: the alert says so, and names
    # the caretaker in words as well as by @mention
    assert to_caretaker == ZH.t(
        "elder.alert_caretakers",
        number=alert.id,
        name="孙大爷",
        village="柳树村",
        quiet="1天",
        last=ZH.t("elder.never_heard"),
        who="赵网格",
        unreached="",
    )
    assert await mentions(services, VILLAGE) == [CARETAKER]
    (to_family,) = await w.new(FAMILY)
    assert "孙大爷已经1天没有消息了" in to_family
    assert await w.run("elder-watch", 25) == 0  # run again: nothing twice
    assert await w.new(VILLAGE) == []

    # two hours and nobody visited: the secretary
    assert await w.run("elder-watch", 26.2) == 1
    (to_secretary,) = await w.new(VILLAGE)
    assert f"关爱提醒 #{alert.id} 未处理" in to_secretary
    assert "还没有人上门" in to_secretary
    assert "请李书记安排人去看看" in to_secretary
    assert await mentions(services, VILLAGE) == [SECRETARY]
    # two more: the township
    assert await w.run("elder-watch", 28.3) == 1
    (to_township,) = await w.new(TOWNSHIP)
    assert f"关爱提醒 #{alert.id} 请督办" in to_township
    assert await w.run("elder-watch", 40) == 0  # the ladder ends there

    # he writes: the alert closes and everyone it reached hears so
    w.at(41)
    assert await say(client, ELDER, "平安") == [ZH.t("elder.checkin_ok", name="孙大爷")]
    safe = ZH.t("elder.safe_group", number=alert.id, name="孙大爷", how=ZH.t("elder.how_self"))
    assert await w.new(VILLAGE) == [safe]
    assert await w.new(TOWNSHIP) == [safe]
    assert (await w.new(FAMILY))[0].startswith("✅ 您家老人孙大爷已报平安")
    (closed,) = await alerts(services)
    assert closed.closed_at == clock.now()
    assert closed.closed_by is None
    # watched again from his word: quiet another 24 hours before a new alert
    assert await w.run("elder-watch", 64) == 0
    assert await w.run("elder-watch", 65.1) == 1
    assert len(await alerts(services)) == 2


async def test_a_video_from_him_is_his_word_though_the_bot_cannot_open_it(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    """He films the broken road on the Official Account instead of typing: he is told the
    bot cannot open videos, and the video still says he is well."""
    w = await watching(client, services, clock)
    elder = await person_id(services, "P4")
    async with services.uow() as store:
        await store.identities.bind("oa", "oSUNDAYE", elder, by="import", at=clock.now())
    assert await w.run("elder-watch", 24.1) == 1
    await w.new(VILLAGE)
    (alert,) = await alerts(services)

    w.at(25)
    now = int(clock.now().timestamp())
    resp = await deliver(client, PLAIN, other_xml("video", 41, now, openid="oSUNDAYE"), now)
    assert (await open_reply(resp, PLAIN))["Content"] == ZH.t("fallback.cannot_open")
    safe = ZH.t("elder.safe_group", number=alert.id, name="孙大爷", how=ZH.t("elder.how_self"))
    assert await w.new(VILLAGE) == [safe]
    (closed,) = await alerts(services)
    assert closed.closed_at == clock.now()
    assert await w.run("elder-watch", 25 + 23.9) == 0  # watched again from the video
    assert await w.run("elder-watch", 25 + 24.1) == 1


async def test_a_caretakers_visit_closes_the_alert_and_others_may_not(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    w = await watching(client, services, clock)
    await w.run("elder-watch", 24.5)
    (alert,) = await alerts(services)
    await w.new(VILLAGE)
    w.at(25)
    assert await say(client, "sim-P6", f"已上门 {alert.id} 挺好") == [  # Tom Chen reads English
        EN.t("elder.visit_not_yours", name="孙大爷")
    ]
    assert await say(client, CARETAKER, "已上门 999 挺好") == [
        ZH.t("elder.visit_unknown", what="999")
    ]
    assert await say(client, CARETAKER, f"已上门 {alert.id} 身体挺好，在晒太阳") == [
        ZH.t("elder.visit_closed", number=alert.id, name="孙大爷", note="身体挺好，在晒太阳")
    ]
    how = ZH.t("elder.how_visit", who="赵网格", note="身体挺好，在晒太阳")
    assert await w.new(VILLAGE) == [
        ZH.t("elder.safe_group", number=alert.id, name="孙大爷", how=how)
    ]
    (closed,) = await alerts(services)
    assert closed.note == "身体挺好，在晒太阳"
    assert await w.run("elder-watch", 27) == 0  # closed: no climb
    # by name, with no alert open: a visit is noted and counts as activity
    assert await say(client, CARETAKER, "已上门 孙大爷") == [
        ZH.t("elder.visit_noted", name="孙大爷", note="平安")
    ]
    assert await w.run("elder-watch", 27 + 23.9) == 0


async def test_sos_reaches_everyone_at_once_and_only_a_visit_closes_it(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    w = await watching(client, services, clock)
    w.at(3)
    # in the residents' group, not addressed to the bot: still heard, and answered once
    answer = await say(client, ELDER, "我在院子里摔倒了，起不来", chat=RESIDENTS)
    told = ZH.t("list.and", rest="网格员、村干部、镇里", last="您的家人")
    assert answer == [ZH.t("elder.sos_reply", who=told)]
    (alert,) = await alerts(services)
    (group,) = await w.new(VILLAGE)
    assert group.startswith(f"🆘【紧急求助 #{alert.id}】柳树村孙大爷")
    assert "请赵网格、李书记马上打电话或上门" in group
    assert "没有绑定" not in group  # his son is bound: he was told 1:1
    assert await mentions(services, VILLAGE) == [SECRETARY, CARETAKER]
    assert len(await w.new(TOWNSHIP)) == 1
    assert "我在院子里摔倒了" in (await w.new(FAMILY))[0]
    # his next words do not close an SOS; nothing climbs, nothing is raised twice
    assert await say(client, ELDER, "平安") == [ZH.t("elder.checkin_ok", name="孙大爷")]
    assert await w.new(VILLAGE) == []
    assert await w.run("elder-watch", 40) == 0
    await say(client, CARETAKER, f"已上门 {alert.id} 扭了脚，已送卫生院")
    assert len(await w.new(VILLAGE)) == 1
    assert len(await w.new(TOWNSHIP)) == 1  # the township heard the SOS, so hears the end
    (closed,) = await alerts(services)
    assert closed.closed_at is not None


async def test_an_sos_says_only_who_was_really_reached_and_who_must_be_phoned(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    """His son has no chat account: the elder is not told his family knows, and the village
    cadre group is told to phone the son, with his masked number."""
    await enroll(services)
    w = Timeline(client, services, clock)
    w.at(2)
    for words in ("救命", "我摔倒了，起不来"):
        answer = await say(client, ELDER, words)
        told = ZH.t("list.and", rest="网格员、村干部", last="镇里")
        assert answer == [ZH.t("elder.sos_reply", who=told)]  # one answer, no 没看懂
    (alert,) = await alerts(services)
    (group, _again) = await w.new(VILLAGE)
    assert f"紧急求助 #{alert.id}" in group
    assert ZH.t("elder.family_unreached", name="孙小明", phone="139****5555") in group
    # the quiet-alert too names whom to phone
    await say(client, CARETAKER, f"已上门 {alert.id} 没事")
    await w.new(VILLAGE)
    assert await w.run("elder-watch", 2 + 24.2) == 1
    (quiet,) = await w.new(VILLAGE)
    assert "最后一次：11-24 11:00" in quiet  # he has written since the registry listed him
    assert ZH.t("elder.family_unreached", name="孙小明", phone="139****5555") in quiet


async def test_an_sos_in_a_village_without_groups_tells_the_elder_to_call_120(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    await enroll(services)
    async with services.uow() as store:
        await store.session.execute(delete(GroupChat))
    assert await say(client, ELDER, "救命") == [ZH.t("elder.sos_reply_nobody")]


async def test_the_daily_prompt_goes_to_elders_not_heard_from_since_the_last(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    w = await watching(client, services, clock)
    assert await w.run("elder-checkin", 24) == 1  # 25 Nov, 09:00
    prompt = ZH.t("elder.checkin_prompt", name="孙大爷")
    assert await w.new(ELDER) == [prompt]
    assert await w.run("elder-checkin", 24.2) == 0  # the same morning: once
    w.at(25)
    await say(client, ELDER, "平安")
    assert await w.run("elder-checkin", 48) == 0  # he answered: not asked again
    assert await w.run("elder-checkin", 72) == 1  # quiet since the last: asked again
    assert (await w.new(ELDER))[-1] == prompt


async def test_quiet_hours_hold_prompts_and_villager_news_but_never_alerts(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    w = await watching(client, services, clock)
    # 25 Nov 23:30 local: the prompt waits until 07:00, the alert to the family does not
    assert await w.run("elder-checkin", 24 + 14.5) == 1
    assert await w.run("elder-watch", 24 + 14.5) == 1
    async with services.uow() as store:
        rows = (await store.session.scalars(select(OutboxMessage))).all()
    by_purpose = {r.purpose: r for r in rows}
    morning = w.start + timedelta(hours=24 + 22)  # 26 Nov 07:00 local
    assert by_purpose["checkin"].not_before == morning
    alerts_now = [r for r in rows if r.purpose == "alert"]
    assert alerts_now
    assert all(r.not_before == r.created_at for r in alerts_now)


async def test_an_elder_taken_off_the_list_is_no_longer_chased(
    client: Client, services: Services, registry: None, clock: FixedClock, tmp_path: Path
) -> None:
    w = await watching(client, services, clock)
    assert await w.run("elder-watch", 24.5) == 1
    await w.new(VILLAGE)
    # the registry no longer lists 孙大爷 as living alone (he moved in with his son)
    text = (DATA / "registry.yaml").read_text(encoding="utf-8")
    changed = text.replace("    elder: true\n    caretakers: [P3]\n    family: [P5]\n", "")
    assert changed != text
    (tmp_path / "registry.yaml").write_text(changed, encoding="utf-8")
    w.at(25)
    await import_registry(services.uow, read_registry(tmp_path / "registry.yaml"), clock.now())
    (alert,) = await alerts(services)
    assert alert.closed_at == clock.now()
    assert await w.run("elder-watch", 40) == 0  # no climb to the secretary, no new alert
    assert await w.new(VILLAGE) == []
