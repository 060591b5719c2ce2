"""Channel QR codes in the console: create through WeChat, download, per-channel report."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from datetime import datetime, timedelta

from console_helpers import console, logged_in  # noqa: F401
from helpers import member

from wx_member.models import AuditLog, Channel
from wx_member.insights import channel_view
from wx_member.payments import orders
from wx_member.wechat.pay import PaymentNotice


def pay(live, openid, no, yuan, at):
    with live.session() as s:
        orders.record_payment(s, PaymentNotice("v2", no, "wx" + no, openid, yuan * 100, at, True),
                              tz=ZoneInfo("Asia/Shanghai"))


def test_create_download_and_report(console, sandbox):
    b = logged_in(console, "otto", "operator")
    b.get("/admin/channels")
    res = b.post("/admin/channels", {"scene": "store_02", "name": "解放路门店", "kind": "store",
                                     "days": "7"})
    assert res.status_code == 302
    [sent] = sandbox.sent("qrcode")
    assert sent["request"]["action_info"]["scene"]["scene_str"] == "store_02"
    assert sent["request"]["expire_seconds"] == 7 * 86400
    png = b.get("/admin/channels/store_02/qrcode.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert "attachment" in png.headers["content-disposition"]
    sim = console.simulator()
    for who in ("oA", "oB", "oC"):
        sim.subscribe(who, scene="store_02")
    sim.scan("oA", "store_02")
    t0 = datetime(2026, 9, 1)
    pay(console, "oA", "A1", 30, t0)
    pay(console, "oA", "A2", 30, t0 + timedelta(days=89))  # within 90 days: repurchase
    pay(console, "oB", "B1", 30, t0)
    pay(console, "oB", "B2", 30, t0 + timedelta(days=91))  # too late
    page = b.get("/admin/channels").text
    assert "解放路门店" in page and "90 天内回购" in page
    with console.session() as s:
        [row] = channel_view.channel_report(s)
    assert (row.scans, row.scanners, row.joins, row.first_orders, row.repurchased) == (4, 3, 3, 2, 1)
    with console.session() as s, s.read():
        assert s.query(AuditLog).filter_by(action="channel.create", target="store_02",
                                           actor="otto").count() == 1


def test_bad_channel_or_wechat_error_is_shown_and_nothing_stored(console, sandbox):
    b = logged_in(console, "otto", "operator")
    b.get("/admin/channels")
    res = b.post("/admin/channels", {"scene": "has space", "name": "x", "kind": "store", "days": "7"})
    assert res.status_code == 200 and "渠道参数无效" in res.text
    assert sandbox.sent("qrcode") == []
    sandbox.inject("cgi-bin/qrcode/create", errcode=45009)
    res = b.post("/admin/channels", {"scene": "ok_1", "name": "x", "kind": "poster", "days": "7"})
    assert "微信未能生成二维码（45009" in res.text
    with console.session() as s, s.read():
        assert s.query(Channel).count() == 0


def test_viewer_cannot_create_channels(console, sandbox):
    b = logged_in(console, "vic", "viewer")
    res = b.post("/admin/channels", {"scene": "s1", "name": "x", "kind": "store", "days": "7"})
    assert res.status_code == 403 and sandbox.sent("qrcode") == []
