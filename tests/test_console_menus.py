"""Custom menu: WeChat's limits checked first, publish through the gateway, history, rollback."""
from __future__ import annotations

import pytest

from console_helpers import console, logged_in  # noqa: F401

from wx_member.models import AuditLog, MenuVersion
from wx_member.console import menus

GOOD = {"button": [
    {"type": "click", "name": "会员卡", "key": "CARD"},
    {"name": "我的", "sub_button": [
        {"type": "view", "name": "官网", "url": "https://example.com/"},
        {"type": "miniprogram", "name": "小程序商城", "url": "https://example.com/m",
         "appid": "wx0123456789abcdef", "pagepath": "pages/index"}]},
]}


@pytest.mark.parametrize("menu, problem", [
    ({"button": []}, "1-3 个一级菜单"),
    ({"button": [{"type": "click", "name": f"b{i}", "key": "K"} for i in range(4)]}, "1-3 个一级菜单"),
    ({"button": [{"type": "click", "name": "六个汉字啊", "key": "K"},
                 {"type": "click", "name": "会员中心你好", "key": "K"}]}, "一级菜单 2：名称"),
    ({"button": [{"name": "我的", "sub_button": [{"type": "click", "name": f"s{i}", "key": "K"}
                                                for i in range(6)]}]}, "子菜单最多 5 个"),
    ({"button": [{"type": "click", "name": "签到", "key": ""}]}, "缺少事件 key"),
    ({"button": [{"type": "click", "name": "签到", "key": "K" * 129}]}, "key 不能超过 128"),
    ({"button": [{"type": "view", "name": "官网", "url": "javascript:alert(1)"}]}, "网址须以"),
    ({"button": [{"type": "miniprogram", "name": "商城", "url": "https://e.com",
                  "appid": "wxnope", "pagepath": "p"}]}, "appid 格式"),
    ({"button": [{"name": "我的", "sub_button": [{"type": "", "name": "x"}]}]}, "请选择类型"),
])
def test_wechat_limits_are_checked_in_chinese(menu, problem):
    with pytest.raises(menus.InvalidMenu) as err:
        menus.validate(menu)
    assert problem in err.value.user_message


def test_good_menu_passes_and_five_chinese_characters_fit():
    menus.validate(GOOD)
    menus.validate({"button": [{"type": "click", "name": "会员中心好", "key": "K"}]})  # 15 bytes


def form_for(menu_slots: dict) -> dict:
    return {"action": "publish", **menu_slots}


def test_publish_preview_history_and_rollback_over_http(console, sandbox):
    b = logged_in(console, "root", "admin")
    page = b.get("/admin/menu")
    assert page.status_code == 200 and "尚未从后台发布过菜单" in page.text
    first = {"b0_name": "会员卡", "b0_type": "click", "b0_value": "CARD",
             "b1_name": "我的", "b1_type": "sub",
             "b1s0_name": "查积分", "b1s0_type": "click", "b1s0_value": "POINTS",
             "b1s1_name": "官网", "b1s1_type": "view", "b1s1_value": "https://example.com/"}
    preview = b.post("/admin/menu", {**first, "action": "preview"})
    assert preview.status_code == 200 and "（未发布）" in preview.text and "查积分" in preview.text
    assert sandbox.sent("menu") == []  # a preview publishes nothing
    assert b.post("/admin/menu", form_for(first)).status_code == 302
    assert sandbox.menu == {"button": [
        {"type": "click", "name": "会员卡", "key": "CARD"},
        {"name": "我的", "sub_button": [{"type": "click", "name": "查积分", "key": "POINTS"},
                                        {"type": "view", "name": "官网", "url": "https://example.com/"}]}]}
    second = {**first, "b0_name": "签到", "b0_value": "CHECKIN"}
    b.post("/admin/menu", form_for(second))
    assert sandbox.menu["button"][0]["key"] == "CHECKIN"
    with console.session() as s, s.read():
        v1, v2 = s.query(MenuVersion).order_by(MenuVersion.id).all()
    assert b.post(f"/admin/menu/rollback/{v1.id}").status_code == 302
    assert sandbox.menu["button"][0]["key"] == "CARD"
    page = b.get("/admin/menu").text
    assert f"回滚自 {v1.id}" in page
    with console.session() as s, s.read():
        assert [a.action for a in s.query(AuditLog).filter(AuditLog.target == "menu")
                .order_by(AuditLog.id)] == ["menu.publish", "menu.publish", "menu.rollback"]


def test_invalid_menu_or_wechat_refusal_publishes_and_records_nothing(console, sandbox):
    b = logged_in(console, "root", "admin")
    b.get("/admin/menu")
    res = b.post("/admin/menu", form_for({"b0_name": "这个名字太长了", "b0_type": "click",
                                          "b0_value": "K"}))
    assert res.status_code == 200 and "菜单未通过检查" in res.text and "名称须为" in res.text
    sandbox.inject("cgi-bin/menu/create", errcode=40018)
    res = b.post("/admin/menu", form_for({"b0_name": "签到", "b0_type": "click",
                                          "b0_value": "CHECKIN"}))
    assert "微信拒绝了菜单（40018" in res.text
    assert sandbox.sent("menu") == []
    with console.session() as s, s.read():
        assert s.query(MenuVersion).count() == 0


def test_only_admins_publish_menus(console, sandbox):
    b = logged_in(console, "otto", "operator")
    assert b.get("/admin/menu").status_code == 200
    res = b.post("/admin/menu", form_for({"b0_name": "签到", "b0_type": "click",
                                          "b0_value": "CHECKIN"}))
    assert res.status_code == 403 and sandbox.sent("menu") == []
