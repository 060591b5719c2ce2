"""A purchase is a purchase, whatever pays it: paying from the stored-value balance earns
points, tier spend and the referrer's share exactly as a WeChat Pay order does (one shared
body, orders.credit_purchase), once per order; refunding it returns the money to the
balance and reverses points as a WeChat refund does; the recharge itself earns nothing."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from sqlalchemy import func, select

from coupon_helpers import T0, factory, join, later
from points_helpers import SHANGHAI, configure
from wx_member.models import Member, Order, PointsLedger, TierHistory
from wx_member.payments import balance_payments, order_errors
from wx_member.loyalty import earn_rules
from wx_member.members import joining
from wx_member.payments import order_refunds, orders
from wx_member.loyalty import points
from wx_member.payments import stored_value
from wx_member.loyalty import tiers
from wx_member.wechat.pay import PaymentNotice, RefundNotice


def recharge(session, openid: str, fen: int, no: str, when=T0):
    return stored_value.record_recharge(session, PaymentNotice(
        "v3", no, f"tx-{no}", openid, fen, when, True, attach="recharge"), now=when)


def wechat_pay(session, openid: str, fen: int, no: str, when=T0):
    return orders.record_payment(session, PaymentNotice("v3", no, f"tx-{no}", openid, fen, when,
                                                        True), now=when, tz=SHANGHAI)


def wechat_refund(session, no: str, refund_no: str, fen: int, total: int, when=T0):
    return order_refunds.record_refund(session, RefundNotice("v3", no, refund_no,
                                                             f"id-{refund_no}", fen, total,
                                                             True, when),
                                       now=when, tz=SHANGHAI)


def pay(session, who: str, fen: int, no: str, when=T0):
    return balance_payments.pay(session, who, fen, no, by="till", now=when, tz=SHANGHAI)


def refund(session, no: str, fen: int, key: str, when=T0):
    return balance_payments.refund(session, no, fen, key, by="till", now=when, tz=SHANGHAI)


def snapshot(session, openid: str) -> dict:
    """What a member would notice: points (= ledger sum), balance (= ledger sum), spend,
    tier and the tier history's causes."""
    session.expire_all()
    with session.read():
        m = session.scalar(select(Member).where(Member.openid == openid))
        out = {"points": m.points_balance, "balance": m.balance_fen,
               "spend": m.total_spend_fen, "tier": m.tier,
               "moves": [(h.from_tier, h.to_tier, h.reason) for h in session.scalars(
                   select(TierHistory).where(TierHistory.member_id == m.id)
                   .order_by(TierHistory.id))]}
        assert points.ledger_sum(session, m.id) == m.points_balance >= 0
        assert stored_value.ledger_sum(session, m.id) == m.balance_fen >= 0
    return out


def lot(session, key: str) -> PointsLedger:
    with session.read():
        return session.scalar(select(PointsLedger).where(PointsLedger.idem_key == key))


def order_row(session, no: str) -> Order:
    with session.read():
        return session.scalar(select(Order).where(Order.out_trade_no == no)
                              .execution_options(populate_existing=True))


