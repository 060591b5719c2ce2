"""积分抵现 on the member page, over HTTP: an operator sees the member's cash-offs and gives
back the points of one whose sale was abandoned (撤销抵现, with a reason, asked first): once,
audited; refused without a reason, for another member's order and for an order recorded as
paid; a store account sees no form and its post is refused."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from console_helpers import console, logged_in  # noqa: F401  (fixture)
from helpers import member
from test_console_stores import seed, store_account
from wx_member.loyalty import points, redemption
from wx_member.models import AuditLog, Member, PointsLedger, PointsRedemption
from wx_member.payments import orders
from wx_member.wechat.pay import PaymentNotice


def _with_cash_off(live, openid: str, order_no: str, amount_fen: int = 6000,
                   have: int = 5000, subscribe: bool = True) -> Member:
    """A member given `have` points who paid part of `order_no` with them at a till
    (3,000 points take 30 yuan off 60 at the default rate and cap)."""
    if subscribe:
        live.simulator().subscribe(openid)
    m = member(live, openid)
    with live.session() as uow:
        points.adjust(uow, m, have, "测试", key=f"seed-{openid}", by="test")
        redemption.cash_off(uow, m, order_no, amount_fen)
    return member(live, openid)


def _cancel(b, m, order_no: str, reason: str | None = "订单取消"):
    data = {"order_no": order_no} | ({"reason": reason} if reason is not None else {})
    res = b.post(f"/admin/members/{m.id}/cash-offs/cancel", data)
    assert res.status_code == 302, res.text
    return b.get(res.headers["Location"]).text


def _state(live, m) -> tuple[int, list[int]]:
    """The member's balance and their redeem_cancel ledger rows (deltas)."""
    with live.session() as s, s.read():
        return (s.get(Member, m.id).points_balance, list(s.scalars(
            select(PointsLedger.delta).where(PointsLedger.member_id == m.id,
                                             PointsLedger.reason == "redeem_cancel"))))


def _section(html: str) -> str:
    return html.split('id="cash-off-list"')[1].split("</table>")[0]


def test_an_operator_gives_back_a_cash_offs_points_once(console):
    m = _with_cash_off(console, "oTill", "POS-1001")
    spent = m.points_balance
    b = logged_in(console, "ops", "operator")
    listed = _section(b.get(f"/admin/members/{m.id}").text)
    assert "POS-1001" in listed and "60.00" in listed and "30.00" in listed and "3000" in listed
    assert "撤销抵现" in listed and 'placeholder="订单取消"' in listed
    assert 'data-confirm="撤销订单 POS-1001 的积分抵现，退回 3000 积分？' in listed  # asks first
    page = _cancel(b, m, "POS-1001", "顾客放弃购买")
    assert "已退回 3000 积分（订单 POS-1001）。" in page
    assert _state(console, m) == (spent + 3000, [3000])
    assert f'<div class="v" id="points">{spent + 3000}</div>' in page
    listed = _section(page)
    assert "已撤销" in listed and "顾客放弃购买" in listed and "撤销抵现" not in listed
    again = _cancel(b, m, "POS-1001", "重复提交")  # a second post, e.g. from an old tab
    assert "订单 POS-1001 的积分抵现已撤销过，未重复退回。" in again
    assert _state(console, m) == (spent + 3000, [3000])
    with console.session() as s, s.read():
        entries = list(s.scalars(select(AuditLog)
                                 .where(AuditLog.action == "points.cash_off_cancel")))
    assert [(e.actor, e.target, e.after) for e in entries] == [
        ("ops", m.card_no, {"order_no": "POS-1001", "points": 3000, "reason": "顾客放弃购买"})]
    audit_row = again.split('id="member-audit"')[1].split("</tr>")[1]  # the newest entry
    assert "撤销积分抵现" in audit_row and "订单号：POS-1001" in audit_row
    assert "积分：3000" in audit_row and "原因：顾客放弃购买" in audit_row
    assert "撤销积分抵现" in b.get("/admin/audit").text  # the audit page names the action


