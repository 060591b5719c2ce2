"""The console at a desk (1280 px) and on a phone (390 px), in Debian's headless Chromium:
every page fits the screen, the menu collapses, tables become cards; operators make changes
in their own words and see the effect (SQLite; the services are tested on both backends
elsewhere). Screenshots go to $WX_MEMBER_SCREENSHOTS when set (scripts/test installs a CJK
font, so they show Chinese)."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from api_helpers import ApiClient, api_config, member_id, mini_sandbox  # noqa: F401
from browser_helpers import (add_gift, app, browser, console_page, fits, go, login,  # noqa: F401
                             page, make_channel, require_chromium, shot, wait_until, width)
from conftest import serve
from console_helpers import add_operator
from helpers import balance_and_sum, member

from wx_member.clock import utcnow
from wx_member.console import member_admin
from wx_member.models import Channel
from wx_member.payments import orders
from wx_member.wechat.pay import PaymentNotice

require_chromium()


def test_every_page_fits_the_screen(page, app, width):
    add_operator(app, "root", "admin")
    app.simulator().subscribe("oWide")
    m = member(app, "oWide")
    login(page, app, "root")
    for path in ("", "members", f"members/{m.id}", "members/import", "channels", "menu",
                 "rules", "campaigns", "campaigns/new", "mass", "audit", "operators", "coupons", "gifts",
                 "jobs", "stored-value", "earn-rules", "stores", "tiers", "calendar", "benefits",
                 "tag-rules", "memberships", "no-such-page"):
        page.goto(app.url + "admin/" + path)
        fits(page, width)
        assert page.locator("#zone").count() == (0 if path == "no-such-page" else 1)
        assert ("页面不存在" in page.content()) == (path == "no-such-page")
        shot(page, (path or "dashboard").replace("/", "-"), width)
    if width < 700:  # a table is a list of cards, each value named by its column
        page.goto(app.url + "admin/members")
        cell = page.locator("#members tbody td").first
        assert cell.get_attribute("data-label") == "卡号"
        assert page.locator("#members thead").is_hidden()
        page.goto(app.url + "admin/")
        font = page.evaluate("""() => { const t = document.querySelector('figure.chart svg text');
            return t.getBoundingClientRect().height; }""")
        assert font >= 8  # chart text legible (it was ~4 px)
        reach = page.evaluate("""() => Math.min(...[...document.querySelectorAll(
            '#reach-time svg text')].map(t => t.getBoundingClientRect().height))""")
        assert reach >= 8  # the reach trend too: at its own size, scrolled sideways


def test_operator_adjusts_points_with_confirmation_and_reads_the_record(page, app, width):
    add_operator(app, "ops", "operator")
    app.simulator().subscribe("oDesk")
    card = member(app, "oDesk").card_no
    login(page, app, "ops")
    go(page, width, "会员")
    page.get_by_label("搜索").fill(card[-5:])  # part of the card number
    page.get_by_role("button", name="搜索").click()
    page.get_by_role("link", name=card).click()
    page.get_by_label("调整积分（负数为扣减）").fill("5000")
    page.get_by_label("原因（必填）").fill("年度大客户补偿")
    page.get_by_role("button", name="确认调整").click()
    page.get_by_text("积分已调整。").wait_for()
    assert any("调整幅度较大" in d for d in page.dialogs)
    assert balance_and_sum(app, "oDesk") == (5010, 5010)
    record = page.locator("#member-audit").inner_text()
    assert "积分：10 → 5010" in record and "原因：年度大客户补偿" in record
    fits(page, width)
    shot(page, "member-adjusted", width)


def test_operator_makes_a_channel_code_for_a_store_named_in_chinese(page, app, sandbox, width):
    add_operator(app, "ops", "operator")
    login(page, app, "ops")
    scene = make_channel(page, width, "南京东路店", "store")
    with app.session() as s, s.read():
        channel = s.query(Channel).one()
    assert (channel.name, channel.scene) == ("南京东路店", scene)
    assert sandbox.sent("qrcode")[0]["request"]["action_info"]["scene"]["scene_str"] == channel.scene
    assert "南京东路店" in page.locator("#channels").inner_text()
    fits(page, width)
    shot(page, "channels", width)
    page.locator("#channels").get_by_role("link", name="查看").click()
    page.locator("#qr img").wait_for()
    # The PNG shows: wait for the image to load (an <img> in the DOM may still be fetching),
    # then check it decoded; a broken image ends loading with a natural width of 0.
    wait_until(page, "() => document.querySelector('#qr img').complete")
    assert page.evaluate("document.querySelector('#qr img').naturalWidth") > 0
    assert "微信扫码关注，即成为会员" in page.locator("#qr figcaption").inner_text()
    page.get_by_label("渠道名称").fill("南京东路旗舰店")
    page.get_by_role("button", name="保存").click()
    page.get_by_text("渠道码已修改").wait_for()
    assert "南京东路旗舰店" in page.locator("#qr figcaption").inner_text()
    fits(page, width)
    shot(page, "channel", width)


@pytest.fixture
def mini_app(tmp_path, mini_sandbox):
    config = api_config(f"sqlite:///{tmp_path / 'mini.db'}", mini_sandbox, cookie_secure=False)
    yield from serve(config)


def test_a_new_coupon_template_is_issued_and_shows_in_the_mini_program(browser, mini_app,
                                                                       mini_sandbox, width):
    api = ApiClient(mini_app, mini_sandbox)
    me = api.login("oMiniCoupon")  # a member of the mini-program
    add_operator(mini_app, "ops", "operator")
    with console_page(browser, width) as page:
        asked = page.dialogs
        login(page, mini_app, "ops")
        go(page, width, "优惠券")
        page.get_by_label("券名称").fill("周年庆满100减15")
        page.get_by_label("券类型").select_option(label="满减")
        page.get_by_label("使用门槛（元）").fill("100")
        page.get_by_label("减免金额（元）").fill("15")
        page.get_by_label("有效天数").fill("30")
        page.get_by_role("button", name="创建券模板").click()
        page.get_by_text("券模板「周年庆满100减15」（满100减15）已创建").wait_for()
        page.get_by_label("发券会员").fill(me.card_no)
        page.get_by_label("发放的券").select_option(label="周年庆满100减15（满100减15）")
        page.get_by_label("发券原因").fill("周年庆")
        page.get_by_role("button", name="发券").click()
        page.get_by_text(re.compile("已发券，券码")).wait_for()
        row = page.locator("#coupon-templates tbody tr", has_text="周年庆满100减15")
        assert row.locator("td.stock").inner_text().startswith("1 /")  # 已发 / 限量
        fits(page, width)
        shot(page, "coupons", width)
        coupons = api.get("me/coupons", me).json()["coupons"]
        assert "满100减15" in [c.get("text") for c in coupons], coupons
        row.get_by_role("button", name="停止发放").click()
        page.get_by_text("已停止发放；已发出的券在有效期内仍可使用").wait_for()
        assert any("已发出 1 张未使用的券" in a for a in asked)


def test_a_gift_redeemed_at_the_desk_shows_in_the_mini_program(browser, mini_app, mini_sandbox,
                                                               width):
    api = ApiClient(mini_app, mini_sandbox)
    me = api.login("oMiniGift")
    with mini_app.session() as s:
        member_admin.adjust_points(s, member_id(mini_app, me.card_no), 90, "迁移", "g" * 16, "test")
    add_operator(mini_app, "ops", "operator")
    with console_page(browser, width) as page:
        login(page, mini_app, "ops")
        add_gift(page, width, "帆布袋", 60, 3)
        assert "帆布袋" in [gift["name"] for gift in api.get("gifts", me).json()["gifts"]]
        page.get_by_label("兑换会员").fill(me.card_no)
        page.get_by_label("兑换礼品").select_option(label="帆布袋（60 积分，剩 3）")
        page.get_by_role("button", name="兑换并扣积分").click()
        page.get_by_text(f"已为会员 {me.card_no} 兑换，扣除 60 积分").wait_for()
        assert "2" == page.locator("#gifts tbody tr", has_text="帆布袋").locator("td").nth(3).inner_text()
        fits(page, width)
        shot(page, "gifts", width)
        assert api.get("me/card", me).json()["points"] == 40


def test_operator_puts_a_double_points_day_on_the_calendar(page, app, width):
    add_operator(app, "ops", "operator")
    app.simulator().subscribe("oCal")
    today = datetime.now(app.config.tz).date()
    login(page, app, "ops")
    go(page, width, "积分活动")
    page.get_by_label("活动名称").fill("双倍积分日")
    page.get_by_label("积分倍率（%）").fill("200")
    page.get_by_label("开始日期").fill(str(today))
    page.get_by_role("button", name="新增活动").click()
    page.get_by_text(f"积分活动「双倍积分日」已生效：{today} 积分 ×2").wait_for()
    assert "×2" in page.locator(f"#day-{today}").inner_text()
    fits(page, width)
    shot(page, "earn-rules", width)
    with app.session() as s:
        orders.record_payment(s, PaymentNotice("v2", "T-cal", "wxc", "oCal", 2000,
                                               utcnow(), True), tz=app.config.tz)
    assert balance_and_sum(app, "oCal") == (50, 50)  # sign-up 10 + ¥20 × 2