def test_a_balance_payment_earns_like_a_wechat_payment_and_replays_once(session):
    """Two members, one paying 250.50 yuan by WeChat Pay, one from the balance, on a 200%
    day: the same points, multiplier, lot expiry, spend and tier move (普通 → 银卡)."""
    earn_rules.add_days(session, date(2026, 12, 1), multiplier=200, name="双倍")
    join(session, "oWx")
    join(session, "oBal")
    recharge(session, "oBal", 100000, "RC-1")  # 1,000 yuan (+ 120 bonus): earns nothing
    assert snapshot(session, "oBal") == {"points": 10, "balance": 112000, "spend": 0,
                                         "tier": "normal", "moves": []}
    by_wechat = wechat_pay(session, "oWx", 25050, "WX-1", later(hours=1))
    by_balance = pay(session, "oBal", 25050, "SV-1", later(hours=1))
    assert by_balance.points == by_wechat.points == 501  # 250.5 × 1 × 100% × 200%
    assert by_balance.new_tier == by_wechat.new_tier == "silver"
    wx, sv = snapshot(session, "oWx"), snapshot(session, "oBal")
    assert sv == {**wx, "balance": 112000 - 25050}
    assert wx["moves"] == [("normal", "silver", "payment")]
    a, b = order_row(session, "WX-1"), order_row(session, "SV-1")
    assert (b.api, b.purpose, b.amount_fen, b.earn_multiplier, b.points_earned) == \
        ("bal", "purchase", 25050, 200, 501)
    assert (a.earn_multiplier, a.earn_rule_id) == (b.earn_multiplier, b.earn_rule_id)
    assert lot(session, "order:SV-1").expires_at == lot(session, "order:WX-1").expires_at
    # The next payment earns at 银卡 (120%) on an ordinary day, paid either way.
    assert pay(session, "oBal", 10000, "SV-2", later(days=1)).points == 120
    # Replays: the till retrying, the same order from the card number, change nothing.
    before = snapshot(session, "oBal")
    with session.read():
        card_no = session.get(Member, b.member_id).card_no
    for who in ("oBal", card_no):
        again = pay(session, who, 25050, "SV-1", later(days=2))
        assert (again.replayed, again.points) == (True, 0)
    assert snapshot(session, "oBal") == before


def test_one_order_is_paid_by_one_means(session):
    join(session, "oOne")
    recharge(session, "oOne", 50000, "RC-2")
    wechat_pay(session, "oOne", 3000, "WX-2")
    with pytest.raises(balance_payments.PaidOtherwise) as refused:
        pay(session, "oOne", 3000, "WX-2")  # already paid by WeChat Pay
    assert refused.value.user_message == "该订单已通过其他方式支付。"
    with pytest.raises(balance_payments.PaidOtherwise):
        pay(session, "oOne", 3000, "RC-2")  # the recharge's own number
    pay(session, "oOne", 3000, "SV-3")
    with pytest.raises(order_errors.OrderMismatch):  # WeChat Pay says it paid it too: refused
        wechat_pay(session, "oOne", 3000, "SV-3")
    assert snapshot(session, "oOne")["balance"] == 55000 - 3000  # 充500送50, one payment
    assert snapshot(session, "oOne")["points"] == 10 + 30 + 30


def test_recharges_are_not_tier_spend_in_a_rolling_window(session):
    """With `tier_window_months`, the window counts purchases (balance ones included), not
    the recharge that funded them: the money counts once."""
    configure(session, tier_window_months=12)
    m = join(session, "oWin")
    recharge(session, "oWin", 100000, "RC-3")  # 1,000 yuan: would be 金卡 if counted
    assert snapshot(session, "oWin")["tier"] == "normal"
    assert pay(session, "oWin", 30000, "SV-4", later(hours=1)).new_tier == "silver"
    with session.read():
        assert tiers.window_spend(session, [m.id], later(days=-1)) == {m.id: 30000}


def test_the_referrers_share_counts_purchases_not_recharges(session):
    configure(session, referral_mode="percent", referral_percent=10, referral_orders=1)
    alice = join(session, "oAlice")
    with session.write():
        joining.join(session, "oBob", scene=f"ref_{alice.card_no}", now=T0)
    recharge(session, "oBob", 50000, "RC-4")  # not one of Bob's "first 1 orders"
    assert pay(session, "oBob", 20000, "SV-5").points == 200
    assert snapshot(session, "oAlice")["points"] == 10 + 20
    assert lot(session, "referral-order:SV-5").delta == 20


