"""Benefits configuration and the till's quote (use cases; the HTTP surface is tested in
test_till_api.py): tier discounts with exclusions, member days, member prices, coupons
and points, every rounding stated, nothing written."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from pricing_helpers import (T0, THURSDAY, counts, line, member, quote, signup_coupon)
from wx_member.models import Coupon
from wx_member.coupons.refusals import BelowMinimumSpend, CouponNotYours
from wx_member.payments import basket, benefits, price_lists
from wx_member.platform import audit


def test_seeded_tier_discounts_apply_on_an_ordinary_day(session):
    silver, gold = member(session, "s", "silver"), member(session, "g", "gold")
    body = {"lines": [line(quantity=2, unit_price_fen=3000), line("CAKE-1", "芝士蛋糕", "甜点",
                                                                     1, 2850)]}
    q = quote(session, body, silver)
    assert [(x["amount_fen"], x["benefit"]) for x in q["lines"]] == [(5700, "tier"),
                                                                      (2708, "tier")]
    # 2850 × 95% = 2707.5 → half up 2708
    assert q["lines_fen"] == q["payable_fen"] == 8408 and q["list_fen"] == 8850
    assert q["rounding"]["line_discount"] == "half_up_fen"
    assert quote(session, body, gold)["lines_fen"] == 5400 + 2565
    assert quote(session, body)["lines_fen"] == 8850  # a walk-in pays list prices


def test_member_day_replaces_the_tier_discount_and_exclusions_hold(session, ):
    silver = member(session, "s", "silver")
    benefits.set_tier_discount(session, "silver", 95, "甜点", by="ops")
    body = {"lines": [line(quantity=1, unit_price_fen=3000), line("CAKE-1", "芝士蛋糕", "甜点",
                                                                     1, 2000)]}
    tuesday = quote(session, body, silver, now=T0)  # 银卡会员日 8折, not 95% × 80%
    assert [(x["amount_fen"], x["benefit"]) for x in tuesday["lines"]] == [
        (2400, "member_day"), (1600, "member_day")]
    thursday = quote(session, body, silver)
    assert [(x["amount_fen"], x["benefit"]) for x in thursday["lines"]] == [
        (2850, "tier"), (2000, None)]  # 甜点 excluded from the tier discount
    day = benefits.add_member_day(session, benefits.MemberDaySpec(
        "每月3日", "monthday", 3, None, 50, 300, ["甜点"]), by="ops")
    third = quote(session, body, silver, now=THURSDAY)  # 3 December
    assert [x["amount_fen"] for x in third["lines"]] == [1500, 2000]
    assert third["points_multiplier"] == 300
    benefits.disable_member_day(session, day.id, by="ops")
    assert quote(session, body, silver)["points_multiplier"] == 100
    with session.read():
        actions = [e.action for e in audit.entries(session, action_prefix="benefits.")]
    assert actions == ["benefits.member_day.disable", "benefits.member_day.add",
                       "benefits.tier_discount"]


def test_member_price_from_a_csv_price_list(session):
    gold = member(session, "g", "gold")
    bad = price_lists.import_prices(session, "sku,tier,price_fen\nLATTE-M,银卡会员,2500\n"
                                             "bad sku,gold,1\nLATTE-M,platinum,1\nX,gold,-5\n"
                                             "LATTE-M,silver,2400\nY,gold\n", by="ops")
    assert bad.written == 0 and bad.errors == [
        "第 3 行：商品编码格式无效：bad sku（字母、数字、. _ -，最多 40 位）",
        "第 4 行：会员等级无效：platinum（可选 normal、silver、gold、diamond）。",
        "第 5 行：会员价须在 0–100000000 分之间：-5",
        "第 6 行：与第 2 行重复（LATTE-M 银卡会员）",
        "第 7 行：须有 3 列（sku,tier,price_fen），实有 2 列"]
    assert quote(session, {"lines": [line()]}, gold)["lines"][0]["benefit"] == "tier"
    ok = price_lists.import_prices(session, "sku,tier,price_fen\nLATTE-M,银卡会员,2500\n",
                                   by="ops")
    assert ok.written == 1 and not ok.errors
    # a gold member gets the silver price (the nearest tier below with one) when it is lower
    got = quote(session, {"lines": [line(quantity=3)]}, gold)["lines"][0]
    assert (got["amount_fen"], got["benefit"]) == (7500, "member_price")


def test_coupons_and_points_in_the_quote(session):
    m = member(session, "m", "normal", points_=5000)
    code = signup_coupon(session, m)
    body = {"lines": [line(quantity=2)]}
    q = quote(session, body, m)
    assert q["usable_coupons"] == [{**q["usable_coupons"][0], "code": code, "saving_fen": 1000}]
    assert q["points_max"] == {"points": 3000, "fen": 3000}  # 50 % cap of 6000
    q = quote(session, {**body, "coupons": [code], "points": 999}, m)
    assert q["coupons"] == [{"code": code, "amount_before_fen": 6000, "saving_fen": 1000}]
    assert q["points_used"] == {"points": 999, "fen": 999}
    assert q["payable_fen"] == 6000 - 1000 - 999 and q["points_to_earn"] == 40
    assert counts(session) == (0, 0, 0, 0)


def test_quote_refusals(session):
    m, other = member(session, "m"), member(session, "o")
    with pytest.raises(CouponNotYours):
        quote(session, {"lines": [line()], "coupons": [signup_coupon(session, other)]}, m)
    with session.write():
        c = session.scalar(select(Coupon).where(Coupon.member_id == m.id))
        c.template_id, code = 2, c.code  # 满50减10
    with pytest.raises(BelowMinimumSpend):
        quote(session, {"lines": [line()], "coupons": [code]}, m)
    for bad in ({"lines": [line(sku="拿铁")]}, {"lines": [line(quantity=-1)]},
                {"lines": [line(unit_price_fen=12.5)]}, {"lines": []},
                {"lines": [line(quantity=True)]}, {"lines": [line(unit_price_fen="100")]}):
        with pytest.raises(basket.InvalidBasket):
            quote(session, bad, m)
