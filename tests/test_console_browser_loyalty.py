"""会员等级 and gift pictures in Debian's headless Chromium at a desk (1280 px) and on a
phone (390 px): an admin moves 银卡's threshold in yuan (a slip under ¥10 is asked about
first) and a member's next WeChat Pay notify moves them; an operator uploads a gift's
picture, sees it drawn in the list and in the mini-program catalogue, and a file that is
not a picture is refused in Chinese. Screenshots go to $WX_MEMBER_SCREENSHOTS when set."""
from __future__ import annotations

import secrets

import pytest

from api_helpers import ApiClient, api_config, mini_sandbox  # noqa: F401
from browser_helpers import add_gift, browser, fits, go, login, page, require_chromium, shot, wait_until, width  # noqa: F401,E501
from conftest import APPID, MCH_ID, serve
from console_helpers import add_operator
from helpers import member
from image_helpers import png

from wx_member.platform import settings
from wx_member.sandbox.pay import PayNotifier

require_chromium()


@pytest.fixture
def app(tmp_path, mini_sandbox):
    """Console, mini-program API and WeChat Pay v2 notifies (SQLite)."""
    yield from serve(api_config(f"sqlite:///{tmp_path / 'loyalty.db'}", mini_sandbox,
                                cookie_secure=False, mch_id=MCH_ID,
                                pay_api_key=secrets.token_hex(16)))


def test_admin_lowers_silver_in_yuan_and_the_next_payment_moves_a_member(page, app, width):
    payer = PayNotifier(app.url, APPID, MCH_ID, api_key=app.config.pay_api_key)
    add_operator(app, "root", "admin")
    app.simulator().subscribe("oTier")
    assert payer.v2_payment("oTier", "T9001", 15000).ok  # ¥150: 普通会员
    login(page, app, "root")
    go(page, width, "会员等级")
    assert "200.00 元" in page.locator("#tier-silver").inner_text()
    form = page.locator("#tier-form-silver")
    form.get_by_label("银卡会员门槛（元）").fill("2")  # fen typed for yuan: asked first
    form.get_by_role("button", name="保存银卡会员").click()
    page.get_by_text("银卡会员门槛 2.00 元低于 10 元").wait_for()
    assert page.get_by_role("button", name="仍然保存").is_visible()
    fits(page, width)
    shot(page, "tiers-low-threshold", width)
    page.get_by_role("link", name="返回修改").click()
    with app.session() as s, s.read():
        assert settings.get(s, "tier_silver_fen") == 20000  # nothing saved
    form = page.locator("#tier-form-silver")
    form.get_by_label("银卡会员门槛（元）").fill("150")
    form.get_by_label("银卡会员生日积分").fill("30")
    form.get_by_role("button", name="保存银卡会员").click()
    page.get_by_text("银卡会员已保存（2 项修改）").wait_for()
    assert any("确认修改银卡会员" in d for d in page.dialogs)
    silver = page.locator("#tier-silver").inner_text()
    assert "150.00 元" in silver and "30 积分" in silver
    page.locator("#tier-review-form").get_by_label("降级复核").select_option(label="每年在升级周年日复核")
    page.get_by_role("button", name="保存降级复核").click()
    page.get_by_text("降级复核已保存：每年在升级周年日复核").wait_for()

    assert payer.v2_payment("oTier", "T9002", 100).ok  # the next payment: ¥151 ≥ ¥150
    assert member(app, "oTier").tier == "silver"
    page.reload()
    assert page.locator("#tier-silver td").last.inner_text() == "1"  # members holding 银卡
    changes = page.locator("#tier-changes").inner_text()
    assert "200.00 元 → 150.00 元" in changes and "不降级 → 每年在升级周年日复核" in changes
    fits(page, width)
    shot(page, "tiers", width)
    page.goto(app.url + f"admin/members/{member(app, 'oTier').id}")
    assert "银卡会员" in page.locator(".cards").inner_text()


def test_operator_uploads_a_gift_picture_and_sees_it(page, app, mini_sandbox, width):
    api = ApiClient(app, mini_sandbox)
    me = api.login("oMiniPic")
    add_operator(app, "ops", "operator")
    login(page, app, "ops")
    add_gift(page, width, "帆布袋", 60, 3)

    page.get_by_label("图片 帆布袋").set_input_files(
        {"name": "bag.txt", "mimeType": "text/plain", "buffer": b"not a picture"})
    page.get_by_role("button", name="上传图片").click()
    page.get_by_text("图片未上传：图片须为 PNG、JPEG 或 WebP 格式。").wait_for()
    assert page.locator("#gifts img.gift-thumb").count() == 0

    page.get_by_label("图片 帆布袋").set_input_files(
        {"name": "帆布袋.png", "mimeType": "image/png", "buffer": png(120, 90)})
    page.get_by_role("button", name="上传图片").click()
    page.get_by_text("图片已上传（120×90）").wait_for()
    thumb = page.locator("#gifts img.gift-thumb")
    thumb.wait_for()
    drawn = wait_until(page,  # the browser loaded and decoded it from the app
                       "() => { const i = document.querySelector('#gifts img.gift-thumb');"
                       " return i && i.complete && i.naturalWidth; }")
    assert drawn == 120
    (gift,) = api.get("gifts", me).json()["gifts"]
    assert gift["image_url"] == thumb.get_attribute("src")
    fits(page, width)
    shot(page, "gift-picture", width)
