"""Rules in the console: admins change settings, audited, effective on the next event."""
from __future__ import annotations

from console_helpers import console, logged_in  # noqa: F401
from helpers import balance_and_sum

from wx_member.models import AuditLog
from wx_member.platform import settings, settings_view


def test_admin_changes_a_rule_audited_and_used_by_the_next_join(console):
    sim = console.simulator()
    sim.subscribe("oBefore")
    b = logged_in(console, "root", "admin")
    assert "入会赠送积分" in b.get("/admin/rules").text
    assert b.post("/admin/rules", {"key": "signup_points", "value": "25"}).status_code == 302
    assert "已改为 25" in b.get("/admin/rules").text
    sim.subscribe("oAfter")  # the running app, no restart
    assert balance_and_sum(console, "oBefore") == (10, 10)
    assert balance_and_sum(console, "oAfter") == (25, 25)
    with console.session() as s, s.read():
        row = s.query(AuditLog).filter_by(action="setting.change").one()
        assert (row.actor, row.target, row.before, row.after) == ("root", "signup_points", 10, 25)
    audit_page = b.get("/admin/audit?action=setting.change").text
    assert "signup_points" in audit_page and "修改规则" in audit_page


def test_bad_values_are_refused_and_change_nothing(console):
    b = logged_in(console, "root", "admin")
    b.get("/admin/rules")
    b.post("/admin/rules", {"key": "signup_points", "value": "-3"})
    b.post("/admin/rules", {"key": "signup_points", "value": "ten"})
    b.post("/admin/rules", {"key": "tier_silver_fen", "value": "90000"})  # above gold
    assert "等级门槛必须逐级递增" in b.get("/admin/rules").text
    b.post("/admin/rules", {"key": "no_such_rule", "value": "1"})
    with console.session() as s:
        assert settings_view.current(s) == settings.DEFAULTS
    with console.session() as s, s.read():
        assert s.query(AuditLog).filter_by(action="setting.change").count() == 0


def test_only_admins_change_rules(console):
    b = logged_in(console, "otto", "operator")
    assert b.get("/admin/rules").status_code == 200
    assert b.post("/admin/rules", {"key": "signup_points", "value": "99"}).status_code == 403
    with console.session() as s, s.read():
        assert settings.get(s, "signup_points") == 10
