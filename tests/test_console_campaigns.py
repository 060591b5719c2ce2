"""Campaigns in the console (first step): preview a push kind, dry-run to test openids."""
from __future__ import annotations

import secrets

import pytest

from conftest import make_config, serve
from console_helpers import logged_in
from helpers import member
from push_helpers import TEMPLATE_IDS

from wx_member.models import AuditLog, Delivery
from wx_member.services import settings


@pytest.fixture
def app(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox, template_ids=dict(TEMPLATE_IDS),
                                 secret_key=secrets.token_hex(32), cookie_secure=False))


def test_preview_for_a_member_and_dry_run_to_test_openids(app, sandbox):
    with app.session() as s:  # no quiet hours: the test must not depend on the clock
        settings.change(s, "quiet_start_hour", 0, "test")
        settings.change(s, "quiet_end_hour", 0, "test")
    app.simulator().subscribe("oAmy")
    card = member(app, "oAmy").card_no
    b = logged_in(app, "otto", "operator")
    sample = b.get("/admin/campaigns?kind=points_expiry").text
    assert "按示例数据渲染" in sample and "TPL_EXPIRY" in sample
    mine = b.get(f"/admin/campaigns?kind=points_expiry&who={card}").text
    assert f"按会员 {card} 的数据渲染" in mine and card in mine.split('id="preview-body"')[1]
    assert "未启用" not in mine.split("points_expiry")[1].split("</tr>")[0]
    res = b.post("/admin/campaigns/dry-run", {"kind": "points_expiry",
                                              "openids": "oAmy, oTester01\noAmy"})
    assert res.status_code == 302
    page = b.get("/admin/campaigns?kind=points_expiry").text
    assert "试发 2 条" in page, page.split("<main>")[1][:400]
    assert sorted(m["request"]["touser"] for m in sandbox.sent("template")) == ["oAmy", "oTester01"]
    with app.session() as s:
        assert {d.openid for d in s.query(Delivery)} == {"oAmy", "oTester01"}
        assert all(d.dry_run for d in s.query(Delivery))
        entry = s.query(AuditLog).filter_by(action="campaign.dry_run").one()
        assert entry.actor == "otto" and entry.after["openids"] == ["oAmy", "oTester01"]


def test_dry_run_refuses_bad_input_and_viewers(app, sandbox):
    b = logged_in(app, "otto", "operator")
    b.get("/admin/campaigns")
    b.post("/admin/campaigns/dry-run", {"kind": "points_expiry", "openids": "bad openid!"})
    assert "测试 openid" in b.get("/admin/campaigns").text
    b.post("/admin/campaigns/dry-run", {"kind": "birthday_nope", "openids": "oTester01"})
    assert "请选择推送类型" in b.get("/admin/campaigns").text
    viewer = logged_in(app, "vic", "viewer")
    res = viewer.post("/admin/campaigns/dry-run", {"kind": "points_expiry", "openids": "oTester01"})
    assert res.status_code == 403
    assert sandbox.sent("template") == []
