"""Coupons: the sign-up gift on joining over the webhook, operator issues, redemption rules
and its once-only guarantee (also with concurrent cashiers), expiry, voiding."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from coupon_helpers import T0, coupons_of, events, factory, join, later, n_events
from helpers import member
from wx_member.coupons import templates as ct
from wx_member.coupons import redeeming, refusals, wallet
from wx_member.platform import settings
from wx_member.platform.errors import InvalidAmount, InvalidSetting, UnknownMember


def add(session, **kw):
    spec = {"name": "测试券", "kind": "amount_off", "amount_off_fen": 1000, "valid_days": 30}
    return ct.add(session, ct.TemplateSpec(**{**spec, **kw}), by="test")


def test_joining_over_the_webhook_issues_the_signup_voucher_once(live, sim):
    r = sim.subscribe("oAlice")
    assert "入会礼券：10元代金券" in r.reply["Content"]
    sim.unsubscribe("oAlice")
    again = sim.subscribe("oAlice")  # back again: no second gift
    assert "代金券" not in again.reply["Content"]
    alice = member(live, "oAlice")
    with live.session() as s:
        (c,) = coupons_of(s, alice.id)
        assert (c.status, c.cause, c.template_id) == ("available", f"signup:{alice.id}", 1)
        assert c.valid_until - c.valid_from == later(days=30) - T0
        assert events(s, c.id) == [(None, "available", "signup")]


def test_signup_coupon_follows_the_setting(session):
    settings.change(session, "signup_coupon_template", 0, by="ops")
    assert coupons_of(session, join(session, "oNone").id) == []
    settings.change(session, "signup_coupon_template", 2, by="ops")
    # A member who joined before is not a new member when they scan again.
    assert coupons_of(session, join(session, "oNone").id) == []
    (c,) = coupons_of(session, join(session, "oTwo").id)
    assert c.template_id == 2
    with pytest.raises(InvalidSetting):
        settings.change(session, "signup_coupon_template", 999, by="ops")
    ct.set_active(session, 2, False)  # a disabled template: joining still works, no coupon
    assert coupons_of(session, join(session, "oThree").id) == []


@pytest.mark.parametrize("bad", [
    {"kind": "gift"}, {"amount_off_fen": 0}, {"amount_off_fen": None},
    {"kind": "percent_off", "percent_off": 100}, {"kind": "item"}, {"valid_days": None},
    {"valid_from": T0, "valid_until": T0}, {"min_tier": "platinum"}, {"name": " "},
    {"min_spend_fen": -1}, {"valid_from": T0, "valid_until": later(days=1)},
], ids=lambda b: ",".join(b))
def test_bad_templates_are_refused_and_nothing_is_written(session, bad):
    with session.read():
        before = len(ct.all_templates(session))
    with pytest.raises(ct.InvalidTemplate):
        add(session, **bad)
    with session.read():
        assert len(ct.all_templates(session)) == before


def test_what_a_member_reads_on_a_coupon():
    def t(**kw):
        return ct.CouponTemplate(**{"min_spend_fen": 0, "min_tier": None, "cap_fen": None, **kw})
    assert ct.describe(t(kind="amount_off", amount_off_fen=1000, min_spend_fen=5000)) == "满50减10"
    assert ct.describe(t(kind="percent_off", percent_off=15, cap_fen=2000)) == "85折（最多减20元）"
    assert ct.describe(t(kind="item", item="中杯咖啡", min_tier="silver")) == \
        "兑换：中杯咖啡，限银卡会员及以上"


def test_operator_issue_is_once_per_key_and_respects_the_tier(session):
    bob = join(session, "oBob")
    bob_id = bob.id  # a refusal rolls back, expiring `bob`
    c = wallet.issue(session, "oBob", 2, key="apology-17", by="ops", note="等太久")
    assert c.status == "available" and len(c.code) == 12
    assert wallet.issue(session, bob.card_no, 2, key="apology-17", by="ops") is None
    with pytest.raises(refusals.TierTooLow) as refused:
        wallet.issue(session, "oBob", 4, key="gold-only", by="ops")
    assert refused.value.user_message == "该优惠券限金卡会员及以上。"
    with pytest.raises(UnknownMember):
        wallet.issue(session, "oNobody", 2, key="x", by="ops")
    assert [x.cause for x in coupons_of(session, bob_id, "operator")] == ["operator:apology-17"]


def test_discounts_of_each_kind(session):
    join(session, "oCara", tier="silver")
    pct = add(session, kind="percent_off", amount_off_fen=None, percent_off=20, cap_fen=1500)
    item = add(session, kind="item", amount_off_fen=None, item="中杯咖啡")
    full = wallet.issue(session, "oCara", 2, key="a", by="t", now=T0)
    part = wallet.issue(session, "oCara", pct.id, key="b", by="t", now=T0)
    free = wallet.issue(session, "oCara", item.id, key="c", by="t", now=T0)
    assert redeeming.redeem(session, full.code, "oCara", "O1", 5000, now=later(days=1)).discount_fen == 1000
    # 20% of 59.99 = 11.998 → 11.99 (rounded down); 20% of 100 = 20, capped at 15.
    assert redeeming.redeem(session, part.code, "oCara", "O2", 5999, now=later(days=1)).discount_fen == 1199
    r = redeeming.redeem(session, free.code, "oCara", "O3", 1, now=later(days=1))
    assert (r.discount_fen, r.item) == (0, "中杯咖啡")


def test_redeeming_twice_on_one_order_answers_the_same_and_writes_once(session):
    join(session, "oDan")
    c = wallet.issue(session, "oDan", 2, key="k", by="t", now=T0)
    first = redeeming.redeem(session, c.code, "oDan", "T100", 8000, now=later(hours=1))
    again = redeeming.redeem(session, c.code.lower(), "oDan", "T100", 8000, now=later(hours=2))
    assert (first.replayed, again.replayed) == (False, True)
    assert first.discount_fen == again.discount_fen == 1000
    assert events(session, c.id) == [(None, "available", "operator"),
                                     ("available", "used", "redeem")]
    with pytest.raises(refusals.CouponUsed) as refused:
        redeeming.redeem(session, c.code, "oDan", "T200", 8000, now=later(hours=3))
    assert refused.value.user_message == "优惠券已使用。"


@pytest.mark.parametrize("case, error, message", [
    ("not-owner", refusals.CouponNotYours, "这张优惠券不属于您。"),
    ("min-spend", refusals.BelowMinimumSpend, "满50元可用，本单未达到使用门槛。"),
    ("too-early", refusals.CouponNotYetValid, "优惠券尚未到使用时间。"),
    ("too-late", refusals.CouponExpired, "优惠券已过期。"),
    ("tier", refusals.TierTooLow, "该优惠券限银卡会员及以上使用。"),
    ("void", refusals.CouponVoid, "优惠券已作废。"),
    ("unknown", refusals.CouponNotFound, "优惠券不存在。"),
])
def test_refused_redemptions_change_nothing(session, case, error, message):
    window = add(session, min_spend_fen=5000, valid_days=None, valid_from=later(days=1),
                 valid_until=later(days=8))
    join(session, "oEve", tier="silver")
    join(session, "oMallory")
    c = wallet.issue(session, "oEve", 3 if case == "tier" else window.id, key="k", by="t",
                      now=T0)
    if case == "tier":  # a refund took Eve back to 普通 after the coupon was issued
        join(session, "oEve", tier="normal")
    if case == "void":
        redeeming.void(session, c.code, "发错了", by="ops")
    args = {"code": c.code, "who": "oEve", "amount": 6000, "now": later(days=2)}
    eve_id = c.member_id  # the refusal rolls back, expiring `c`
    args.update({"not-owner": {"who": "oMallory"}, "min-spend": {"amount": 4999},
                 "too-early": {"now": later(hours=23)}, "too-late": {"now": later(days=8)},
                 "unknown": {"code": "NOPE"}}.get(case, {}))
    before = n_events(session)
    with pytest.raises(error) as refused:
        redeeming.redeem(session, args["code"], args["who"], "T1", args["amount"], now=args["now"])
    assert refused.value.user_message == message
    assert n_events(session) == before
    (after,) = coupons_of(session, eve_id, "operator")
    assert after.status == ("void" if case == "void" else "available") and after.order_no is None


def test_concurrent_redemptions_of_one_coupon_exactly_one_wins(session):
    join(session, "oFay")
    c = wallet.issue(session, "oFay", 2, key="k", by="t", now=T0)
    sessions = factory(session)

    def cashier(i: int):
        with sessions() as s:
            try:
                return redeeming.redeem(s, c.code, "oFay", f"T{i}", 6000, now=later(hours=1))
            except refusals.CouponUsed:
                return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        wins = [r for r in pool.map(cashier, range(8)) if r is not None]
    assert len(wins) == 1 and wins[0].discount_fen == 1000
    (used,) = coupons_of(session, c.member_id, "operator")
    assert (used.status, used.order_no) == ("used", wins[0].coupon.order_no)
    assert [e[1] for e in events(session, c.id)] == ["available", "used"]


def test_expiry_job_is_set_based_once_only_and_final(session):
    join(session, "oGus")
    soon = wallet.issue(session, "oGus", 2, key="a", by="t", now=T0)  # 30 days
    used = wallet.issue(session, "oGus", 2, key="b", by="t", now=T0)
    redeeming.redeem(session, used.code, "oGus", "T1", 5000, now=later(days=1))
    assert redeeming.expire_due(session, now=later(days=30, seconds=-1)) == 0
    # The sign-up voucher and `soon` are due; the used one stays used.
    assert redeeming.expire_due(session, now=later(days=30), batch=1) == 2
    assert redeeming.expire_due(session, now=later(days=31)) == 0
    statuses = {c.cause: c.status for c in coupons_of(session, soon.member_id)}
    assert sorted(statuses.values()) == ["expired", "expired", "used"]
    assert events(session, soon.id)[-1] == ("available", "expired", "expire")
    with pytest.raises(refusals.CouponExpired):
        redeeming.redeem(session, soon.code, "oGus", "T2", 5000, now=later(days=29))


def test_void_needs_a_reason_and_only_takes_available_coupons(session):
    join(session, "oHal")
    c = wallet.issue(session, "oHal", 2, key="a", by="t", now=T0)
    code, coupon_id = c.code, c.id  # refusals roll back, expiring `c`
    with pytest.raises(InvalidAmount):
        redeeming.void(session, c.code, " ", by="ops")
    redeeming.void(session, code, "发错了", by="ops")
    with pytest.raises(refusals.CouponVoid):
        redeeming.void(session, code, "again", by="ops")
    assert events(session, coupon_id)[-1] == ("available", "void", "void")
