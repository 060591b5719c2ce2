"""What the console's browser tests share: Debian's headless Chromium driven by Playwright
(never Playwright's own download), one browser per test module, the app on a fresh SQLite
database, and (for the tests at two widths) a page per width with confirm() dialogs
accepted and recorded, logging in, the navigation, the no-sideways-scroll check and
screenshots to $WX_MEMBER_SCREENSHOTS. A test module calls `require_chromium()` at import
and imports the fixtures it uses."""
from __future__ import annotations

import os
import re
import secrets
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from conftest import make_config, serve
from console_helpers import PASSWORD

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDTHS = [1280, 390]  # a desk and a phone


def require_chromium() -> None:
    """Skip the calling module without Chromium, or fail when scripts/test requires it."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("WX_MEMBER_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} missing (scripts/test installs it)", pytrace=False)
        pytest.skip(f"{CHROMIUM} not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def app(tmp_path, sandbox):
    config = make_config(f"sqlite:///{tmp_path / 'browser.db'}", sandbox,
                         secret_key=secrets.token_hex(32), cookie_secure=False)
    yield from serve(config)


@pytest.fixture(params=WIDTHS, ids=lambda w: f"{w}px")
def width(request):
    return request.param


@contextmanager
def console_page(browser, width: int, answers=None):
    """A page of its own at `width`, in Chinese, whose confirm() questions are recorded in
    `page.dialogs` and answered from `answers` in turn (True: OK), or all with OK."""
    context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 860})
    page = context.new_page()
    page.dialogs = []
    answers = list(answers) if answers is not None else None

    def answer(dialog):
        page.dialogs.append(dialog.message)
        dialog.accept() if answers is None or answers.pop(0) else dialog.dismiss()

    page.on("dialog", answer)
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def page(browser, app, width):
    with console_page(browser, width) as page:  # every question accepted
        yield page


def shot(page, name: str, width: int) -> None:
    folder = os.environ.get("WX_MEMBER_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}-{width}.png"), full_page=True)


def login(page, app, username):
    page.goto(app.url + "admin/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/admin/$"))


def go(page, width, name):
    """Follow a link in the navigation, opening the phone's 菜单 first, and wait for the
    page it leads to to have loaded."""
    if width < 700:
        assert not page.get_by_role("link", name="审计日志").is_visible()  # collapsed
        page.locator(".nav-button").click()
    link = page.locator("header nav").get_by_role("link", name=name, exact=True)
    href = link.get_attribute("href")
    link.click()
    # The click returns before the next page has loaded: a check made then can see the
    # new page's elements without its stylesheet (a full run once saw a table's header
    # still shown at 390 px).
    page.wait_for_url("**" + href, wait_until="load")


def make_channel(page, width, name: str, kind: str) -> str:
    """As an operator: a channel code named `name` of `kind` made on 渠道码; its scene."""
    go(page, width, "渠道码")
    page.get_by_label("名称").fill(name)
    page.get_by_label("类型").select_option(kind)
    page.get_by_role("button", name="生成二维码").click()
    made = re.compile(rf"渠道码 ({kind}_[0-9a-f]{{6}}) 已创建。")
    page.get_by_text(made).wait_for()
    return made.search(page.get_by_text(made).inner_text()).group(1)


def wait_until(page, script: str, timeout: float = 10.0):
    """Poll `script` (a JS function) from here until it returns something truthy, and
    return that. Not `page.wait_for_function`: it polls by evaluating a string inside the
    page, which the console's Content-Security-Policy (no 'unsafe-eval') refuses whenever
    the first check is not already true."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(script)
        if value or time.monotonic() > deadline:
            assert value, f"never true within {timeout} s: {script}"
            return value
        page.wait_for_timeout(50)


def add_gift(page, width, name: str, points: int, stock: int) -> None:
    """As an operator: gift `name` put on the 积分兑换 shelf."""
    go(page, width, "积分兑换")
    page.get_by_label("礼品名称").fill(name)
    page.get_by_label("所需积分").fill(str(points))
    page.get_by_label("库存", exact=True).fill(str(stock))
    page.get_by_role("button", name="上架", exact=True).click()
    page.get_by_text(f"礼品「{name}」已上架").wait_for()


def fits(page, width) -> None:
    """Nothing wider than the screen: no sideways scrolling of the page."""
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url
