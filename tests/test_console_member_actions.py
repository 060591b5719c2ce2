"""A member's page acts on what the CLI alone did: an order marked shipped (the reminder
follows) and delivered; the member's data exported and erased (admins, confirmed by card)."""
from __future__ import annotations

import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from conftest import make_config, serve
from console_helpers import logged_in
from helpers import member
from push_helpers import ORDER_TEMPLATES

from wx_member.models import Delivery, Member, Order
from wx_member.payments import orders
from wx_member.wechat.pay import PaymentNotice


@pytest.fixture
def app(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox, template_ids=dict(ORDER_TEMPLATES),
                                 secret_key=secrets.token_hex(32), cookie_secure=False))


def _buyer(app, openid="oShip"):
    app.simulator().subscribe(openid)
    with app.session() as s:
        orders.record_payment(s, PaymentNotice("v2", f"T-{openid}", "wx1", openid, 8800,
                                               datetime(2026, 11, 1, 2, 0), True),
                              tz=ZoneInfo("Asia/Shanghai"))
    return member(app, openid)


def test_operator_marks_an_order_shipped_then_delivered(app):
    m = _buyer(app)
    b = logged_in(app, "ops", "operator")
    page = b.get(f"/admin/members/{m.id}").text
    assert "标记发货" in page
    assert 'data-confirm="确认订单 T-oShip 已发货？会员将收到发货提醒。"' in page  # asks first
    b.post(f"/admin/members/{m.id}/orders/T-oShip/deliver")  # not shipped yet: refused
    assert "订单尚未发货" in b.get(f"/admin/members/{m.id}").text
    b.post(f"/admin/members/{m.id}/orders/T-oShip/ship", {"carrier": "顺丰", "tracking_no": "SF1"})
    page = b.get(f"/admin/members/{m.id}").text
    assert "订单 T-oShip 已标记发货，发货提醒已排队" in page and "顺丰 SF1" in page
    with app.session() as s, s.read():
        assert s.query(Delivery).filter_by(kind="order_shipped", member_id=m.id).count() == 1
    b.post(f"/admin/members/{m.id}/orders/T-oShip/deliver")
    assert "已签收" in b.get(f"/admin/members/{m.id}").text
    with app.session() as s, s.read():
        order = s.query(Order).filter_by(out_trade_no="T-oShip").one()
        assert order.carrier == "顺丰" and order.delivered_at is not None


def test_admin_exports_and_erases_a_member_confirmed_by_card(app):
    m = _buyer(app, "oGone")
    ops = logged_in(app, "ops", "operator")
    assert "删除个人信息" not in ops.get(f"/admin/members/{m.id}").text
    assert ops.post(f"/admin/members/{m.id}/erase", {"confirm_card": m.card_no}).status_code == 403
    b = logged_in(app, "root", "admin")
    b.get(f"/admin/members/{m.id}")
    res = b.post(f"/admin/members/{m.id}/export.json", {"note": "工单 42"})
    assert res.status_code == 200 and res.json()["profile"]["card_no"] == m.card_no
    b.post(f"/admin/members/{m.id}/erase", {"confirm_card": "123"})
    assert "请输入该会员的卡号以确认删除" in b.get(f"/admin/members/{m.id}").text
    with app.session() as s, s.read():
        assert s.get(Member, m.id).erased_at is None
    b.post(f"/admin/members/{m.id}/erase", {"confirm_card": m.card_no, "note": "工单 43"})
    assert "会员个人信息已删除" in b.get(f"/admin/members/{m.id}").text
    with app.session() as s, s.read():
        gone = s.get(Member, m.id)
        assert gone.erased_at is not None and gone.openid != "oGone"