def test_refunding_a_balance_payment_returns_the_money_and_reverses_like_wechat(session):
    """The same two orders refunded the same way, one by WeChat Pay's notify, one to the
    balance: the same points taken back, the same spend and tier; the balance gets the
    money back (`pay_refund`), once per refund number."""
    join(session, "oWx")
    join(session, "oBal")
    recharge(session, "oBal", 50000, "RC-5")
    wechat_pay(session, "oWx", 29999, "WX-6")
    pay(session, "oBal", 29999, "SV-6")
    assert snapshot(session, "oBal")["tier"] == "silver"
    wechat_refund(session, "WX-6", "WR-1", 10001, 29999, later(days=1))
    first = refund(session, "SV-6", 10001, "SR-1", later(days=1))
    assert (first.replayed, first.points_reversed, first.balance_fen) == \
        (False, 99, 55000 - 29999 + 10001)  # floor(299 points × 10001 / 29999)
    wx, sv = snapshot(session, "oWx"), snapshot(session, "oBal")
    assert (sv["points"], sv["spend"], sv["tier"]) == (wx["points"], wx["spend"], wx["tier"])
    assert sv["tier"] == "normal"  # 199.98 yuan left: below 银卡 (200 yuan)
    # The same refund again (the till retrying): nothing changes.
    again = refund(session, "SV-6", 10001, "SR-1", later(days=2))
    assert again.replayed and snapshot(session, "oBal") == sv
    with pytest.raises(balance_payments.BalancePaymentMismatch):
        refund(session, "SV-6", 500, "SR-1")  # that number was another amount
    with pytest.raises(balance_payments.RefundRefused) as refused:
        refund(session, "SV-6", 19999, "SR-2")  # 19,998 fen left
    assert "剩余 19998 分" in refused.value.user_message
    with pytest.raises(balance_payments.NotABalancePayment):
        refund(session, "WX-6", 100, "SR-3")
    with pytest.raises(order_errors.UnknownOrder):
        refund(session, "NO-SUCH", 100, "SR-4")
    with pytest.raises(order_errors.OrderMismatch):  # WeChat cannot refund a balance payment
        wechat_refund(session, "SV-6", "WR-9", 100, 29999)
    assert snapshot(session, "oBal") == sv
    # The rest: everything the order earned is back, the balance as before the payment.
    wechat_refund(session, "WX-6", "WR-2", 19998, 29999, later(days=3))
    refund(session, "SV-6", 19998, "SR-5", later(days=3))
    wx, sv = snapshot(session, "oWx"), snapshot(session, "oBal")
    assert (sv["points"], sv["spend"], sv["balance"]) == (10, 0, 55000)
    assert (wx["points"], wx["spend"], wx["moves"]) == (10, 0, sv["moves"])
    assert order_row(session, "SV-6").status == "refunded"
    member_id = order_row(session, "SV-6").member_id
    with session.read():
        rows = stored_value.history(session, member_id)
    assert [(r.delta_fen, r.reason, r.idem_key) for r in rows[:2]] == [
        (19998, "pay_refund", "pay_refund:SR-5"), (10001, "pay_refund", "pay_refund:SR-1")]


def test_concurrent_balance_payments_and_refunds_keep_every_ledger_whole(session):
    """Eight tills paying eight orders from one balance, each order sent twice, then each
    order refunded in two parts by two tills each, all at once: every order credited once,
    every refund once, balance and points = their ledgers, spend back to zero."""
    join(session, "oRush")
    recharge(session, "oRush", 40000, "RC-7")  # 400 yuan, no rung: 8 × 50 yuan fit exactly
    sessions = factory(session)

    def run(job):
        with sessions() as s:
            kind, i = job
            if kind == "pay":
                return pay(s, "oRush", 5000, f"SV-R{i}")
            part, fen = (1, 2000) if kind == "refund-a" else (2, 3000)
            return refund(s, f"SV-R{i}", fen, f"SR-R{i}-{part}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        paid = list(pool.map(run, [("pay", i % 8) for i in range(16)]))
    assert sum(not p.replayed for p in paid) == 8
    after_pay = snapshot(session, "oRush")
    # The 4th order reaches 银卡 (200 yuan): the 5th to 8th earn 120%.
    assert (after_pay["balance"], after_pay["points"], after_pay["spend"], after_pay["tier"]) \
        == (0, 10 + 4 * 50 + 4 * 60, 40000, "silver")
    jobs = [(kind, i) for i in range(8) for kind in ("refund-a", "refund-b")] * 2
    with ThreadPoolExecutor(max_workers=8) as pool:
        done = list(pool.map(run, jobs))
    assert sum(not r.replayed for r in done) == 16
    end = snapshot(session, "oRush")
    assert (end["balance"], end["points"], end["spend"], end["tier"]) == (40000, 10, 0, "normal")
    with session.read():
        n_orders = session.scalar(select(func.count()).select_from(Order)
                                  .where(Order.status == "refunded", Order.api == "bal"))
    assert n_orders == 8
