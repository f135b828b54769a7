"""The simulator page in a real browser (Debian's chromium, driven by selenium), on a phone's
screen and a desktop's: the composer stays in sight, the newest message is visible, photos
show as pictures and links in words can be followed. All of it under the page's
Content-Security-Policy (a blocked script or style is a failure), below the banner that
says it is a simulator; with [sim] token the page asks for it once and keeps it.

Chromium runs headless with no network (this machine has none but localhost). When it or
selenium is missing the test skips locally, and fails under CI=true: CI must prove the page.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.app import SERVICES, Services, create_app
from bot.config import SimSettings
from bot.i18n import Translations
from storage.importer import import_registry, read_registry
from tests.conftest import DATA, IN_CI, database_url, make_settings
from tests.factories import jpeg
from tests.sim_support import drain, enroll

if TYPE_CHECKING:
    from selenium.webdriver.chromium.webdriver import ChromiumDriver
    from selenium.webdriver.remote.webdriver import WebDriver

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ZH = Translations().for_locale("zh_CN")
WAIT = 20.0  # seconds an explicit wait may take on a busy machine
SIM_TOKEN = "browser-sim-token-0123456789abcdef"

# Where a part of the page is, in viewport pixels, and what a person sees of it.
BOX = "const r = arguments[0].getBoundingClientRect(); return [r.top, r.bottom, r.left, r.right];"
PICTURES = """return [...document.querySelectorAll('#log img')].map(
    (i) => [i.getAttribute('src'), i.complete, i.naturalWidth]);"""


def missing(what: str) -> None:
    if IN_CI:
        pytest.fail(f"{what} (under CI the browser test must run)")
    pytest.skip(what)


async def start_server(
    tmp_path: Path, aiohttp_server: Any, token: str = ""
) -> tuple[str, Services]:
    """A real server on a free port: the app on SQLite, the test registry, simulator accounts."""
    url = await database_url("sqlite", tmp_path)
    settings = make_settings(url, "", f"vbtest:{uuid.uuid4().hex[:12]}", tmp_path / "media")
    sim = SimSettings(token=token, allow_real_pushes=True)
    app = create_app(settings.model_copy(update={"sim": sim}))
    server = await aiohttp_server(app)
    services = app[SERVICES]
    await import_registry(
        services.uow, read_registry(DATA / "registry.yaml"), services.clock.now()
    )
    await enroll(services)
    return str(server.make_url("/sim")), services


@pytest.fixture
async def sim_server(tmp_path: Path, aiohttp_server: Any) -> tuple[str, Services]:
    return await start_server(tmp_path, aiohttp_server)


@pytest.fixture
def sim_url(sim_server: tuple[str, Services]) -> str:
    return sim_server[0]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[WebDriver]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        missing("chromium is not installed (apt-get install chromium chromium-driver)")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium is not installed (pip install -e '.[dev]')")
        raise
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # to see CSP reports
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
        assert_nothing_blocked(driver)
    finally:
        driver.quit()


def assert_nothing_blocked(driver: ChromiumDriver) -> None:
    """The console holds no Content-Security-Policy refusal: everything the page uses is
    allowed by the policy it was served with."""
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    logged = [str(entry["message"]) for entry in entries]
    blocked = [m for m in logged if "Content Security Policy" in m or "Content-Security" in m]
    assert not blocked, blocked


async def test_on_a_phone_the_composer_and_the_newest_message_stay_in_sight(
    sim_url: str, browser: WebDriver, tmp_path: Path
) -> None:
    photo = tmp_path / "IMG_2041.jpg"
    photo.write_bytes(jpeg(640, 480, size=4 * 1024 * 1024))  # a phone photo's weight
    await asyncio.to_thread(on_a_phone, browser, sim_url, photo, tmp_path / "sim-390x844.png")
    await asyncio.to_thread(on_a_desktop, browser, sim_url, tmp_path / "sim-1280x900.png")


def on_a_phone(driver: WebDriver, url: str, photo: Path, shot: Path) -> None:
    from selenium.webdriver.common.by import By

    screen(driver, 390, 844)
    open_chat(driver, url, "sim-P1", "g-v1-residents")
    assert_banner(driver)
    driver.find_element(By.ID, "mention").click()
    driver.find_element(By.ID, "photo").send_keys(str(photo))  # as choosing it in the picker
    until(driver, lambda: pictures_loaded(driver) == 1, "the photo shows in the chat")
    until(driver, lambda: ZH.t("report.photo_received") in newest(driver), "the bot's answer")
    driver.find_element(By.ID, "text").send_keys("村口的路灯坏了")
    driver.find_element(By.ID, "send").click()
    until(driver, lambda: newest(driver).startswith("已收到您的上报，编号 #1"), "the report")
    driver.save_screenshot(str(shot))
    assert_in_sight(driver)
    assert pictures_loaded(driver) == 1
    # the page itself does not scroll: the log does, inside the screen
    assert driver.execute_script(
        "return document.scrollingElement.scrollHeight <= window.innerHeight"
    )


def on_a_desktop(driver: WebDriver, url: str, shot: Path) -> None:
    from selenium.webdriver.common.by import By

    screen(driver, 1280, 900)
    open_chat(driver, url, "sim-P1", "g-v1-residents")
    until(driver, lambda: pictures_loaded(driver) == 1, "the villager's photo, after a reload")
    # the secretary looks at the report: its photo is a link to follow
    open_chat(driver, url, "sim-P2", "dm")
    driver.find_element(By.ID, "text").send_keys("查看 1")
    driver.find_element(By.ID, "send").click()
    until(driver, lambda: "/media/" in newest(driver), "the report's details")
    links = driver.find_elements(By.CSS_SELECTOR, "#log .msg:last-child .bubble a")
    assert [a.get_attribute("href") for a in links] == [
        url.removesuffix("/sim") + a.text for a in links
    ]
    assert len(links) == 1
    assert links[0].text.startswith("/media/")
    # words are shown as words, never taken for HTML
    driver.find_element(By.ID, "text").send_keys("<b>你好</b>")
    driver.find_element(By.ID, "send").click()
    until(driver, lambda: newest(driver) == ZH.t("fallback.chat"), "the bot's answer")
    texts = [b.text for b in driver.find_elements(By.CSS_SELECTOR, "#log .msg.in .bubble")]
    assert texts[-1] == "<b>你好</b>"
    assert driver.find_elements(By.CSS_SELECTOR, "#log b") == []
    driver.save_screenshot(str(shot))
    assert_in_sight(driver)


async def test_the_weekly_table_is_drawn_as_a_table(
    sim_server: tuple[str, Services], browser: WebDriver, tmp_path: Path
) -> None:
    """The simulator draws the markdown it is given: the township's weekly digest is a
    table with a row per village, no raw `|---|` left on the screen."""
    url, services = sim_server
    assert await services.scheduler.run("digest-weekly") >= 1
    await drain(services)
    await asyncio.to_thread(weekly_table, browser, url, tmp_path / "sim-weekly-390x844.png")


def weekly_table(driver: WebDriver, url: str, shot: Path) -> None:
    from selenium.webdriver.common.by import By

    screen(driver, 390, 844)
    open_chat(driver, url, "sim-P7", "g-t1-cadres")  # 周镇长, in 河口镇's cadre group
    until(driver, lambda: driver.find_elements(By.CSS_SELECTOR, "#log table"), "the table")
    rows = driver.find_elements(By.CSS_SELECTOR, "#log table tbody tr")
    assert [r.find_elements(By.TAG_NAME, "td")[1].text for r in rows] == ["柳树村"]
    assert "|" not in driver.find_element(By.ID, "log").text
    driver.save_screenshot(str(shot))
    assert_in_sight(driver)


def screen(driver: WebDriver, width: int, height: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 800},
    )


def open_chat(driver: WebDriver, url: str, person: str, chat: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver.get(url)
    until(
        driver,
        lambda: (
            len(driver.find_elements(By.CSS_SELECTOR, f"#person option[value='{person}']")) == 1
            and len(driver.find_elements(By.CSS_SELECTOR, f"#chat option[value='{chat}']")) == 1
        ),
        "the people and chats to pick from",
    )
    Select(driver.find_element(By.ID, "person")).select_by_value(person)
    Select(driver.find_element(By.ID, "chat")).select_by_value(chat)


def newest(driver: WebDriver) -> str:
    """The words of the newest message in the log ("" while there is none)."""
    text: str = driver.execute_script(
        "const m = document.querySelector('#log .msg:last-child .bubble');"
        "return m ? m.textContent : '';"
    )
    return text


def pictures_loaded(driver: WebDriver) -> int:
    """How many pictures the log shows, loaded (a broken one fails at once)."""
    shown: list[list[Any]] = driver.execute_script(PICTURES)
    broken = [src for src, complete, width in shown if complete and width == 0]
    assert not broken, f"pictures that did not load: {broken}"
    return sum(1 for _, complete, width in shown if complete and width > 0)


def assert_in_sight(driver: WebDriver) -> None:
    """The message box, 发送 and the newest message are inside the screen."""
    from selenium.webdriver.common.by import By

    height, width = driver.execute_script("return [window.innerHeight, window.innerWidth]")
    screen_box = (0, height, 0, width)
    send = driver.find_element(By.ID, "send")
    assert send.text == "发送"
    for element in (driver.find_element(By.ID, "text"), send):
        assert inside(driver.execute_script(BOX, element), screen_box), element.get_attribute("id")
    log = driver.execute_script(BOX, driver.find_element(By.ID, "log"))
    newest_box = driver.execute_script(
        BOX, driver.find_element(By.CSS_SELECTOR, "#log .msg:last-child")
    )
    assert inside(newest_box, log), (newest_box, log)
    assert inside(newest_box, screen_box), (newest_box, screen_box)


def inside(box: list[float], frame: tuple[float, ...] | list[float]) -> bool:
    """Whether a (top, bottom, left, right) box lies within a frame (a pixel of slack)."""
    top, bottom, left, right = box
    return (
        top >= frame[0] - 1
        and bottom <= frame[1] + 1
        and left >= frame[2] - 1
        and right <= frame[3] + 1
    )


def until(driver: WebDriver, condition: Any, what: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, WAIT, poll_frequency=0.1).until(
        lambda _: condition(), message=f"waiting for {what}"
    )


def assert_banner(driver: WebDriver) -> None:
    """The page says, in sight, that it is a simulator: and, as this instance has real
    channels with allow_real_pushes, that its notices go out for real."""
    from selenium.webdriver.common.by import By

    banner = driver.find_element(By.ID, "banner")
    assert banner.is_displayed()
    assert banner.text.startswith("这是模拟器")
    assert "这里发的通知会真的发出去" in banner.text
    assert "不会发到真实的群" not in banner.text  # the other variant is hidden
    height, width = driver.execute_script("return [window.innerHeight, window.innerWidth]")
    assert inside(driver.execute_script(BOX, banner), (0, height, 0, width))


async def test_with_a_token_the_page_asks_for_it_once_and_keeps_it(
    tmp_path: Path, aiohttp_server: Any, browser: WebDriver
) -> None:
    url, _ = await start_server(tmp_path, aiohttp_server, token=SIM_TOKEN)
    await asyncio.to_thread(token_once, browser, url)


def token_once(driver: WebDriver, url: str) -> None:
    from selenium.webdriver.common.by import By

    screen(driver, 390, 844)
    driver.get(url)
    login = driver.find_element(By.ID, "login")
    until(driver, login.is_displayed, "the question for the token")
    assert "请输入模拟器口令" in login.text
    assert driver.find_elements(By.CSS_SELECTOR, "#person option") == []  # nothing shown yet
    driver.find_element(By.ID, "token").send_keys("not-the-token\n")
    until(
        driver,
        lambda: "口令不对" in driver.find_element(By.ID, "login-error").text,
        "the wrong token refused",
    )
    driver.find_element(By.ID, "token").send_keys(SIM_TOKEN + "\n")
    until(driver, lambda: not login.is_displayed(), "the question gone")
    open_chat(driver, url, "sim-P1", "dm")  # a reload: the token is kept, not asked again
    assert not driver.find_element(By.ID, "login").is_displayed()
    driver.find_element(By.ID, "text").send_keys("帮助")
    driver.find_element(By.ID, "send").click()
    menu = ZH.t("help.title.villager", name="王秀英")
    until(driver, lambda: newest(driver).startswith(menu), "the menu, in answer")
    assert driver.find_element(By.ID, "status").text == ""
