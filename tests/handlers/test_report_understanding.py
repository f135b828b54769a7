"""The understanding at the front door, through the simulator: villagers' own words from the
corpus's test split become reports in their category (or the one-line question), what is
not a problem makes none, the question's answers, SOS and check-ins in the elder's own
words. The figures themselves are bench/understanding.py's; these check the paths."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.app import Services
from bot.clock import FixedClock
from bot.i18n import Translations
from storage.models import ElderAlert
from tests.handlers.support import reports
from tests.sim_support import enroll, say
from understanding.corpus import TEST, read

ZH = Translations().for_locale("zh_CN")
Client = TestClient[Any, Any]
VILLAGER, ELDER = "sim-P1", "sim-P4"
SOS_WORDS = ("救命", "求助", "摔倒")
UNKNOWN = ZH.t("fallback.unknown")


async def test_villagers_own_words_become_reports_in_their_category(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    await enroll(services)
    by_category: dict[str, list[str]] = {}
    for e in read(TEST):
        if e.intent == "report" and not e.text.rstrip("。！!").endswith(("?", "？", "吗")):
            by_category.setdefault(e.category, []).append(e.text)
    right = total = 0
    for category, texts in sorted(by_category.items()):
        for text in texts[:5]:
            clock.advance(49 * 3600)  # past the window that links the same problem
            (answer,) = await say(client, VILLAGER, text)
            assert answer != UNKNOWN, text  # a problem is never "not understood"
            if answer.startswith(ZH.t("report.ask", options="", other="").split("？")[0]):
                await say(client, VILLAGER, "1")  # the bot's first suggestion
            made = await reports(services)
            total += 1
            right += bool(made) and made[-1].category == category and made[-1].text == text
    assert total == 50
    assert right >= 40  # the benchmark measures it on the whole test split


async def test_what_is_not_a_problem_makes_no_report(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    chat = [e.text for e in read(TEST) if e.intent in ("chat", "question", "policy")][:30]
    made = 0
    for text in chat:
        answers = await say(client, VILLAGER, text)
        if answers and answers[0].startswith("要把这件事报给村里吗"):
            await say(client, VILLAGER, "取消")
        made = len(await reports(services))
    assert made <= 2  # report-vs-not is measured on the whole split by the benchmark


async def test_the_bot_asks_when_unsure_and_the_answer_makes_the_report(
    client: Client, services: Services, registry: None, clock: FixedClock
) -> None:
    await enroll(services)
    understanding = services.understanding
    unsure = [
        (e.text, understanding.read(e.text))
        for e in read(TEST)
        if e.intent == "report" and understanding.read(e.text).ask
    ]
    assert len(unsure) >= 3
    (text, reading), (text2, _), (text3, _) = unsure[:3]
    first, second = [c for c in reading.likely if c != "其他"][:2]
    (asked,) = await say(client, VILLAGER, text)
    assert asked.startswith("要把这件事报给村里吗？回复 1 报为【")
    assert f"【{first}】" in asked
    assert f"【{second}】" in asked
    assert "取消 不报" in asked
    # something else than a number: asked again, nothing made
    (again,) = await say(client, VILLAGER, "嗯")
    assert again.startswith("请回复一个数字")
    assert await reports(services) == []
    (made,) = await say(client, VILLAGER, "1")
    (report,) = await reports(services)
    assert (report.category, report.text) == (first, text)
    assert f"#{report.id}" in made
    # 3: another category, 其他, routed as any report
    clock.advance(49 * 3600)
    await say(client, VILLAGER, text2)
    await say(client, VILLAGER, "3")
    assert (await reports(services))[-1].category == "其他"
    # 取消: nothing is reported
    clock.advance(49 * 3600)
    await say(client, VILLAGER, text3)
    assert await say(client, VILLAGER, "取消") == [ZH.t("report.ask_cancelled")]
    assert len(await reports(services)) == 2


async def test_an_sos_in_other_words_raises_the_alert(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    calls = [
        e.text for e in read(TEST) if e.intent == "sos" and not any(w in e.text for w in SOS_WORDS)
    ]
    assert calls
    answer = await say(client, ELDER, calls[0])
    assert len(answer) == 1  # one answer: the SOS's, nothing after it
    assert answer[0].startswith("已经通知")
    async with services.uow() as store:
        (alert,) = (await store.session.scalars(select(ElderAlert))).all()
    assert alert.kind == "sos"


async def test_an_elders_check_in_in_their_own_words_is_answered_as_one(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    understanding = services.understanding
    fine = [
        e.text
        for e in read(TEST)
        if e.intent == "checkin" and understanding.read(e.text).intent == "checkin"
    ]
    assert fine
    assert await say(client, ELDER, fine[0]) == [ZH.t("elder.checkin_free", name="孙大爷")]


async def test_asking_after_a_report_in_own_words_lists_the_villagers_reports(
    client: Client, services: Services, registry: None
) -> None:
    await enroll(services)
    (made,) = await say(client, VILLAGER, "村口的路灯坏了三天了，晚上黑黢黢的")
    assert made.startswith("已收到")
    number = (await reports(services))[-1].id
    (answer,) = await say(client, VILLAGER, "我前天报的那个事情处理得啷个样了")
    assert answer.startswith(ZH.t("report.mine_title"))
    assert f"#{number}" in answer or str(number) in answer
    assert len(await reports(services)) == 1  # asking after it made no second report
