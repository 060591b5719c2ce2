"""Cancelling a cash-off whose order is never paid (or is cancelled): the points come back
once, with the expiry they had; a paid order's cash-off stands."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from points_helpers import SHANGHAI, at, balance_and_sum, configure, earn, expire, join
from test_balance_earning import wechat_pay, wechat_refund
from test_cli import run as cli
from wx_member.models import PointsLedger, PointsRedemption
from wx_member.loyalty import points_expiry
from wx_member.loyalty import redemption
from wx_member.platform.errors import InvalidAmount


def member_with(session, openid: str, n: int, when=at("2026-06-01 10:00")):
    configure(session, signup_points=0)
    m = join(session, openid, when)
    earn(session, m, n, f"seed:{openid}", when)
    return m


def restore_rows(session, member_id: int) -> list[tuple[int, str, object]]:
    with session.read():
        rows = session.execute(select(PointsLedger.delta, PointsLedger.idem_key,
                                      PointsLedger.expires_at)
                               .where(PointsLedger.member_id == member_id,
                                      PointsLedger.reason == "redeem_cancel")).all()
    return [tuple(r) for r in rows]


def test_a_cash_off_is_cancelled_once_and_the_order_cannot_use_points_again(session):
    m = member_with(session, "oAnn", 5000)
    redemption.cash_off(session, m, "T1", 6000)  # 3,000 points = 30 yuan off
    assert balance_and_sum(session, m.id) == (2000, 2000)
    r = redemption.cancel_cash_off(session, "T1", "订单取消")
    assert (r.points, r.replayed) == (3000, False)
    assert balance_and_sum(session, m.id) == (5000, 5000)
    assert restore_rows(session, m.id) == [(3000, "cashoff-cancel:T1", None)]
    again = redemption.cancel_cash_off(session, "T1", "重复")  # the shop retrying
    assert (again.points, again.replayed) == (3000, True)
    assert balance_and_sum(session, m.id) == (5000, 5000)
    with session.read():
        row = session.scalar(select(PointsRedemption).where(PointsRedemption.order_no == "T1"))
    assert (row.cancel_reason, row.cancelled_at is not None) == ("订单取消", True)
    mid = m.id  # the refusal rolls back, expiring `m`
    with pytest.raises(redemption.CashOffNotAllowed) as refused:
        redemption.cash_off(session, m, "T1", 6000)  # the checkout retrying after the cancel
    assert refused.value.user_message == "该订单的积分抵扣已撤销。"
    assert balance_and_sum(session, mid) == (5000, 5000)


def test_a_paid_orders_cash_off_stands_until_its_full_refund_gives_it_back(session):
    m = member_with(session, "oBen", 5000)
    mid = m.id  # refusals roll back, expiring `m`
    redemption.cash_off(session, m, "T2", 6000)
    wechat_pay(session, "oBen", 3000, "T2", at("2026-06-01 11:00"))  # 60 − 30 yuan paid
    for reason, error in (("", InvalidAmount), ("取消", redemption.CashOffCancelRefused)):
        with pytest.raises(error) as refused:
            redemption.cancel_cash_off(session, "T2", reason)
        assert refused.value.user_message in ("请填写撤销原因（最多 100 字）。", "订单已支付，积分抵扣不能撤销。")
    with pytest.raises(redemption.CashOffNotFound):
        redemption.cancel_cash_off(session, "T-none", "取消")
    wechat_refund(session, "T2", "R2a", 1000, 3000, at("2026-06-02 10:00"))
    with pytest.raises(redemption.CashOffCancelRefused):  # partly refunded: still a purchase
        redemption.cancel_cash_off(session, "T2", "取消")
    assert balance_and_sum(session, mid) == (2000 + 30 - 10, 2000 + 30 - 10)
    # The full refund gives the cash-off back by itself, once (WeChat Pay retries the notify).
    for _ in range(2):
        wechat_refund(session, "T2", "R2b", 2000, 3000, at("2026-06-02 10:00"))
    assert balance_and_sum(session, mid) == (5000, 5000)
    assert restore_rows(session, mid) == [(3000, "cashoff-cancel:T2", None)]
    again = redemption.cancel_cash_off(session, "T2", "整单退款")  # the shop asking too
    assert (again.points, again.replayed) == (3000, True)
    assert balance_and_sum(session, mid) == (5000, 5000)


def test_given_back_points_keep_their_expiry_and_lapse_if_it_has_passed(session):
    """Rolling 1 month: lot A (100, earned 10 Jan, counts through 10 Feb), lot B (100,
    earned 1 Feb, through 1 Mar). A cash-off on 5 Feb takes A. Cancelled on 15 Feb, its 100
    points are A's again: past their day, they lapse at the next run, not a month later."""
    configure(session, points_expiry_mode=1, points_expiry_months=1)
    m = member_with(session, "oCat", 100, at("2026-01-10 10:00"))
    earn(session, m, 100, "lot-b", at("2026-02-01 10:00"))
    redemption.cash_off(session, m, "T3", 20000, want_points=100, now=at("2026-02-05 10:00"))
    assert expire(session, "2026-02-11").points == 0  # A was spent: nothing lapses
    redemption.cancel_cash_off(session, "T3", "未支付", now=at("2026-02-15 10:00"))
    assert balance_and_sum(session, m.id) == (200, 200)
    with session.read():
        upcoming = [(e.points, e.expires_on.isoformat())
                    for e in points_expiry.upcoming(session, m.id, SHANGHAI)]
    assert upcoming == [(100, "2026-02-10"), (100, "2026-03-01")]
    assert expire(session, "2026-02-16").points == 100
    assert balance_and_sum(session, m.id) == (100, 100)
    assert expire(session, "2026-03-02").points == 100


def test_cancelled_before_the_day_they_count_through_the_points_last_until_then(session):
    configure(session, points_expiry_mode=1, points_expiry_months=1)
    m = member_with(session, "oDee", 100, at("2026-01-10 10:00"))
    earn(session, m, 100, "lot-b", at("2026-02-01 10:00"))
    redemption.cash_off(session, m, "T4", 20000, want_points=150, now=at("2026-02-05 10:00"))
    redemption.cancel_cash_off(session, "T4", "未支付", now=at("2026-02-06 10:00"))
    assert expire(session, "2026-02-11").points == 100  # A, on its own day
    assert expire(session, "2026-03-02").points == 100  # B
    assert balance_and_sum(session, m.id) == (0, 0)


def test_cli_cancels_a_cash_off(session, db_url):
    m = member_with(session, "oEve", 500)
    redemption.cash_off(session, m, "T5", 400)
    out = cli("points", "cancel-cash-off", "T5", "--reason", "顾客取消订单", db_url=db_url)
    assert out.returncode == 0 and "200 points given back for order T5" in out.stdout, out.stderr
    again = cli("points", "cancel-cash-off", "T5", "--reason", "x", db_url=db_url)
    assert "already cancelled" in again.stdout
    unknown = cli("points", "cancel-cash-off", "T6", "--reason", "x", db_url=db_url)
    assert unknown.returncode == 2 and "该订单没有使用积分抵扣" in unknown.stderr
    assert balance_and_sum(session, m.id) == (500, 500)
