"""到店买单 over HTTP: a member at a store asks what an amount costs (tier discount, coupon,
points), pays it from the stored-value balance or by WeChat Pay (the sandbox's payer pays
and its notify reaches /pay/v3/notify), and the purchase is recorded at that store once;
retries, cancels, refunds and refusals, with the books (balances = ledger sums) checked."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import func, select, update

from helpers import count
from till_helpers import Till, issue_key, open_store
from wx_member.coupons import store_scope, wallet
from wx_member.loyalty import points, redemption
from wx_member.members import stores
from wx_member.models import (Coupon, JsapiOrder, Member, MemberDay, Order, OrderLine,
                              PointsLedger, Store, StorePayment)
from wx_member.payments import balance_payments, stored_value
from wxpay_helpers import (MINI_APPID, live_shop, merchant_cert, mini_sandbox,  # noqa: F401
                           run_reconciliation, shop)

AMOUNT = 10000  # 100 yuan typed
# A gold member (9 折: 9000), 满50减10 (1000 off: 8000), 2,000 points (20 yuan: 6000).
PAYABLE = 6000


@pytest.fixture
def store(live_shop):  # noqa: F811
    open_store(live_shop, "S01", "静安店")
    open_store(live_shop, "S02", "徐汇店")
    with live_shop.session() as s, s.begin():
        # The seeded member days fall on weekdays; off, so the figures do not depend on
        # the day the test runs.
        s.execute(update(MemberDay).values(enabled=False))
    return "S01"


def member(shop, live, openid: str, tier: str = "gold", points_: int = 0,  # noqa: F811
           balance_fen: int = 0, coupon: bool = True):
    """A member logged in to the mini-program, at `tier`, with exactly `points_` points
    (the sign-up points taken back), stored value and a 满50减10 coupon (template 2);
    returns (member, coupon code)."""
    m = shop.login(openid)
    with live.session() as s, s.begin():
        s.execute(update(Member).where(Member.card_no == m.card_no).values(tier=tier))
        row = s.scalar(select(Member).where(Member.card_no == m.card_no))
        if points_ != row.points_balance:
            points.post(s, row, points_ - row.points_balance, "adjust", f"seed:{openid}")
        if balance_fen:
            stored_value.post(s, row, balance_fen, "recharge", f"seed:{openid}")
    code = None
    if coupon:
        with live.session() as uow:
            code = wallet.issue(uow, m.card_no, 2, f"seed:{openid}", by="test").code
    return m, code


def books(live, card_no: str) -> dict:
    """What the member has, each balance checked against its ledger."""
    with live.session() as s, s.read():
        m = s.scalar(select(Member).where(Member.card_no == card_no))
        points_sum = s.scalar(select(func.coalesce(func.sum(PointsLedger.delta), 0))
                              .where(PointsLedger.member_id == m.id))
        assert m.points_balance == points_sum
        assert m.balance_fen == stored_value.ledger_sum(s, m.id)
        return {"points": m.points_balance, "balance_fen": m.balance_fen,
                "spend_fen": m.total_spend_fen}


def coupon_status(live, code: str) -> str:
    with live.session() as s, s.read():
        return s.scalar(select(Coupon.status).where(Coupon.code == code))


def pay(shop, m, key: str | None = None, **body):  # noqa: F811
    body = {"store_code": "S01", "amount_fen": AMOUNT, "pay_with": "balance", **body}
    return shop.post("me/store-payments", m, json=body,
                     headers={"Idempotency-Key": key or str(uuid.uuid4())})


def test_stores_and_a_quote_with_tier_discount_coupon_and_points(shop, live_shop,  # noqa: F811
                                                                 store):
    with live_shop.session() as uow:
        stores.close(uow, "S02", by="test")
    open_store(live_shop, "A01", "安福路店")
    assert shop.get("stores", shop.login("oMiniLook")).json() == {"stores": [
        {"code": "A01", "name": "安福路店", "city": "", "address": ""},
        {"code": "S01", "name": "静安店", "city": "", "address": ""}]}

    m, code = member(shop, live_shop, "oMiniQuote", points_=3000, balance_fen=20000)
    before = books(live_shop, m.card_no)
    res = shop.get(f"stores/S01/checkout?amount_fen={AMOUNT}&coupon={code}&points=2000", m)
    assert res.status_code == 200, res.text
    q = res.json()
    assert q["store"] == {"code": "S01", "name": "静安店"}
    assert (q["amount_fen"], q["member_fen"], q["benefit_fen"], q["benefit"]) == (
        10000, 9000, 1000, "金卡 9 折")
    assert q["coupon"] == {"code": code, "title": q["coupon"]["title"], "saving_fen": 1000}
    assert "满50减10" in q["coupon"]["title"] or "10" in q["coupon"]["title"]
    # The sign-up coupon (10 元) and 满50减10, both usable on 9000 at this store.
    assert code in {c["code"] for c in q["usable_coupons"]} and len(q["usable_coupons"]) == 2
    # After the coupon 8000 is left: at most 50 % (4000 fen), and 3,000 points buy 3000.
    assert q["points_max"] == {"points": 3000, "fen": 3000}
    assert q["points_used"] == {"points": 2000, "fen": 2000}
    assert q["payable_fen"] == PAYABLE and q["balance_fen"] == 20000
    assert q["points_to_earn"] > 0
    plain = shop.get(f"stores/S01/checkout?amount_fen={AMOUNT}", m).json()
    assert (plain["coupon"], plain["payable_fen"], plain["points_used"]) == (
        None, 9000, {"points": 0, "fen": 0})
    # A quote writes nothing.
    assert books(live_shop, m.card_no) == before and coupon_status(live_shop, code) == "available"
    assert count(live_shop, StorePayment) == 0
    # A closed or unknown store, a bad amount.
    for path in (f"stores/S02/checkout?amount_fen={AMOUNT}", "stores/NOPE/checkout?amount_fen=1"):
        res = shop.get(path, m)
        assert (res.status_code, res.json()["code"], res.json()["message"]) == (
            404, "STORE_NOT_FOUND", "门店不存在或已停业。")
    for amount in (0, 50_000_001):
        res = shop.get(f"stores/S01/checkout?amount_fen={amount}", m)
        assert (res.status_code, res.json()["code"]) == (400, "INVALID_AMOUNT")


def test_paying_from_the_balance_earns_at_the_store_once(shop, live_shop, store):  # noqa: F811
    m, code = member(shop, live_shop, "oMiniBal", points_=3000, balance_fen=20000)
    quoted = shop.get(f"stores/S01/checkout?amount_fen={AMOUNT}&coupon={code}&points=2000",
                      m).json()
    key = str(uuid.uuid4())
    res = pay(shop, m, key, coupon=code, points=2000)
    assert res.status_code == 200, res.text
    out = res.json()
    p = out["payment"]
    assert (out["replayed"], out["request_payment"]) == (False, None)
    assert p["out_trade_no"].startswith("M") and len(p["out_trade_no"]) == 23
    assert (p["status"], p["status_zh"], p["pay_with"]) == ("paid", "已支付", "balance")
    assert (p["amount_fen"], p["benefit_fen"], p["coupon_saving_fen"], p["payable_fen"]) == (
        10000, 1000, 1000, PAYABLE)
    assert p["points_used"] == {"points": 2000, "fen": 2000}
    assert p["points_earned"] == quoted["points_to_earn"] > 0
    assert p["balance_fen"] == 20000 - PAYABLE and p["paid_at"] and p["store"]["code"] == "S01"
    assert books(live_shop, m.card_no) == {"points": 3000 - 2000 + p["points_earned"],
                                           "balance_fen": 14000, "spend_fen": PAYABLE}
    assert coupon_status(live_shop, code) == "used"
    with live_shop.session() as s, s.read():
        order = s.scalar(select(Order).where(Order.out_trade_no == p["out_trade_no"]))
        s01 = s.scalar(select(Store.id).where(Store.code == "S01"))
        assert (order.amount_fen, order.api, order.store_id, order.points_earned) == (
            PAYABLE, "bal", s01, p["points_earned"])

    # The same tap again (a retry): the first answer, nothing more.
    again = pay(shop, m, key, coupon=code, points=2000)
    assert again.status_code == 200 and again.json() == {**out, "replayed": True}
    other = pay(shop, m, key, amount_fen=5000)  # the same key for something else
    assert (other.status_code, other.json()["code"], other.json()["message"]) == (
        409, "TILL_REQUEST_CONFLICT", "该支付请求已用于其他金额或支付方式，请重新发起支付。")
    assert books(live_shop, m.card_no)["balance_fen"] == 14000 and count(live_shop, Order) == 1

    # The member's result page; nobody else's.
    assert shop.get(f"me/store-payments/{p['out_trade_no']}", m).json() == {"payment": p}
    stranger = shop.login("oMiniStranger")
    res = shop.get(f"me/store-payments/{p['out_trade_no']}", stranger)
    assert (res.status_code, res.json()["code"]) == (404, "PAY_ORDER_NOT_FOUND")

    # Refunded whole (wx-member balance refund): money, coupon and points come back.
    with live_shop.session() as uow:
        balance_payments.refund(uow, p["out_trade_no"], PAYABLE, "RF-1", by="test")
    assert books(live_shop, m.card_no) == {"points": 3000, "balance_fen": 20000,
                                           "spend_fen": 0}
    assert coupon_status(live_shop, code) == "available"


def test_insufficient_balance_and_other_refusals_change_nothing(shop, live_shop,  # noqa: F811
                                                                store):
    m, code = member(shop, live_shop, "oMiniPoor", points_=500, balance_fen=5000)
    other, theirs = member(shop, live_shop, "oMiniOther")
    before = books(live_shop, m.card_no)
    key = str(uuid.uuid4())
    res = pay(shop, m, key, coupon=code)  # 8000 to pay, 5000 held
    assert (res.status_code, res.json()["code"], res.json()["message"]) == (
        409, "INSUFFICIENT_BALANCE", "储值余额不足。")
    refusals = [
        ({"store_code": "S09"}, 404, "STORE_NOT_FOUND"),
        ({"amount_fen": 0}, 400, "INVALID_AMOUNT"),
        ({"amount_fen": 50_000_001}, 400, "INVALID_AMOUNT"),
        ({"coupon": theirs}, 409, "COUPON_NOT_YOURS"),
        ({"coupon": "NOSUCHCODE"}, 404, "COUPON_NOT_FOUND"),
        ({"points": 600}, 409, "INSUFFICIENT_POINTS"),
    ]
    for body, status, error in refusals:
        res = pay(shop, m, amount_fen=body.pop("amount_fen", 1000), **body)
        assert (res.status_code, res.json()["code"]) == (status, error), body
        assert any("\u4e00" <= ch <= "\u9fff" for ch in res.json()["message"])
    res = pay(shop, m, pay_with="cash")
    assert res.status_code == 422
    assert books(live_shop, m.card_no) == before and coupon_status(live_shop, code) == "available"
    assert count(live_shop, StorePayment) == count(live_shop, Order) == 0

    # Refused, the key was not spent: after a recharge the same tap goes through.
    with live_shop.session() as s, s.begin():
        row = s.scalar(select(Member).where(Member.card_no == m.card_no))
        stored_value.post(s, row, 5000, "recharge", "more")
    res = pay(shop, m, key, coupon=code)
    assert res.status_code == 200 and res.json()["payment"]["balance_fen"] == 2000


def test_wechat_pay_created_paid_and_credited_once(shop, live_shop, mini_sandbox,  # noqa: F811
                                                   store):
    m, code = member(shop, live_shop, "oMiniWx", points_=3000)
    res = pay(shop, m, coupon=code, points=2000, pay_with="wechat")
    assert res.status_code == 200, res.text
    out = res.json()
    p, no = out["payment"], out["payment"]["out_trade_no"]
    assert (p["status"], p["status_zh"], p["points_earned"], p["balance_fen"], p["paid_at"]) == (
        "created", "待支付", None, None, None)
    assert out["request_payment"]["package"].startswith("prepay_id=wx")
    assert out["request_payment"]["appId"] == MINI_APPID
    sent = mini_sandbox.merchant.orders[no]
    assert sent["attach"] == "store_pay" and sent["amount"]["total"] == PAYABLE
    assert sent["payer"] == {"openid": "oMiniWx"} and "静安店" in sent["description"]
    # Taken while the member pays: neither can be used twice meanwhile.
    assert coupon_status(live_shop, code) == "used"
    assert books(live_shop, m.card_no)["points"] == 1000
    assert count(live_shop, Order) == 0

    assert mini_sandbox.merchant.pay(no).status == 204
    assert mini_sandbox.merchant.renotify(no).status == 204  # WeChat Pay's retry
    polled = shop.get(f"me/store-payments/{no}", m).json()["payment"]
    assert (polled["status"], polled["status_zh"]) == ("paid", "已支付")
    assert polled["points_earned"] > 0 and polled["paid_at"] and polled["balance_fen"] == 0
    assert books(live_shop, m.card_no) == {"points": 1000 + polled["points_earned"],
                                           "balance_fen": 0, "spend_fen": PAYABLE}
    with live_shop.session() as s, s.read():
        order = s.scalar(select(Order).where(Order.out_trade_no == no))
        assert (order.amount_fen, order.api, order.points_earned) == (
            PAYABLE, "v3", polled["points_earned"])
        assert s.scalar(select(Store.code).where(Store.id == order.store_id)) == "S01"
    assert count(live_shop, Order) == 1
    # Paid: the existing cancel refuses it.
    res = shop.post(f"me/orders/{no}/cancel", m)
    assert (res.status_code, res.json()["code"]) == (409, "PAY_ORDER_NOT_OPEN")

    # Paid, the notify lost: the reconciliation finds it and credits it once.
    no = pay(shop, m, pay_with="wechat", amount_fen=2000).json()["payment"]["out_trade_no"]
    mini_sandbox.merchant.pay(no, notify=False)
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=6), tick=False):
        run_reconciliation(live_shop)
        run_reconciliation(live_shop)
    polled = shop.get(f"me/store-payments/{no}", m).json()["payment"]
    assert (polled["status"], polled["payable_fen"]) == ("paid", 1800)  # 9 折
    assert books(live_shop, m.card_no)["spend_fen"] == PAYABLE + 1800
    assert mini_sandbox.merchant.renotify(no).status == 204 and count(live_shop, Order) == 2


def test_a_cancelled_or_refused_order_gives_coupon_and_points_back_once(  # noqa: F811
        shop, live_shop, mini_sandbox, store):
    m, code = member(shop, live_shop, "oMiniGiveUp", points_=3000)
    no = pay(shop, m, coupon=code, points=2000, pay_with="wechat").json()["payment"][
        "out_trade_no"]
    assert books(live_shop, m.card_no)["points"] == 1000
    # An operator's 撤销抵现 while the order can still be paid is refused: the member could
    # pay the discounted amount and have the points too. Closing gives them back (below).
    with pytest.raises(redemption.CashOffCancelRefused) as refused:
        redemption.cancel_cash_off(live_shop.session(), no, "顾客说不买了", by="otto")
    assert refused.value.user_message.startswith("订单正在等待支付")
    assert books(live_shop, m.card_no)["points"] == 1000
    res = shop.post(f"me/orders/{no}/cancel", m)
    assert res.status_code == 200 and res.json()["status"] == "closed"
    polled = shop.get(f"me/store-payments/{no}", m).json()["payment"]
    assert (polled["status"], polled["status_zh"], polled["points_earned"]) == (
        "closed", "已关闭", None)
    assert books(live_shop, m.card_no)["points"] == 3000
    assert coupon_status(live_shop, code) == "available"
    # Closed once: again, or the reconciliation later, gives nothing more.
    assert shop.post(f"me/orders/{no}/cancel", m).status_code == 409
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=16), tick=False):
        run_reconciliation(live_shop)
    assert books(live_shop, m.card_no)["points"] == 3000

    # Unpaid for 15 minutes: the reconciliation closes it and gives back.
    no = pay(shop, m, coupon=code, points=1000, pay_with="wechat").json()["payment"][
        "out_trade_no"]
    assert books(live_shop, m.card_no)["points"] == 2000
    with time_machine.travel(datetime.now(timezone.utc) + timedelta(minutes=16), tick=False):
        run_reconciliation(live_shop)
    assert shop.get(f"me/store-payments/{no}", m).json()["payment"]["status"] == "closed"
    assert books(live_shop, m.card_no)["points"] == 3000
    assert coupon_status(live_shop, code) == "available"

    # WeChat Pay refuses the order: failed, given back, the refusal said in Chinese.
    mini_sandbox.merchant.fail_next("jsapi", 500, "SYSTEM_ERROR")
    res = pay(shop, m, coupon=code, points=2000, pay_with="wechat")
    assert (res.status_code, res.json()["code"]) == (503, "WXPAY_UNAVAILABLE")
    with live_shop.session() as s, s.read():
        assert [(r.status, r.returned_at is not None) for r in s.scalars(
            select(StorePayment).order_by(StorePayment.id))][-1] == ("failed", True)
    assert books(live_shop, m.card_no) == {"points": 3000, "balance_fen": 0, "spend_fen": 0}
    assert coupon_status(live_shop, code) == "available" and count(live_shop, Order) == 0


def test_nothing_left_to_pay_is_paid_at_once_without_wechat_pay(shop, live_shop,  # noqa: F811
                                                                mini_sandbox, store):
    m, _ = member(shop, live_shop, "oMiniFree", tier="normal", coupon=False)
    q = shop.get("stores/S01/checkout?amount_fen=800", m).json()
    signup = q["usable_coupons"][0]["code"]  # 入会礼 10 元 covers 8 元
    res = pay(shop, m, coupon=signup, amount_fen=800, pay_with="wechat")
    assert res.status_code == 200, res.text
    out = res.json()
    assert (out["payment"]["status"], out["payment"]["payable_fen"], out["request_payment"]) == (
        "paid", 0, None)
    assert out["payment"]["out_trade_no"] not in mini_sandbox.merchant.orders
    assert count(live_shop, JsapiOrder) == 0 and coupon_status(live_shop, signup) == "used"


def test_a_coupon_of_other_stores_is_not_offered_nor_taken(shop, live_shop, store):  # noqa: F811
    m, code = member(shop, live_shop, "oMiniScope", balance_fen=20000)
    with live_shop.session() as s, s.begin():
        store_scope.replace(s, 2, [s.scalar(select(Store.id).where(Store.code == "S02"))])
    q = shop.get(f"stores/S01/checkout?amount_fen={AMOUNT}", m).json()
    assert code not in {c["code"] for c in q["usable_coupons"]}
    res = pay(shop, m, coupon=code)
    assert (res.status_code, res.json()["code"]) == (409, "COUPON_WRONG_STORE")
    assert pay(shop, m, coupon=code, store_code="S02").status_code == 200


def test_the_store_s_till_sees_its_paid_self_payments(shop, live_shop, store):  # noqa: F811
    m, code = member(shop, live_shop, "oMiniTill", balance_fen=20000)
    first = pay(shop, m, amount_fen=3000, undiscounted_fen=1000).json()["payment"]
    second = pay(shop, m, coupon=code).json()["payment"]
    pay(shop, m, pay_with="wechat", amount_fen=500)  # not paid: not listed
    pay(shop, m, store_code="S02", amount_fen=100)  # another store's
    s01 = Till(live_shop, issue_key(live_shop, "S01").key)
    res = s01.get("self-payments")
    assert res.status_code == 200, res.text
    listed = res.json()["payments"]
    assert [p["out_trade_no"] for p in listed] == [second["out_trade_no"],
                                                   first["out_trade_no"]]
    assert listed[0] == {"out_trade_no": second["out_trade_no"],
                         "card_no": m.card_no[:3] + "*" * (len(m.card_no) - 6) + m.card_no[-3:],
                         "amount_fen": AMOUNT, "undiscounted_fen": 0, "payable_fen": 8000,
                         "pay_with": "balance", "paid_at": second["paid_at"]}
    assert (listed[1]["amount_fen"], listed[1]["undiscounted_fen"]) == (3000, 1000)
    later = (datetime.now(timezone.utc) + timedelta(minutes=1)).isoformat()
    assert s01.get("self-payments", params={"since": later}).json() == {"payments": []}
    s02 = Till(live_shop, issue_key(live_shop, "S02").key).get("self-payments").json()
    assert [p["payable_fen"] for p in s02["payments"]] == [90]
    assert Till(live_shop, None).get("self-payments").status_code == 401


def test_a_full_wechat_refund_gives_back_coupon_and_points(shop, live_shop,  # noqa: F811
                                                           mini_sandbox, store):
    m, code = member(shop, live_shop, "oMiniRefund", points_=3000)
    no = pay(shop, m, coupon=code, points=2000, pay_with="wechat").json()["payment"][
        "out_trade_no"]
    assert mini_sandbox.merchant.pay(no).status == 204
    assert books(live_shop, m.card_no)["spend_fen"] == PAYABLE
    # The shop refunds it whole in WeChat Pay's merchant platform; the refund notify comes.
    order = mini_sandbox.merchant.orders[no]
    notifier, _ = mini_sandbox.merchant._notifier(order["notify_url"], order["appid"])
    assert notifier.v3_refund(no, "RF-WX-1", PAYABLE, PAYABLE).status == 204
    assert books(live_shop, m.card_no) == {"points": 3000, "balance_fen": 0, "spend_fen": 0}
    assert coupon_status(live_shop, code) == "available"


def test_one_tap_sent_six_times_at_once_pays_once(shop, live_shop, store):  # noqa: F811
    m, code = member(shop, live_shop, "oMiniTwice", points_=3000, balance_fen=20000)
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: pay(shop, m, key, coupon=code, points=2000),
                                range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert sorted(a.json()["replayed"] for a in answers) == [False] + [True] * 5
    assert len({a.json()["payment"]["out_trade_no"] for a in answers}) == 1
    assert books(live_shop, m.card_no)["balance_fen"] == 20000 - PAYABLE
    assert count(live_shop, Order) == count(live_shop, StorePayment) == 1


def test_an_old_coupon_is_offered_behind_many_used_ones(shop, live_shop, store):  # noqa: F811
    """The quote offers every coupon the member can use, not only those among their newest
    hundred of any status: a regular with 120 used coupons still sees the old one."""
    m, old = member(shop, live_shop, "oMiniRegular", points_=0, balance_fen=0)
    with live_shop.session() as uow:
        newer = [wallet.issue(uow, m.card_no, 2, f"seed:regular:{i}", by="test").code
                 for i in range(120)]
    with live_shop.session() as s, s.begin():
        s.execute(update(Coupon).where(Coupon.code.in_(newer)).values(status="used"))
    q = shop.get(f"stores/S01/checkout?amount_fen={AMOUNT}", m).json()
    assert old in {c["code"] for c in q["usable_coupons"]}
    assert not {c["code"] for c in q["usable_coupons"]} & set(newer)


# ---- 不参与优惠金额 ------------------------------------------------------------------------
# 100 yuan typed, 30 of it 不参与优惠, a gold member (9 折) with 满50减10 and 3,000 points:
# 70 → 63 (member_fen 63 + 30 = 93, benefit 7); 63 meets 满50: 10 off → 53; points at most
# 50 % of 53 (26.50 yuan: 2,650 points); paid 53 - 26.50 + 30 = 56.50, which earns at gold
# (150 %) 56.5 × 1.5 = 84.75 → 84 points (on the 26.50 discountable alone it would be 39).
UNDISCOUNTED = 3000
UNDISCOUNTED_PAYABLE = 5650


def lines_of(live, no: str) -> list[tuple]:
    with live.session() as s, s.read():
        order = s.scalar(select(Order).where(Order.out_trade_no == no))
        return [(line.name, line.category, line.unit_price_fen, line.amount_fen, line.benefit)
                for line in s.scalars(select(OrderLine).where(OrderLine.order_id == order.id)
                                      .order_by(OrderLine.id))]


def test_the_undiscounted_part_gets_no_benefit_coupon_or_points_but_earns(  # noqa: F811
        shop, live_shop, store):
    m, code = member(shop, live_shop, "oMiniPlain", points_=3000, balance_fen=20000)
    url = f"stores/S01/checkout?amount_fen={AMOUNT}&undiscounted_fen={UNDISCOUNTED}"
    q = shop.get(f"{url}&coupon={code}", m).json()
    assert (q["amount_fen"], q["undiscounted_fen"], q["member_fen"], q["benefit_fen"],
            q["benefit"]) == (10000, 3000, 9300, 700, "金卡 9 折")
    assert q["coupon"]["saving_fen"] == 1000
    assert {c["code"]: c["saving_fen"] for c in q["usable_coupons"]}[code] == 1000
    assert q["points_max"] == {"points": 2650, "fen": 2650}  # 50 % of 53 yuan, not of 83
    assert (q["payable_fen"], q["points_to_earn"]) == (9300 - 1000, 124)  # 83 yuan × 1.5
    q = shop.get(f"{url}&coupon={code}&points=2650", m).json()
    assert (q["points_used"], q["payable_fen"], q["points_to_earn"]) == (
        {"points": 2650, "fen": 2650}, UNDISCOUNTED_PAYABLE, 84)
    more = shop.get(f"{url}&coupon={code}&points=3000", m).json()  # capped at 50 % of 53
    assert more["points_used"] == {"points": 2650, "fen": 2650}
    # 0 is none: the figures of the amount alone.
    plain = shop.get(f"stores/S01/checkout?amount_fen={AMOUNT}&undiscounted_fen=0", m).json()
    assert (plain["undiscounted_fen"], plain["member_fen"], plain["payable_fen"]) == (
        0, 9000, 9000)

    res = pay(shop, m, coupon=code, points=2650, undiscounted_fen=UNDISCOUNTED)
    assert res.status_code == 200, res.text
    p = res.json()["payment"]
    assert (p["amount_fen"], p["undiscounted_fen"], p["benefit_fen"], p["coupon_saving_fen"],
            p["points_used"], p["payable_fen"], p["points_earned"]) == (
        10000, 3000, 700, 1000, {"points": 2650, "fen": 2650}, UNDISCOUNTED_PAYABLE, 84)
    assert books(live_shop, m.card_no) == {"points": 3000 - 2650 + 84,
                                           "balance_fen": 20000 - UNDISCOUNTED_PAYABLE,
                                           "spend_fen": UNDISCOUNTED_PAYABLE}
    # Two lines, adding up to the member's amount (what the coupon and points came off).
    lines = lines_of(live_shop, p["out_trade_no"])
    assert lines == [("到店消费", "到店消费", 7000, 6300, "tier"),
                     ("不参与优惠", "不参与优惠", 3000, 3000, None)]
    assert sum(line[3] for line in lines) == 9300 == 1000 + 2650 + UNDISCOUNTED_PAYABLE
    assert shop.get(f"me/store-payments/{p['out_trade_no']}", m).json() == {"payment": p}
    # Without it, one line as before.
    other = pay(shop, m, amount_fen=2000).json()["payment"]
    assert other["undiscounted_fen"] == 0
    assert lines_of(live_shop, other["out_trade_no"]) == [
        ("到店消费", "到店消费", 2000, 1800, "tier")]


def test_a_coupon_met_only_with_the_undiscounted_part_is_not_offered(  # noqa: F811
        shop, live_shop, store):
    m, code = member(shop, live_shop, "oMiniMinSpend", points_=3000, balance_fen=20000)
    whole = shop.get("stores/S01/checkout?amount_fen=6000", m).json()  # 54 yuan ≥ 满50
    assert code in {c["code"] for c in whole["usable_coupons"]}
    q = shop.get("stores/S01/checkout?amount_fen=6000&undiscounted_fen=2000", m).json()
    assert (q["member_fen"], q["payable_fen"]) == (3600 + 2000, 5600)  # 40 → 36 < 满50
    assert code not in {c["code"] for c in q["usable_coupons"]}
    assert q["points_max"] == {"points": 1800, "fen": 1800}  # 50 % of 36 yuan
    for res in (shop.get(f"stores/S01/checkout?amount_fen=6000&undiscounted_fen=2000"
                         f"&coupon={code}", m),
                pay(shop, m, amount_fen=6000, undiscounted_fen=2000, coupon=code)):
        assert (res.status_code, res.json()["code"]) == (409, "BELOW_MINIMUM_SPEND")
    # All of it undiscounted: no coupon, no points, paid in full, earning.
    q = shop.get("stores/S01/checkout?amount_fen=6000&undiscounted_fen=6000", m).json()
    assert (q["member_fen"], q["benefit_fen"], q["benefit"], q["usable_coupons"],
            q["points_max"], q["payable_fen"], q["points_to_earn"]) == (
        6000, 0, None, [], {"points": 0, "fen": 0}, 6000, 90)
    for body in ({"coupon": code}, {"points": 100}):
        res = pay(shop, m, amount_fen=6000, undiscounted_fen=6000, **body)
        assert (res.status_code, res.json()["code"], res.json()["message"]) == (
            400, "INVALID_AMOUNT", "全部金额不参与优惠，不能使用优惠券或积分。")
    assert coupon_status(live_shop, code) == "available"
    assert count(live_shop, StorePayment) == 0
    p = pay(shop, m, amount_fen=6000, undiscounted_fen=6000).json()["payment"]
    assert (p["payable_fen"], p["points_earned"]) == (6000, 90)
    assert lines_of(live_shop, p["out_trade_no"]) == [
        ("不参与优惠", "不参与优惠", 6000, 6000, None)]


def test_undiscounted_refusals_and_the_idempotency_key(shop, live_shop, store):  # noqa: F811
    m, code = member(shop, live_shop, "oMiniBadPart", balance_fen=20000)
    before = books(live_shop, m.card_no)
    for value, message in ((-1, "不参与优惠金额须为不小于 0 的金额。"),
                           (10001, "不参与优惠金额不能超过消费金额。"),
                           ("abc", "不参与优惠金额须为不小于 0 的金额。")):
        res = shop.get(f"stores/S01/checkout?amount_fen={AMOUNT}&undiscounted_fen={value}", m)
        assert (res.status_code, res.json()["code"], res.json()["message"]) == (
            400, "INVALID_AMOUNT", message), value
    for value in (-1, 10001, "3000", 30.5, True):
        res = pay(shop, m, undiscounted_fen=value)
        assert (res.status_code, res.json()["code"]) == (400, "INVALID_AMOUNT"), value
        assert "不参与优惠金额" in res.json()["message"]
    assert books(live_shop, m.card_no) == before and count(live_shop, StorePayment) == 0

    key = str(uuid.uuid4())
    first = pay(shop, m, key, undiscounted_fen=UNDISCOUNTED)
    assert first.status_code == 200 and first.json()["payment"]["payable_fen"] == 9300
    other = pay(shop, m, key, undiscounted_fen=2000)  # the same key, another body
    assert (other.status_code, other.json()["code"]) == (409, "TILL_REQUEST_CONFLICT")
    assert pay(shop, m, key, undiscounted_fen=UNDISCOUNTED).json()["replayed"] is True
    # None and 0 are the same body as leaving it out.
    key = str(uuid.uuid4())
    assert pay(shop, m, key, amount_fen=1000).status_code == 200
    assert pay(shop, m, key, amount_fen=1000, undiscounted_fen=0).json()["replayed"] is True
    assert pay(shop, m, key, amount_fen=1000, undiscounted_fen=None).json()["replayed"] is True
    assert count(live_shop, StorePayment) == 2


def test_a_wechat_payment_keeps_its_undiscounted_part(shop, live_shop,  # noqa: F811
                                                     mini_sandbox, store):
    m, code = member(shop, live_shop, "oMiniWxPart", points_=3000)
    res = pay(shop, m, coupon=code, points=2650, undiscounted_fen=UNDISCOUNTED,
              pay_with="wechat")
    assert res.status_code == 200, res.text
    p = res.json()["payment"]
    assert (p["status"], p["undiscounted_fen"], p["payable_fen"]) == (
        "created", UNDISCOUNTED, UNDISCOUNTED_PAYABLE)
    assert mini_sandbox.merchant.orders[p["out_trade_no"]]["amount"]["total"] == 5650
    with live_shop.session() as s, s.read():
        row = s.scalar(select(StorePayment).where(StorePayment.out_trade_no == p["out_trade_no"]))
        assert (row.undiscounted_fen, row.member_fen) == (UNDISCOUNTED, 9300)
    assert mini_sandbox.merchant.pay(p["out_trade_no"]).status == 204
    polled = shop.get(f"me/store-payments/{p['out_trade_no']}", m).json()["payment"]
    assert (polled["status"], polled["undiscounted_fen"], polled["points_earned"]) == (
        "paid", UNDISCOUNTED, 84)
    assert lines_of(live_shop, p["out_trade_no"]) == [
        ("到店消费", "到店消费", 7000, 6300, "tier"), ("不参与优惠", "不参与优惠", 3000, 3000, None)]
    assert books(live_shop, m.card_no) == {"points": 3000 - 2650 + 84, "balance_fen": 0,
                                           "spend_fen": UNDISCOUNTED_PAYABLE}


def test_paying_is_rate_limited_per_member_and_quoting_is_not(db_url, mini_sandbox,  # noqa: F811
                                                             merchant_cert, tmp_path):
    """A member's payments are limited (WX_API_PAY_LIMIT, here 3 a minute: the 4th is 429
    with Retry-After, nothing written), another member's are not, and the quote a member
    asks for as they type has no limit."""
    from api_helpers import ApiClient, api_config
    from conftest import serve
    from wxpay_helpers import merchant_settings
    for live in serve(api_config(db_url, mini_sandbox, pay_rate_limit="3/minute",
                                 **merchant_settings(mini_sandbox, merchant_cert, tmp_path))):
        api = ApiClient(live, mini_sandbox)
        open_store(live, "S01", "静安店")
        busy, _ = member(api, live, "oMiniBusy", "normal", balance_fen=10000, coupon=False)
        calm, _ = member(api, live, "oMiniCalm", "normal", balance_fen=10000, coupon=False)
        assert [pay(api, busy, amount_fen=100).status_code for _ in range(3)] == [200] * 3
        refused = pay(api, busy, amount_fen=100)
        assert (refused.status_code, refused.json()["code"]) == (429, "RATE_LIMITED")
        assert refused.json()["message"] == "操作太频繁，请稍后再试。"
        assert int(refused.headers["Retry-After"]) > 0
        assert books(live, busy.card_no)["balance_fen"] == 10000 - 3 * 100
        assert pay(api, calm, amount_fen=100).status_code == 200
        assert all(api.get(f"stores/S01/checkout?amount_fen={100 + i}", busy).status_code == 200
                   for i in range(8))
