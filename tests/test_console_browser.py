"""The console's main flows in a real browser: Debian's headless Chromium driven by
Playwright against the app served on loopback (SQLite; the services are tested on both
backends elsewhere)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from browser_helpers import app, browser, require_chromium  # noqa: F401
from console_helpers import PASSWORD, add_operator
from helpers import balance_and_sum, member

from sqlalchemy import select

from wx_member.models import Campaign, Channel
from wx_member.console import member_admin
from wx_member.platform import settings

require_chromium()


@pytest.fixture
def page(browser, app):
    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the confirm() before publishing
    page.set_default_timeout(15_000)
    yield page
    context.close()


def login(page, app, username):
    page.goto(app.url + "admin/")
    assert "/admin/login" in page.url
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(r"/admin/$"))


def test_operator_adjusts_points_creates_a_channel_and_dry_runs_a_push(page, app, sandbox):
    add_operator(app, "ops", "operator")
    app.simulator().subscribe("oBrowser")
    card = member(app, "oBrowser").card_no
    login(page, app, "ops")
    assert page.locator("#kpis").is_visible() and page.locator("svg").count() >= 1

    page.get_by_role("link", name="会员", exact=True).click()  # not 会员权益
    page.get_by_label("搜索").fill(card)
    page.get_by_role("button", name="搜索").click()
    page.get_by_role("link", name=card).click()
    page.get_by_label("调整积分（负数为扣减）").fill("15")
    page.get_by_label("原因（必填）").fill("门店活动补发")
    page.get_by_role("button", name="确认调整").click()
    page.get_by_text("积分已调整。").wait_for()
    assert page.locator("#points").inner_text() == "25"
    assert balance_and_sum(app, "oBrowser") == (25, 25)

    page.get_by_role("link", name="渠道码").click()
    page.get_by_label("场景值").fill("poster_winter")
    page.get_by_label("名称").fill("冬季海报")
    page.get_by_label("类型").select_option("poster")
    page.get_by_role("button", name="生成二维码").click()
    page.get_by_text("渠道码 poster_winter 已创建。").wait_for()
    with page.expect_download() as download:
        page.locator("#channels").get_by_role("link", name="下载").click()
    assert Path(download.value.path()).read_bytes().startswith(b"\x89PNG")
    with app.session() as s, s.read():
        assert s.query(Channel).filter_by(scene="poster_winter", kind="poster").count() == 1
    with app.session() as s:
        settings.change(s, "quiet_start_hour", 0, "test")  # no quiet hours: clock-independent
        settings.change(s, "quiet_end_hour", 0, "test")

    sandbox.interact("oBrowser")  # inside WeChat's 48-hour window for a custom message
    page.get_by_role("link", name="活动", exact=True).click()  # not 积分活动
    page.get_by_role("link", name="节日祝福").click()
    page.get_by_label("测试 openid").fill(card)  # the member picked by card number
    page.get_by_role("button", name="试发给测试对象").click()
    page.get_by_text(re.compile("试发 1 条")).wait_for()
    assert [m["request"]["touser"] for m in sandbox.sent("custom")] == ["oBrowser"]


def test_admin_edits_previews_and_publishes_a_menu(page, app, sandbox):
    add_operator(app, "root", "admin")
    login(page, app, "root")
    page.get_by_role("link", name="自定义菜单").click()
    page.get_by_label("一级菜单 1 名称").fill("签到")
    page.get_by_label("b0 类型").select_option("click")
    page.get_by_label("b0 key 或网址").fill("CHECKIN")
    page.get_by_label("一级菜单 2 名称").fill("我的")
    page.get_by_label("b1 类型").select_option("sub")
    page.locator("fieldset").nth(1).locator("summary").click()  # open its sub-buttons
    page.get_by_label("一级菜单 2 子菜单 1 名称").fill("查积分")
    page.get_by_label("b1s0 类型").select_option("click")
    page.get_by_label("b1s0 key 或网址").fill("POINTS")
    page.get_by_role("button", name="检查并预览").click()
    assert "查积分" in page.locator("#preview").inner_text()
    assert sandbox.sent("menu") == []
    page.get_by_role("button", name="发布到微信").click()
    page.get_by_text("菜单已发布到微信").wait_for()
    assert sandbox.menu == {"button": [
        {"type": "click", "name": "签到", "key": "CHECKIN"},
        {"name": "我的", "sub_button": [{"type": "click", "name": "查积分", "key": "POINTS"}]}]}


def test_operator_schedules_a_segment_campaign(page, app, sandbox):
    add_operator(app, "ops", "operator")
    app.simulator().subscribe("oVip")
    with app.session() as s:
        member_admin.add_tag(s, member(app, "oVip").id, "VIP", "test")
    when = (datetime.now(app.config.tz) + timedelta(days=3)).replace(hour=10, minute=0, second=0,
                                                                      microsecond=0)
    login(page, app, "ops")
    page.get_by_role("link", name="活动", exact=True).click()
    page.get_by_role("link", name="新建分群活动").click()
    page.get_by_label("活动名称").fill("VIP 会员日")
    page.get_by_label("标签").select_option("VIP")
    page.get_by_label("推送类型").select_option("campaign")
    page.get_by_label("活动文案").fill("本周六会员日，全场饮品8折。")
    page.get_by_label("优惠券").select_option("2")
    page.get_by_role("button", name="预览").click()
    assert "标签「VIP」，当前 1 人" in page.locator("#preview-summary").inner_text()
    assert "送您一张优惠券：满50减10" in page.locator("#preview-body").inner_text()
    page.get_by_label("发送时间").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("button", name="定时发送").click()  # confirm() accepted by the fixture
    page.get_by_text("活动「VIP 会员日」已创建").wait_for()
    assert page.locator("#status").inner_text() == "待发送"
    page.get_by_role("link", name="返回活动列表").click()
    row = page.locator("#campaigns tbody tr").first
    assert "VIP 会员日" in row.inner_text() and "待发送" in row.inner_text()
    assert when.strftime("%Y-%m-%d 10:00") in row.inner_text()
    with app.session() as s, s.read():
        c = s.scalars(select(Campaign)).one()
        assert (c.segment, c.kind, c.coupon_template_id) == ({"tag": "VIP"}, "campaign", 2)
        assert c.scheduled_at == when.astimezone(timezone.utc).replace(tzinfo=None)
