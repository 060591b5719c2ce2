"""付费会员 products in the console (issue 18; they were the CLI's `membership product`):
an admin puts a card on sale in yuan, the mini-program offers it and a member buys it (the
list counts the sale); withdrawing it takes it out of the mini-program, putting it back
returns it; each step asked first and audited, read in Chinese; operators and viewers read."""
from __future__ import annotations

from sqlalchemy import select

from api_helpers import ApiClient
from console_helpers import logged_in
from wx_member.models import MembershipProduct
from wxpay_helpers import (console_shop, merchant_cert, mini_sandbox)  # noqa: F401


def _row(html: str, product_id: int) -> str:
    return html.split(f'id="product-{product_id}"')[1].split("</tr>")[0]


def _on_sale(shop, member) -> list[str]:
    return [p["name"] for p in shop.get("me/memberships", member).json()["products"]]


def test_an_admin_sells_withdraws_and_relists_a_paid_card(console_shop,  # noqa: F811
                                                           mini_sandbox):  # noqa: F811
    shop = ApiClient(console_shop, mini_sandbox)
    ivy = shop.login("oMiniCardIvy")
    assert _on_sale(shop, ivy) == ["金卡年卡"]  # the seeded one

    admin = logged_in(console_shop, "ada", "admin")
    page = admin.get("/admin/memberships").text
    assert "付费会员" in page and "金卡年卡" in page and "99.00" in page and "在售" in page
    assert "确认上架这张会员卡" in page  # asked first

    # Refused in Chinese, nothing written: a price not in yuan, an unknown tier, no name.
    for bad, said in (({"price": "abc"}, "请按元填写金额"), ({"tier": "normal"}, "等级须为 银卡会员"),
                      ({"name": ""}, "名称须为 1 至 40 个字"), ({"days": "0"}, "天数须在 1 至 3660")):
        form = {"name": "银卡季卡", "tier": "silver", "days": "90", "price": "29.9", **bad}
        admin.post("/admin/memberships", form)
        assert said in admin.get("/admin/memberships").text
    assert _on_sale(shop, ivy) == ["金卡年卡"]

    res = admin.post("/admin/memberships", {"name": "银卡季卡", "tier": "silver", "days": "90",
                                            "price": "29.9"})
    assert res.status_code == 302
    assert "付费会员卡「银卡季卡」已上架：银卡会员 90 天，29.90 元" in admin.get("/admin/memberships").text
    offered = shop.get("me/memberships", ivy).json()["products"]
    silver = next(p for p in offered if p["name"] == "银卡季卡")
    assert (silver["tier"], silver["days"], silver["price_fen"]) == ("silver", 90, 2990)

    # A member buys it in the mini-program: the list counts the sale.
    res = shop.post("me/memberships", ivy, json={"product_id": silver["id"]})
    assert res.status_code == 201, res.text
    assert mini_sandbox.merchant.pay(res.json()["order"]["out_trade_no"]).status == 204
    row = _row(admin.get("/admin/memberships").text, silver["id"])
    assert "银卡会员" in row and "29.90" in row and "<td class=\"num\">1" in row

    # Withdrawn (the confirmation says the bought period stays): out of the mini-program.
    assert "已购买的 1 份期限不变" in row
    admin.post(f"/admin/memberships/{silver['id']}/active", {"active": "0"})
    page = admin.get("/admin/memberships").text
    assert "「银卡季卡」已下架" in page and "已下架" in _row(page, silver["id"])
    assert _on_sale(shop, ivy) == ["金卡年卡"]
    assert shop.get("me/memberships", ivy).json()["paid"]["tier"] == "silver"  # kept
    admin.post(f"/admin/memberships/{silver['id']}/active", {"active": "1"})
    assert "银卡季卡" in _on_sale(shop, ivy)

    audit = admin.get("/admin/audit").text.split("<tbody>")[1]
    assert "上架付费会员卡" in audit and "价格：29.90 元" in audit and "等级：银卡会员" in audit
    assert "有效天数：90 天" in audit and "启用：是 → 否" in audit and "启用：否 → 是" in audit
    assert audit.count("付费会员卡上架/下架") == 2 and "ada" in audit


def test_operators_and_viewers_read_only(console_shop, mini_sandbox):  # noqa: F811
    for role in ("operator", "viewer"):
        b = logged_in(console_shop, f"u_{role}", role)
        page = b.get("/admin/memberships").text
        assert "金卡年卡" in page and 'id="membership-form"' not in page and "下架</button>" not in page
        assert b.post("/admin/memberships", {"name": "x", "tier": "gold", "days": "30",
                                             "price": "1"}).status_code == 403
        assert b.post("/admin/memberships/1/active", {"active": "0"}).status_code == 403
    with console_shop.session() as s, s.read():
        assert s.scalars(select(MembershipProduct.active)).all() == [True]
