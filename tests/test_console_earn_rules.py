"""积分活动 in the console: a double-points day and a member day added on the month
calendar, a payment that day earning the multiplier, a rule stopped; audited."""
from __future__ import annotations

from console_helpers import console, logged_in  # noqa: F401
from helpers import balance_and_sum

from wx_member.clock import local_now, utcnow
from wx_member.models import AuditLog
from wx_member.payments import orders
from wx_member.wechat.pay import PaymentNotice


def test_a_double_day_on_the_calendar_triples_a_payment_that_day(console):
    console.simulator().subscribe("oTriple")
    today = local_now(console.config.tz).date()
    b = logged_in(console, "ops", "operator")
    b.get("/admin/earn-rules")
    b.post("/admin/earn-rules", {"kind": "dates", "name": "店庆", "multiplier": "1500",
                                 "starts_on": str(today)})
    assert "积分倍率须大于 100% 且不超过 1000%" in b.get("/admin/earn-rules").text
    b.post("/admin/earn-rules", {"kind": "dates", "name": "店庆", "multiplier": "300",
                                 "starts_on": str(today)})
    page = b.get(f"/admin/earn-rules?month={today:%Y-%m}").text
    assert f"积分活动「店庆」已生效：{today} 积分 ×3" in page
    cell = page.split(f'id="day-{today}"')[1].split("</td>")[0]
    assert "×3" in cell and "店庆" in cell
    b.post("/admin/earn-rules", {"kind": "weekday", "name": "会员日", "multiplier": "200",
                                 "weekday": "2"})
    assert "每周二 积分 ×2" in b.get("/admin/earn-rules").text

    with console.session() as s:
        orders.record_payment(s, PaymentNotice("v2", "T-triple", "wx3", "oTriple", 1000,
                                               utcnow(), True), tz=console.config.tz)
    assert balance_and_sum(console, "oTriple") == (10 + 30, 10 + 30)  # sign-up + ¥10 × 3

    with console.session() as s, s.read():
        rule_id = int(s.query(AuditLog).filter_by(action="earn_rule.create").first()
                      .target.split(":")[1])
    b.post(f"/admin/earn-rules/{rule_id}/disable")
    page = b.get(f"/admin/earn-rules?month={today:%Y-%m}").text
    assert "积分活动「店庆」已停用" in page
    with console.session() as s, s.read():
        assert [a.action for a in s.query(AuditLog).order_by(AuditLog.id)
                if a.action.startswith("earn_rule")] == [
            "earn_rule.create", "earn_rule.create", "earn_rule.disable"]
