"""A member's name, a stored-value correction and an import by phone at a desk (1280 px)
and on a phone (390 px), in Debian's headless Chromium (the pattern of
test_console_browser_phone.py): an operator names a member and finds them by part of the
name; corrects stored value in yuan, confirming a large correction, refused below zero;
uploads a shop's paper list and finds its member with their opening balances; an admin
refunds part of a recharge typed in yuan; an operator merges a likely duplicate (可能重复的会员)
with one click on the member's page; 挂失并补卡 asks first. Each page fits the screen."""
from __future__ import annotations

import re

from sqlalchemy import func, select, update

from api_helpers import ApiClient
from browser_helpers import (app, browser, console_page, fits, go, login, page,  # noqa: F401
                             require_chromium, shot, width)
from console_helpers import add_operator
from helpers import member
from test_recharge_refunds import paid_recharge
from wx_member.members import member_import
from wx_member.models import CardHistory, Member, RechargeRefund
from wxpay_helpers import console_shop, merchant_cert, mini_sandbox  # noqa: F401  (fixtures)

require_chromium()


def _open(page, width, query: str, card: str) -> None:
    go(page, width, "会员")
    page.get_by_label("搜索").fill(query)
    page.get_by_role("button", name="搜索").click()
    page.get_by_role("link", name=card).click()
    page.wait_for_url(re.compile(r"/admin/members/\d+$"), wait_until="load")  # all of it


def test_an_operator_names_a_member_and_finds_them_by_it(page, app, width):
    add_operator(app, "ops", "operator")
    app.simulator().subscribe("oNamed")
    card = member(app, "oNamed").card_no
    login(page, app, "ops")
    _open(page, width, card[-5:], card)
    page.get_by_label("姓名", exact=True).fill("Wang Xiaoming 王小明")
    page.get_by_role("button", name="保存姓名").click()
    page.get_by_text("姓名已保存。").wait_for()
    assert page.locator("#member-name").inner_text() == "Wang Xiaoming 王小明"
    assert "修改姓名" in page.locator("#member-audit").inner_text()
    fits(page, width)
    shot(page, "member-name", width)
    go(page, width, "会员")
    page.get_by_label("搜索").fill("xiaoMING")  # part of it, any case
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url(re.compile(r"q=xiaoMING"), wait_until="load")  # the answer, not the list
    rows = page.locator("#members tbody tr")
    assert rows.count() == 1 and card in rows.first.inner_text()
    assert "Wang Xiaoming 王小明" in rows.first.inner_text()
    fits(page, width)


def test_an_operator_corrects_stored_value_confirming_a_large_amount(page, app, width):
    add_operator(app, "ops", "operator")
    app.simulator().subscribe("oValue")
    card = member(app, "oValue").card_no
    login(page, app, "ops")
    _open(page, width, card, card)
    form = page.locator("#balance-correction")
    form.get_by_label("更正金额（元，负数为扣减）").fill("600")
    form.get_by_label("更正理由（必填）").fill("旧系统余额补录")
    form.get_by_role("button", name="确认更正").click()
    page.get_by_text("储值已更正 +600.00 元。").wait_for()
    assert any("调整幅度较大（600 元）" in d for d in page.dialogs)
    assert page.locator("#balance").inner_text() == "¥600.00"
    form = page.locator("#balance-correction")
    form.get_by_label("更正金额（元，负数为扣减）").fill("-12.5")
    form.get_by_label("更正理由（必填）").fill("多记")
    form.get_by_role("button", name="确认更正").click()
    page.get_by_text("储值已更正 -12.50 元。").wait_for()
    assert len(page.dialogs) == 1  # a small correction asks nothing
    form = page.locator("#balance-correction")
    form.get_by_label("更正金额（元，负数为扣减）").fill("-600")
    form.get_by_label("更正理由（必填）").fill("清零")
    form.get_by_role("button", name="确认更正").click()
    page.get_by_text("储值余额只有 587.50 元，不能扣减 600.00 元：余额不能低于零。").wait_for()
    assert page.locator("#balance").inner_text() == "¥587.50"
    record = page.locator("#member-audit").inner_text()
    assert "储值：0.00 元 → 600.00 元" in record and "原因：旧系统余额补录" in record
    fits(page, width)
    shot(page, "member-balance", width)


def test_a_paper_member_list_is_imported_by_phone(page, app, width, tmp_path):
    add_operator(app, "ops", "operator")
    paper = tmp_path / "paper.csv"
    paper.write_text("手机号,姓名,积分,储值（元）\n13900007777,李纸卡,150,20.00\n",
                     encoding="utf-8-sig")
    login(page, app, "ops")
    go(page, width, "会员")
    page.get_by_role("link", name="导入会员（CSV）").click()
    page.get_by_label("CSV 文件").set_input_files(str(paper))
    page.get_by_role("button", name="导入").click()
    page.get_by_text("新建会员 1").wait_for()
    assert "原有积分 150" in page.locator("#import-result").inner_text()
    fits(page, width)
    shot(page, "member-import-phone", width)
    with app.session() as s, s.read():
        card = s.scalar(select(Member.card_no).where(Member.phone == "13900007777"))
    _open(page, width, "李纸", card)
    assert page.locator("#points").inner_text() == "150"
    assert page.locator("#balance").inner_text() == "¥20.00"
    fits(page, width)