def test_without_a_reason_nothing_is_given_back(console):
    m = _with_cash_off(console, "oNoWhy", "POS-2001")
    b = logged_in(console, "ops", "operator")
    b.get(f"/admin/members/{m.id}")
    for reason in (None, "   "):
        assert "请填写撤销原因（最多 100 字）。" in _cancel(b, m, "POS-2001", reason)
    assert _state(console, m) == (m.points_balance, [])
    assert "撤销抵现" in _section(b.get(f"/admin/members/{m.id}").text)  # still offered


def test_another_members_order_is_refused_on_this_members_page(console):
    owner = _with_cash_off(console, "oOwner", "POS-3001")
    other = _with_cash_off(console, "oBystander", "POS-3002")
    b = logged_in(console, "ops", "operator")
    b.get(f"/admin/members/{other.id}")
    page = _cancel(b, other, "POS-3001")
    assert "该会员没有订单 POS-3001 的积分抵扣。" in page
    assert "POS-3001" not in _section(page)  # not listed on the bystander's page either
    assert _state(console, owner) == (owner.points_balance, [])
    assert _state(console, other) == (other.points_balance, [])
    with console.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(PointsRedemption)
                        .where(PointsRedemption.cancelled_at.is_not(None))) == 0


def test_a_paid_orders_cash_off_is_refused_with_its_reason(console):
    m = _with_cash_off(console, "oPaid", "POS-4001")
    with console.session() as s:  # the remaining 30 yuan paid through WeChat Pay
        orders.record_payment(s, PaymentNotice("v2", "POS-4001", "wx1", "oPaid", 3000,
                                               datetime(2026, 11, 1, 2, 0), True),
                              tz=ZoneInfo("Asia/Shanghai"))
    spent = member(console, "oPaid").points_balance  # with the points the payment earned
    b = logged_in(console, "ops", "operator")
    b.get(f"/admin/members/{m.id}")
    assert "订单已支付，积分抵扣不能撤销。" in _cancel(b, m, "POS-4001")
    assert _state(console, m) == (spent, [])
    with console.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(AuditLog)
                        .where(AuditLog.action == "points.cash_off_cancel")) == 0


def test_a_store_account_sees_the_list_but_no_form_and_cannot_post(console):
    data = seed(console)
    sh = data["people"]["oShanghai"]  # a member of the store's own
    m = _with_cash_off(console, "oShanghai", "POS-5001", subscribe=False)
    b = store_account(console, "sh_boss", "manager", "SH001")
    page = b.get(f"/admin/members/{sh.id}").text
    assert "POS-5001" in _section(page) and "已抵扣" in _section(page)
    assert "撤销抵现" not in page and "/cash-offs/cancel" not in page
    res = b.post(f"/admin/members/{sh.id}/cash-offs/cancel",
                 {"order_no": "POS-5001", "reason": "订单取消"})
    assert res.status_code == 403
    assert _state(console, m) == (m.points_balance, [])
    viewer = logged_in(console, "vic", "viewer")  # headquarters, but reads only
    assert "撤销抵现" not in viewer.get(f"/admin/members/{sh.id}").text
    assert viewer.post(f"/admin/members/{sh.id}/cash-offs/cancel",
                       {"order_no": "POS-5001", "reason": "订单取消"}).status_code == 403
    assert _state(console, m) == (m.points_balance, [])


def test_the_list_names_the_store_whose_till_took_the_points(console):
    from wx_member.clock import utcnow
    from wx_member.members import stores

    with console.session() as uow:
        shop = stores.create(uow, "SH001", "人民广场店", by="test").id
    m = _with_cash_off(console, "oShop", "POS-1101")  # not a till: no store named
    with console.session() as uow, uow.write() as s:
        redemption.cash_off_in(s, s.get(Member, m.id), "SH001-0007", 4000, 1000, utcnow(),
                               store_id=shop)
    b = logged_in(console, "ops", "operator")
    rows = _section(b.get(f"/admin/members/{m.id}").text).split("<tbody>")[1].split("</tr>")
    assert "SH001-0007" in rows[0] and "<td>人民广场店</td>" in rows[0]
    assert "POS-1101" in rows[1] and "人民广场店" not in rows[1]
