"""The gift catalogue in the console: added, restocked, retired (audited); a gift redeemed
for a member at the desk by card or phone, once per form, points and stock moved."""
from __future__ import annotations

from console_helpers import console, logged_in  # noqa: F401
from helpers import balance_and_sum, member

from wx_member.console import member_admin
from wx_member.models import AuditLog, Gift, Member


def test_operator_runs_the_catalogue_and_redeems_at_the_desk(console):
    console.simulator().subscribe("oGift")
    m = member(console, "oGift")
    with console.session() as s, s.begin():
        s.get(Member, m.id).phone = "13622223333"
    with console.session() as s:
        member_admin.adjust_points(s, m.id, 190, "老会员迁移", "k" * 16, "test")  # 200 points
    b = logged_in(console, "ops", "operator")
    b.get("/admin/gifts")
    b.post("/admin/gifts", {"name": "帆布袋", "points": "80", "stock": "2"})
    page = b.get("/admin/gifts").text
    assert "礼品「帆布袋」已上架：80 积分，库存 2" in page
    with console.session() as s, s.read():
        gift = s.query(Gift).filter_by(name="帆布袋").one()
    b.post("/admin/gifts", {"name": "杯子", "points": "多少", "stock": "1"})
    assert "所需积分须为整数" in b.get("/admin/gifts").text

    key = page.split('name="key" value="')[1].split('"')[0]
    form = {"member": "13622223333", "gift_id": str(gift.id), "quantity": "2", "key": key}
    b.post("/admin/gifts/redeem", form)
    assert f"已为会员 {m.card_no} 兑换，扣除 160 积分" in b.get("/admin/gifts").text
    b.post("/admin/gifts/redeem", form)  # the same form again: once
    assert "该兑换已办理过" in b.get("/admin/gifts").text
    assert balance_and_sum(console, "oGift") == (40, 40)
    b.post("/admin/gifts/redeem", {**form, "quantity": "1", "key": "other-key-1"})
    assert "积分不足" in b.get("/admin/gifts").text  # 40 left for an 80-point gift

    b.post(f"/admin/gifts/{gift.id}/stock", {"delta": "+5"})
    assert "库存现为 5" in b.get("/admin/gifts").text
    b.post(f"/admin/gifts/{gift.id}/stock", {"delta": "-9"})
    assert "库存不足，无法减少" in b.get("/admin/gifts").text
    b.post(f"/admin/gifts/{gift.id}/active", {"active": "0"})
    assert "已下架" in b.get("/admin/gifts").text
    with console.session() as s, s.read():
        g = s.get(Gift, gift.id)
        assert (g.stock, g.active) == (5, False)
        actions = [a.action for a in s.query(AuditLog).order_by(AuditLog.id)
                   if a.action.startswith("gift")]
    assert actions == ["gift.create", "gift.restock", "gift.retire"]
    assert "库存：0 → 5" in b.get("/admin/audit").text
