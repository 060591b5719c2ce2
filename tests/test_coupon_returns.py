"""Coupons come back when the order they were used on is fully refunded (WeChat Pay or
balance), once, as a `coupon_event`; within validity they are available again, after it
expired; a partial refund keeps them used."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from coupon_helpers import T0, coupons_of, factory, join, later
from test_balance_earning import pay, recharge, refund, wechat_pay, wechat_refund
from wx_member.models import CouponEvent
from wx_member.coupons import redeeming, refusals


def return_events(session, coupon_id: int) -> list[tuple[str, str, str, str]]:
    with session.read():
        rows = session.scalars(select(CouponEvent).where(CouponEvent.coupon_id == coupon_id,
                                                         CouponEvent.reason == "refund")
                               .order_by(CouponEvent.id))
        return [(e.from_status, e.to_status, e.idem_key, e.order_no) for e in rows]


def signup_coupon(session, openid: str):
    m = join(session, openid)
    (c,) = coupons_of(session, m.id)  # 入会礼 10元代金券, valid 30 days from T0
    return m, c


def test_a_full_refund_returns_the_coupon_once_and_a_partial_one_does_not(session):
    m, c = signup_coupon(session, "oAnn")
    assert redeeming.redeem(session, c.code, "oAnn", "WX-1", 5000,
                              now=later(hours=1)).discount_fen == 1000
    wechat_pay(session, "oAnn", 4000, "WX-1", later(hours=1))
    wechat_refund(session, "WX-1", "WR-1", 1000, 4000, later(days=1))  # partial: kept
    (c,) = coupons_of(session, m.id)
    assert (c.status, c.order_no, return_events(session, c.id)) == ("used", "WX-1", [])
    # The rest, with WeChat Pay's retries arriving at once on several workers.
    sessions = factory(session)

    def notify(_):
        with sessions() as s:
            return wechat_refund(s, "WX-1", "WR-2", 3000, 4000, later(days=2)).credited

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert sorted(pool.map(notify, range(4))) == [False, False, False, True]
    (c,) = coupons_of(session, m.id)
    assert (c.status, c.order_no, c.discount_fen) == ("available", None, None)
    assert return_events(session, c.id) == [("used", "available", f"return:{c.id}:WR-2", "WX-1")]
    # Back in the wallet: usable on another order, not on the refunded one.
    code = c.code
    with pytest.raises(refusals.CouponRefused) as refused:
        redeeming.redeem(session, code, "oAnn", "WX-1", 5000, now=later(days=3))
    assert refused.value.user_message == "该订单已退款或撤销，优惠券不能再用于此订单。"
    assert redeeming.redeem(session, code, "oAnn", "WX-2", 6000,
                              now=later(days=3)).discount_fen == 1000
    (c,) = coupons_of(session, m.id)
    assert (c.status, c.order_no) == ("used", "WX-2")


def test_a_coupon_refunded_after_its_validity_comes_back_expired(session):
    m, c = signup_coupon(session, "oBen")
    redeeming.redeem(session, c.code, "oBen", "WX-3", 5000, now=later(days=29))
    wechat_pay(session, "oBen", 4000, "WX-3", later(days=29))
    wechat_refund(session, "WX-3", "WR-3", 4000, 4000, later(days=31))  # valid 30 days
    (c,) = coupons_of(session, m.id)
    assert (c.status, c.order_no) == ("expired", "WX-3")  # what it was used on, kept
    assert return_events(session, c.id) == [("used", "expired", f"return:{c.id}:WR-3", "WX-3")]
    assert redeeming.expire_due(session, now=later(days=32)) == 0  # nothing left to expire
    with pytest.raises(refusals.CouponExpired):
        redeeming.redeem(session, c.code, "oBen", "WX-4", 5000, now=later(days=32))


def test_refunding_a_balance_payment_in_full_returns_its_coupon(session):
    m, c = signup_coupon(session, "oCat")
    recharge(session, "oCat", 10000, "RC-1")
    redeeming.redeem(session, c.code, "oCat", "SV-1", 5000, now=T0)
    pay(session, "oCat", 4000, "SV-1")
    refund(session, "SV-1", 1500, "SR-1", later(days=1))
    assert coupons_of(session, m.id)[0].status == "used"
    refund(session, "SV-1", 2500, "SR-2", later(days=1))
    refund(session, "SV-1", 2500, "SR-2", later(days=2))  # the till retrying
    (c,) = coupons_of(session, m.id)
    assert c.status == "available"
    assert return_events(session, c.id) == [("used", "available", f"return:{c.id}:SR-2", "SV-1")]
