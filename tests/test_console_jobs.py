"""推送与任务: push statuses by kind in Chinese, pushes sent and points expired by hand
(admins), the expiry previewed before it runs."""
from __future__ import annotations

from datetime import timedelta

from console_helpers import console, logged_in  # noqa: F401
from helpers import balance_and_sum, member

from wx_member.clock import utcnow
from wx_member.models import Delivery, PointsLedger


def test_admin_previews_then_runs_the_points_expiry(console):
    console.simulator().subscribe("oLapse")
    m = member(console, "oLapse")
    with console.session() as s, s.begin():
        for lot in s.query(PointsLedger).filter_by(member_id=m.id):
            lot.expires_at = utcnow() - timedelta(days=2)
    ops = logged_in(console, "ops", "operator")
    assert ops.post("/admin/jobs/expiry", {"action": "run"}).status_code == 403
    b = logged_in(console, "root", "admin")
    b.get("/admin/jobs")
    b.post("/admin/jobs/expiry", {"action": "preview"})
    assert "将过期 1 位会员的 10 积分（预览，未执行）" in b.get("/admin/jobs").text
    assert balance_and_sum(console, "oLapse") == (10, 10)
    b.post("/admin/jobs/expiry", {"action": "run"})
    assert "已过期 1 位会员的 10 积分" in b.get("/admin/jobs").text
    assert balance_and_sum(console, "oLapse") == (0, 0)


def test_push_statuses_by_kind_and_a_run_by_hand(console):
    console.simulator().subscribe("oPush")
    m = member(console, "oPush")
    with console.session() as s, s.begin():
        s.add(Delivery(member_id=m.id, openid="oPush", kind="holiday", occasion="2026:x",
                       channel="custom", payload={}, status="skipped",
                       error="outside the 48-hour window"))
    b = logged_in(console, "root", "admin")
    page = b.get("/admin/jobs").text
    table = page.split('id="push-status"')[1].split("</table>")[0]
    assert "节日祝福" in table and "已跳过" in table and ">holiday<" not in table
    b.post("/admin/jobs/pushes", {"kind": ""})
    page = b.get("/admin/jobs").text
    assert "本次发送：没有到期的推送" in page
    b.post("/admin/jobs/pushes", {"kind": "nope"})
    assert "请选择推送类型" in b.get("/admin/jobs").text


def _entries(b, action: str) -> list[str]:
    page = b.get(f"/admin/audit?action={action}").text
    return [r for r in page.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")[:-1]
            if "<td colspan" not in r]


def test_runs_by_hand_are_audited_and_read_in_chinese(console):
    """Who ran what, when, and what came of it: each manual run is one audit entry, shown
    in the audit log in Chinese (a preview writes nothing and is not one)."""
    console.simulator().subscribe("oAudit")
    m = member(console, "oAudit")
    with console.session() as s, s.begin():
        for lot in s.query(PointsLedger).filter_by(member_id=m.id):
            lot.expires_at = utcnow() - timedelta(days=2)
    b = logged_in(console, "root", "admin")
    b.get("/admin/jobs")
    b.post("/admin/jobs/expiry", {"action": "preview"})
    assert _entries(b, "points.expire_run") == []
    b.post("/admin/jobs/expiry", {"action": "run"})
    [expiry] = _entries(b, "points.expire_run")
    assert "手动执行积分过期" in expiry and "root" in expiry and "截至（日终）" in expiry
    assert "会员数：1 位" in expiry and "积分：10" in expiry

    b.post("/admin/jobs/pushes", {"kind": "holiday"})
    b.post("/admin/jobs/pushes", {"kind": ""})
    b.post("/admin/jobs/pushes", {"kind": "nope"})  # refused: ran nothing, no entry
    sent_due, holiday = _entries(b, "push.run")  # newest first
    assert "手动发送推送" in holiday and "节日祝福" in holiday and "root" in holiday
    # What the audit says is what happened: on an ordinary day no greeting is planned; on
    # one of the calendar's holidays (元旦, 春节 …) the run plans hers (the test runs on
    # the real clock, any day of the year).
    with console.session() as s, s.read():
        planned = s.query(Delivery).filter_by(kind="holiday").count()
    assert f"今日新计划：{planned} 条" in holiday and "本次发送结果：" in holiday
    if not planned:
        assert "本次发送结果：没有到期的推送" in holiday
    assert ">holiday<" not in holiday
    assert "到期推送" in sent_due and "今日新计划" not in sent_due
