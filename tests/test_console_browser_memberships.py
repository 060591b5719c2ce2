"""Two headquarters screens at a desk (1280 px) and on a phone (390 px), in Debian's headless
Chromium: 付费会员 (an admin puts a paid card on sale in yuan and sees the mini-program offer
it, then withdraws it, asked first) and 门店 (a store opened, a till key issued and used by
the till, then revoked, asked first). Each page fits the screen, its tables as cards."""
from __future__ import annotations

import pytest

from api_helpers import ApiClient, api_config, mini_sandbox  # noqa: F401
from browser_helpers import (app, browser, console_page, fits, go, login, page,  # noqa: F401
                             require_chromium, shot, width)
from conftest import serve
from console_helpers import add_operator
from till_helpers import Till

require_chromium()


@pytest.fixture
def mini_app(tmp_path, mini_sandbox):  # noqa: F811
    config = api_config(f"sqlite:///{tmp_path / 'mini.db'}", mini_sandbox, cookie_secure=False)
    yield from serve(config)


def _on_sale(api, me) -> list[str]:
    return [p["name"] for p in api.get("me/memberships", me).json()["products"]]


def test_an_admin_sells_a_paid_card_seen_in_the_mini_program(browser, mini_app,  # noqa: F811
                                                             mini_sandbox, width):  # noqa: F811
    api = ApiClient(mini_app, mini_sandbox)
    me = api.login("oMiniPaidCard")
    add_operator(mini_app, "root", "admin")
    with console_page(browser, width) as page:  # noqa: F811
        asked = page.dialogs
        login(page, mini_app, "root")
        go(page, width, "付费会员")
        page.get_by_label("名称").fill("钻石月卡")
        page.get_by_label("等级").select_option(label="钻石会员")
        page.get_by_label("有效天数").fill("30")
        page.get_by_label("价格（元）").fill("59.9")
        page.get_by_role("button", name="上架", exact=True).click()
        page.get_by_text("付费会员卡「钻石月卡」已上架：钻石会员 30 天，59.90 元").wait_for()
        assert any("确认上架这张会员卡" in a for a in asked)
        offered = api.get("me/memberships", me).json()["products"]
        assert {"name": "钻石月卡", "tier": "diamond", "days": 30, "price_fen": 5990}.items() \
            <= next(p for p in offered if p["name"] == "钻石月卡").items()
        row = page.locator("#memberships tbody tr", has_text="钻石月卡")
        assert "在售" in row.inner_text()
        if width < 700:  # a card: each value named by its column
            assert row.locator("td").nth(3).get_attribute("data-label") == "价格（元）"
            assert page.locator("#memberships thead").is_hidden()
        fits(page, width)
        shot(page, "memberships", width)
        row.get_by_role("button", name="下架").click()
        page.get_by_text("付费会员卡「钻石月卡」已下架").wait_for()
        assert any("确认下架「钻石月卡」" in a for a in asked)
        assert _on_sale(api, me) == ["金卡年卡"]
        fits(page, width)


def test_an_admin_opens_a_store_and_its_till_key_works_until_revoked(page, app, width):
    add_operator(app, "root", "admin")
    login(page, app, "root")
    go(page, width, "门店")
    page.get_by_label("门店编号").fill("SH001")
    page.get_by_label("门店名称").fill("人民广场店")
    page.get_by_label("城市").fill("上海")
    page.get_by_role("button", name="创建门店").click()
    page.get_by_text("门店 SH001 已创建").wait_for()
    page.get_by_label("收银台名称").fill("1号收银台")
    page.get_by_role("button", name="发放新密钥").click()
    key = page.locator("#till-key").inner_text()
    res = Till(app, key).get("store")  # the till is let in, as this store
    assert res.status_code == 200 and res.json()["name"] == "人民广场店"
    fits(page, width)
    shot(page, "store", width)
    row = page.locator("#till-keys tbody tr", has_text="1号收银台")
    if width < 700:
        assert row.locator("td").nth(1).get_attribute("data-label") == "收银台"
    row.get_by_role("button", name="停用").click()
    page.get_by_text("已停用").first.wait_for()
    assert any("确认停用收银台密钥" in a for a in page.dialogs)
    assert Till(app, key).get("store").status_code == 401
    go(page, width, "门店")
    assert "人民广场店" in page.locator("#stores tbody").inner_text()
    fits(page, width)
    shot(page, "stores", width)
