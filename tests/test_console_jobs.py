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