def test_a_likely_duplicate_is_merged_from_the_member_page(page, app, width):
    add_operator(app, "ops", "operator")
    with app.session() as uow:
        member_import.import_file(uow, "手机号,姓名,积分\n13900008888,赵纸卡,80\n".encode(),
                                  by="test")
    app.simulator().subscribe("oDup")
    keep = member(app, "oDup")
    with app.session() as s, s.begin():
        paper = s.scalar(select(Member.card_no).where(Member.phone == "13900008888"))
        s.execute(update(Member).where(Member.id == keep.id).values(phone="13900008888"))
    login(page, app, "ops")
    _open(page, width, keep.card_no, keep.card_no)
    points = int(page.locator("#points").inner_text())
    row = page.locator("#duplicates tbody tr")
    assert row.count() == 1
    assert all(t in row.inner_text() for t in (paper, "赵纸卡", "13900008888", "同手机号"))
    assert page.locator("#duplicates thead").is_visible() == (width > 700)  # cards on a phone
    fits(page, width)
    shot(page, "member-duplicates", width)
    row.get_by_role("button", name="合并到本会员").click()
    page.get_by_text(re.compile(r"已合并：积分 80")).wait_for()
    assert any(paper in d and "并入本会员" in d for d in page.dialogs)
    assert page.locator("#points").inner_text() == str(points + 80)
    assert page.get_by_text("没有找到可能重复的会员").is_visible()
    assert page.locator("#duplicates").count() == 0
    fits(page, width)


def test_an_admin_refunds_part_of_a_recharge_typed_in_yuan(browser, console_shop, mini_sandbox,
                                                           width):
    shop = ApiClient(console_shop, mini_sandbox)
    me = shop.login("oMiniRefund")
    no = paid_recharge(shop, mini_sandbox, me, 50000)  # 充500送50
    add_operator(console_shop, "root", "admin")
    with console_shop.session() as s, s.read():
        member_id = s.scalar(select(Member.id).where(Member.mini_openid == "oMiniRefund"))
    with console_page(browser, width) as page:
        asked = page.dialogs
        login(page, console_shop, "root")
        page.goto(console_shop.url + f"admin/members/{member_id}")
        form = page.locator("#recharge-refund")
        form.get_by_label("退款的充值").select_option(no)
        form.get_by_label("退款金额（元，留空为全部可退）").fill("12.505")
        form.get_by_role("button", name="储值原路退款").click()
        page.get_by_text("请按元填写金额（如 200 或 199.90，最多两位小数）。").wait_for()
        form = page.locator("#recharge-refund")
        form.get_by_label("退款的充值").select_option(no)
        form.get_by_label("退款金额（元，留空为全部可退）").fill("12.50")
        form.get_by_role("button", name="储值原路退款").click()
        page.get_by_text(re.compile(r"已申请退款 12\.50 元")).wait_for()
        assert any("确认把所选充值原路退回会员的微信" in a for a in asked)
        fits(page, width)
        shot(page, "member-recharge-refund", width)
        with console_shop.session() as s, s.read():
            assert s.scalar(select(RechargeRefund.amount_fen)
                            .where(RechargeRefund.out_trade_no == no)) == 1250


def test_reporting_a_card_lost_asks_first_and_cancelling_keeps_the_card(browser, app, width):
    """挂失并补卡 asks before it blocks the card (the console's CSP refuses inline handlers:
    the question is admin.js's data-confirm): cancelled, nothing happens; confirmed, the
    card is replaced once."""
    add_operator(app, "ops", "operator")
    app.simulator().subscribe("oLostCard")
    before = member(app, "oLostCard")
    with console_page(browser, width, answers=[False, True]) as page:  # cancel, then OK
        asked = page.dialogs
        login(page, app, "ops")
        page.goto(app.url + f"admin/members/{before.id}")
        page.get_by_role("button", name="挂失并补卡").click()
        page.get_by_role("button", name="挂失并补卡").click()
        page.get_by_text(re.compile(rf"卡号 {before.card_no} 已挂失，新卡号 \d+")).wait_for()
        assert len(asked) == 2 and all("挂失后原卡号立即停用" in a for a in asked)
        fits(page, width)
    assert member(app, "oLostCard").card_no != before.card_no
    with app.session() as s, s.read():  # replaced once: the cancelled question posted nothing
        assert s.scalar(select(func.count()).select_from(CardHistory)
                        .where(CardHistory.member_id == before.id)) == 1


def test_no_button_can_be_pressed_before_the_script_that_asks_is_there(browser, app, width):
    """On a slow connection the page's buttons must not be usable before admin.js (which
    asks before 挂失, merging, voiding…) has run: the script is in <head>, so the page
    stops there until it has it. Here admin.js is held back: no button is on the page
    meanwhile; once it arrives, 挂失并补卡 asks, and cancelling leaves the card alone."""
    add_operator(app, "ops", "operator")
    app.simulator().subscribe("oSlowPhone")
    before = member(app, "oSlowPhone")
    with console_page(browser, width, answers=[False]) as page:  # the question cancelled
        asked = page.dialogs
        login(page, app, "ops")
        held = []
        page.route("**/admin/static/admin.js", lambda route: held.append(route))
        page.goto(app.url + f"admin/members/{before.id}", wait_until="commit")
        page.wait_for_timeout(1000)  # the page as far as the browser renders it meanwhile
        assert held, "the page asked for admin.js"
        assert page.get_by_role("button", name="挂失并补卡").count() == 0
        for route in held:
            route.continue_()
        page.get_by_role("button", name="挂失并补卡").click()
        page.wait_for_load_state("load")
        assert len(asked) == 1 and "挂失后原卡号立即停用" in asked[0]
    assert member(app, "oSlowPhone").card_no == before.card_no
