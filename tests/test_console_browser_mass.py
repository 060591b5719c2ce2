"""群发 at a desk (1280 px) and on a phone (390 px), in Debian's headless Chromium: an
operator syncs the tags to WeChat, picks a tag (the send's name follows it), writes a text,
is asked before it goes out with the tag and its members named (cancelled: nothing sent;
confirmed: one sendall), and reads the send in the history, then WeChat's report. The page
fits the screen."""
from __future__ import annotations

from browser_helpers import (app, browser, console_page, fits, go, login,  # noqa: F401
                             require_chromium, shot, width)
from console_helpers import add_operator
from test_console_mass import followers_tagged
from wx_member.clock import local_now

require_chromium()


def test_an_operator_syncs_sends_to_a_tag_after_the_question_and_reads_the_history(
        browser, app, sandbox, width):
    add_operator(app, "ops", "operator")
    followers_tagged(app, "VIP", ["oVipA", "oVipB"])
    followers_tagged(app, "新客", ["oNew"])
    sandbox.reach.report_to(app.webhook, app.config.token, app.config.appid)
    with console_page(browser, width, answers=[False, True]) as page:  # cancel, then OK
        login(page, app, "ops")
        go(page, width, "群发")
        assert "请先同步标签到微信" in page.content()
        page.get_by_role("button", name="同步标签到微信").click()
        page.get_by_text("已同步到微信：新建标签 11 个").wait_for()
        assert "新客" in page.locator("#wechat-tags").inner_text()
        fits(page, width)

        name = page.get_by_label("群发名称")
        page.get_by_label("群发标签").select_option("新客")
        today = local_now(app.config.tz).strftime("%Y-%m-%d")
        assert name.input_value() == f"群发-{today}-新客"  # the local day and the tag
        page.get_by_label("群发标签").select_option("VIP")
        assert name.input_value() == f"群发-{today}-VIP"
        page.get_by_label("群发文字").fill("周六会员日，全场 8 折")
        page.get_by_role("button", name="群发", exact=True).click()  # cancelled
        page.wait_for_timeout(300)
        assert sandbox.sent("mass") == [] and "还没有群发" in page.content()
        page.get_by_role("button", name="群发", exact=True).click()  # confirmed
        page.get_by_text("已向标签「VIP」群发").wait_for()
        assert len(page.dialogs) == 2
        assert all(d.startswith("确认向标签「VIP」的 2 位会员群发？") for d in page.dialogs)
        [sent] = sandbox.sent("mass")
        assert sent["request"]["text"] == {"content": "周六会员日，全场 8 折"}
        row = page.locator("#mass-history tbody tr").first.inner_text()
        assert "标签「VIP」" in row and "已提交微信" in row and str(sent["msgid"]) in row
        fits(page, width)
        shot(page, "mass", width)

        assert sandbox.reach.flush_reports() == 1  # WeChat's MASSSENDJOBFINISH
        go(page, width, "群发")
        row = page.locator("#mass-history tbody tr").first.inner_text()
        assert "微信已发完" in row and "共 2，过滤 0，成功 2，失败 0" in row
        fits(page, width)
