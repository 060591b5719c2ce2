"""The coupon template form with a store and a limit, at a desk (1280 px) and on a phone
(390 px), in Debian's headless Chromium: the operator picks the store by name and types the
total, the list says where the coupon can be used and how many of the limit are left, the
limit is changed in the row; the page fits the screen, its table as cards on the phone."""
from __future__ import annotations

from browser_helpers import (app, browser, fits, go, login, page, require_chromium,  # noqa: F401
                             shot, width)
from console_helpers import add_operator
from till_helpers import open_store

from wx_member.models import CouponTemplate

require_chromium()


def test_an_operator_makes_a_store_template_with_a_limit(page, app, width):
    add_operator(app, "ops", "operator")
    open_store(app, "SH001", "人民广场店")
    open_store(app, "BJ001", "国贸店")
    login(page, app, "ops")
    go(page, width, "优惠券")
    page.get_by_label("券名称").fill("人广店开业券")
    page.get_by_label("券类型").select_option(label="满减")
    page.get_by_label("使用门槛（元）").fill("50")
    page.get_by_label("减免金额（元）").fill("12")
    page.get_by_label("有效天数").fill("14")
    page.get_by_label("发放总量", exact=True).fill("200")
    page.get_by_label("适用门店 人民广场店").check()
    fits(page, width)
    page.get_by_role("button", name="创建券模板").click()
    page.get_by_text("券模板「人广店开业券」（满50减12）已创建").wait_for()
    row = page.locator("#coupon-templates tbody tr", has_text="人广店开业券")
    assert row.locator("td.stores").inner_text().endswith("限人民广场店使用")
    assert row.locator("td.stock").inner_text().endswith("0 / 200")
    assert row.locator("td.remaining").inner_text().endswith("200")
    if width < 700:  # a card: each value named by its column
        assert row.locator("td.stores").get_attribute("data-label") == "适用门店"
        assert page.locator("#coupon-templates thead").is_hidden()
    fits(page, width)
    shot(page, "coupon-store-limit", width)

    row.get_by_label("「人广店开业券」发放总量").fill("150")
    row.get_by_role("button", name="改总量").click()
    page.get_by_text("发放总量已改为150 张（已发 0 张）").wait_for()
    assert page.locator("#coupon-templates tbody tr", has_text="人广店开业券") \
        .locator("td.remaining").inner_text().endswith("150")
    with app.session() as s, s.read():
        t = s.query(CouponTemplate).filter_by(name="人广店开业券").one()
        assert (t.stock_limit, t.min_spend_fen, t.amount_off_fen) == (150, 5000, 1200)
    fits(page, width)
