"""储值 in the console: the recharge ladder in yuan, a bonus above the recharge refused,
rungs withdrawn; what the mini-program offers changes with it; audited."""
from __future__ import annotations

from console_helpers import console, logged_in  # noqa: F401

from wx_member.models import AuditLog
from wx_member.payments import balance_view


def test_admin_sets_the_recharge_ladder_in_yuan(console):
    ops = logged_in(console, "ops", "operator")
    assert "保存档位" not in ops.get("/admin/stored-value").text
    assert ops.post("/admin/stored-value/options", {"amount": "300", "bonus": "30"}).status_code == 403
    b = logged_in(console, "root", "admin")
    b.get("/admin/stored-value")
    b.post("/admin/stored-value/options", {"amount": "300", "bonus": "400"})
    assert "赠送金额不能大于充值金额" in b.get("/admin/stored-value").text
    b.post("/admin/stored-value/options", {"amount": "300", "bonus": "30"})
    assert "充值档位「充300送30」已保存" in b.get("/admin/stored-value").text
    with console.session() as s:
        offered = [(c.amount_fen, c.bonus_fen) for c in balance_view.recharge_choices(s)]
    assert (30000, 3000) in offered
    b.post("/admin/stored-value/options", {"amount": "300.00", "bonus": "30.00", "active": "0"})
    with console.session() as s:
        assert (30000, 3000) not in [(c.amount_fen, c.bonus_fen)
                                     for c in balance_view.recharge_choices(s)]
    with console.session() as s, s.read():
        assert s.query(AuditLog).filter_by(action="recharge_option.set").count() == 2
    assert "赠送：30.00 元" in b.get("/admin/audit").text
