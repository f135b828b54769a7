"""What the people around a 随手拍 report read, through the simulator on both stacks: the
cadre group's notice of a new report (what to do next, who, its first photo), who may read a
report as it climbs the tiers (reading is not acting), and categories in the reader's
language."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import Services
from bot.i18n import Translations
from storage.models import Role
from tests.factories import png
from tests.handlers.support import add_cadre_group, give_role, images_in, mentions_in, reports
from tests.sim_support import enroll, pushed, say, send_photo

ZH = Translations().for_locale("zh_CN")
EN = Translations().for_locale("en")
Client = TestClient[Any, Any]
VILLAGE, TOWNSHIP, COUNTY = "g-v1-cadres", "g-t1-cadres", "g-c1-cadres"


async def transcript(client: Client, chat: str) -> list[dict[str, Any]]:
    """The chat as the simulator shows it: what the bot sent, with any picture."""
    resp = await client.get("/sim/api/transcript", params={"chat": chat})
    return [e for e in await resp.json() if e["direction"] == "out"]


async def test_the_new_report_notice_says_who_takes_it_how_and_shows_the_photo(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    await send_photo(client, "sim-P1", png(), caption="村口路灯坏了")
    (report,) = await reports(services)
    async with services.uow() as store:
        (photo,) = await store.reports.photos(report.id)
    (notice,) = await pushed(client, services, VILLAGE)
    assert notice == ZH.t(
        "report.announce",
        number=report.id,
        category="路灯电力",
        text="村口路灯坏了",
        place="",
        photo=ZH.t("report.announce_photo", link=f"/media/{photo.media}"),
        reporter="王秀英",
        photos=1,
        assignee="李书记",
        who="李书记",
    )
    assert f"请李书记回复“接单 {report.id}”接手" in notice  # named, not only @mentioned
    assert f"“查看 {report.id}”" in notice
    assert f"/media/{photo.media}" in notice  # the photo's full link, for phones without
    # and the photo itself, where the platform shows one (the simulator does)
    assert await images_in(services, VILLAGE) == [photo.media]
    assert any(e["image"].endswith(photo.media) for e in await transcript(client, VILLAGE))
    assert await mentions_in(services, VILLAGE) == [["sim-P2"]]
    # words alone: no photo to show
    await say(client, "sim-P4", "二组水渠堵了")
    assert (await images_in(services, VILLAGE))[-1] == ""
    assert "照片：" not in (await pushed(client, services, VILLAGE))[-1]


async def test_reading_is_not_acting_as_a_report_climbs(
    client: Client, services: Services, registry: None
) -> None:
    await give_role(services, "P5", "C1", Role.COUNTY_CADRE)
    await enroll(services)
    await add_cadre_group(services, "C1", COUNTY)
    await say(client, "sim-P1", "村口路灯坏了")
    (report,) = await reports(services)
    number = report.id
    refused = ZH.t("report.not_your_tier", number=number)
    # the township is above the village: it may read the report, not act on it
    assert (await say(client, "sim-P7", f"查看 {number}"))[0].startswith(f"#{number} 路灯电力")
    assert await say(client, "sim-P7", f"接单 {number}") == [refused]

    await say(client, "sim-P2", f"升级 {number} 要供电所来换变压器")
    (escalated,) = (await pushed(client, services, TOWNSHIP))[-1:]
    assert f"请乡镇干部 周镇长 接单，回复：接单 {number}" in escalated
    assert (await mentions_in(services, TOWNSHIP))[-1] == ["sim-P7"]
    waiting = ZH.t("report.view.assignee", name="暂无，请乡镇干部 周镇长 接单")
    # the village it came from, its grid worker and its reporter still read it ...
    (village_view,) = await say(client, "sim-P2", f"查看 {number}")
    assert waiting in village_view.splitlines()
    assert waiting in (await say(client, "sim-P3", f"查看 {number}"))[0].splitlines()
    (own,) = await say(client, "sim-P1", f"查看 {number}")
    assert own.splitlines()[0] == ZH.t(
        "report.progress_title",
        number=number,
        category="路灯电力",
        status=ZH.t("report.status.escalated"),
    )
    assert await say(client, "sim-P4", f"查看 {number}") == [
        ZH.t("report.not_yours", number=number)
    ]
    # ... but only the township acts on it now
    for command in ("接单", "办结", "转派", "退回", "升级"):
        assert await say(client, "sim-P2", f"{command} {number} 说明") == [refused]

    await say(client, "sim-P7", f"升级 {number} 跨镇的线路")
    (county_view,) = await say(client, "sim-P5", f"查看 {number}")
    assert ZH.t("report.view.assignee", name="暂无，请县级干部 孙小明 接单") in county_view
    for below in ("sim-P7", "sim-P2"):  # the tiers it passed through
        assert (await say(client, below, f"查看 {number}"))[0].startswith(f"#{number} ")
    assert await say(client, "sim-P7", f"接单 {number}") == [refused]


async def test_a_report_held_above_the_village_from_the_start_is_not_the_villages_to_read(
    client: Client, services: Services, registry: None
) -> None:
    await give_role(services, "P7", "T1", Role.AGRI_TECHNICIAN)
    await enroll(services)
    await say(client, "sim-P1", "我家玉米叶子发黄了")  # the township's technician's
    (report,) = await reports(services)
    assert await say(client, "sim-P2", f"查看 {report.id}") == [
        ZH.t("report.not_your_tier", number=report.id)
    ]
    # the grid worker of the reporter's village may: it is the first to visit
    assert (await say(client, "sim-P3", f"查看 {report.id}"))[0].startswith(f"#{report.id} ")


async def test_english_readers_see_categories_in_english(
    client: Client, services: Services, registry: None
) -> None:
    await give_role(services, "P6", "V1", Role.VILLAGE_CADRE, "路灯电力")  # routed to Tom
    await give_role(services, "P6", "C1", Role.ADMIN)
    await enroll(services)
    (answer,) = await say(client, "sim-P6", "村口路灯坏了")
    (report,) = await reports(services)
    number = report.id
    assert answer == EN.t(
        "report.received",
        number=number,
        category="Street lights and power",
        role=EN.t("role.village_cadre"),
    )
    assert report.category == "路灯电力"  # kept as the county names it
    (mine,) = await say(client, "sim-P6", "my reports")
    assert f"#{number} Street lights and power: " in mine
    title = EN.t(
        "report.progress_title",
        number=number,
        category="Street lights and power",
        status=EN.t("report.status.assigned"),
    )
    (view,) = await say(client, "sim-P6", f"view {number}")
    assert view.splitlines()[0] == title
    (todo,) = await say(client, "sim-P6", "my todo")
    assert f"#{number} Street lights and power: " in todo
    assert await say(client, "sim-P6", f"accept {number}") == [
        EN.t("report.accepted", number=number, category="Street lights and power")
    ]
    (words,) = await say(client, "sim-P6", "category words")
    assert "Street lights and power (路灯电力): " in words  # and the name to type
    # the deployment speaks Chinese: its cadre group reads the Chinese name
    assert (await pushed(client, services, VILLAGE))[0].startswith(f"【随手拍 #{number}】路灯电力")
