"""The member's wallet over HTTP: coupons in three lists with local validity days and their
rules, coupons used at the till (only by their owner), the stored-value ledger with
Chinese reasons, and the recharge ladder."""
from __future__ import annotations

from datetime import datetime, timedelta

from api_helpers import (CASHIER, api, live_api, member_code, member_id,  # noqa: F401
                         mini_sandbox)
from wx_member.models import Member, utcnow
from wx_member.payments import balance_payments
from wx_member.coupons import templates
from wx_member.coupons import redeeming, wallet
from wx_member.payments import stored_value
from wx_member.coupons.templates import TemplateSpec
from wx_member.clock import local_day
from wx_member.config import Config

TZ = Config().tz
VOUCHER, OFF_50_10 = 1, 2  # seeded templates: 10元代金券, 满50减10 (30 days each)


def _issue(live, card_no: str, template_id: int, key: str, days_ago: int = 0) -> str:
    with live.session() as s:
        c = wallet.issue(s, card_no, template_id, key, by="test",
                          now=utcnow() - timedelta(days=days_ago))
        return c.code


def _codes(api, member, status: str | None = None, **params) -> list[str]:
    if status:
        params["status"] = status
    res = api.get("me/coupons", member, params=params)
    assert res.status_code == 200, res.text
    return [c["code"] for c in res.json()["coupons"]]


def test_coupons_are_listed_by_status_in_force_now(api, live_api):
    me = api.login("oWallet")
    (signup,) = _codes(api, me)  # the sign-up gift of a new member
    with live_api.session() as s:
        latte = templates.add(s, TemplateSpec(name="拿铁兑换券", kind="item",
                                                     item="中杯拿铁", valid_days=7), by="t").id
    lapsed = _issue(live_api, me.card_no, VOUCHER, "w-lapsed", days_ago=40)
    with live_api.session() as s:
        assert redeeming.expire_due(s) == 1  # the daily job wrote this one
    overdue = _issue(live_api, me.card_no, VOUCHER, "w-overdue", days_ago=31)  # not yet
    used = _issue(live_api, me.card_no, OFF_50_10, "w-used")
    with live_api.session() as s:
        redeeming.redeem(s, used, me.card_no, "ORDER-1", 6000)
    void = _issue(live_api, me.card_no, VOUCHER, "w-void")
    with live_api.session() as s:
        redeeming.void(s, void, "issued by mistake", by="test")
    voucher = _issue(live_api, me.card_no, VOUCHER, "w-voucher")
    item = _issue(live_api, me.card_no, latte, "w-item")

    assert _codes(api, me) == _codes(api, me, "available") == [item, voucher, signup]
    assert _codes(api, me, "used") == [used]
    assert _codes(api, me, "expired") == [overdue, lapsed]
    assert void not in str(api.get("me/coupons", me, params={"status": "expired"}).json())

    shown = api.get("me/coupons", me).json()["coupons"][1]
    issued = datetime.fromisoformat(shown["issued_at"]).replace(tzinfo=None)
    assert shown == {
        "code": voucher, "name": "入会礼 10元代金券", "text": "10元代金券", "status": "available",
        "status_zh": "可使用", "first_day": local_day(issued, TZ).isoformat(),
        "last_day": local_day(issued + timedelta(days=30, seconds=-1), TZ).isoformat(),
        "valid_until": shown["valid_until"], "issued_at": shown["issued_at"], "used_at": None,
        "order_no": None, "discount_fen": None,
        "rules": {"kind": "amount_off", "kind_zh": "满减", "min_spend_fen": 0,
                  "amount_off_fen": 1000, "percent_off": None, "cap_fen": None, "item": None,
                  "min_tier": None, "min_tier_name": None},
        "stores": [], "where": "全部门店可用"}
    item_shown = api.get(f"me/coupons/{item.lower()}", me).json()
    assert (item_shown["text"], item_shown["rules"]["item"]) == ("兑换：中杯拿铁", "中杯拿铁")
    used_shown = api.get(f"me/coupons/{used}", me).json()
    assert (used_shown["status_zh"], used_shown["order_no"], used_shown["discount_fen"],
            used_shown["text"]) == ("已使用", "ORDER-1", 1000, "满50减10")
    assert api.get(f"me/coupons/{overdue}", me).json()["status_zh"] == "已过期"
    assert api.get(f"me/coupons/{void}", me).json()["status_zh"] == "已作废"

    page = api.get("me/coupons", me, params={"status": "expired", "limit": 1}).json()
    assert [c["code"] for c in page["coupons"]] == [overdue]
    rest = _codes(api, me, "expired", before=page["next_before"], limit=1)
    assert rest == [lapsed]
    for bad in ({"status": "void"}, {"status": "all"}, {"limit": 0}, {"member_id": 1}):
        res = api.get("me/coupons", me, params=bad)
        assert (res.status_code, res.json()["code"]) == (422, "VALIDATION_FAILED"), bad


def test_coupons_are_used_at_the_till_by_their_owner_only(api, live_api):
    alice, bob = api.login("oAliceC"), api.login("oBobC")
    (alice_gift,), (bob_gift,) = _codes(api, alice), _codes(api, bob)  # sign-up gifts
    hers = _issue(live_api, alice.card_no, OFF_50_10, "c-alice")
    assert _codes(api, bob) == [bob_gift]
    res = api.get(f"me/coupons/{hers}", bob)
    assert (res.status_code, res.json()) == (404, {"code": "COUPON_NOT_FOUND",
                                                   "message": "优惠券不存在。"})
    for code in ("NOSUCHCODE22", "X" * 40, "a-b", "%00"):
        assert api.get(f"me/coupons/{code}", alice).status_code == 404

    # Bob at the till with his own member code and Alice's coupon: refused, nothing used.
    body = {"code": member_code(api, bob), "coupon_code": hers, "order_no": "POS-7",
            "amount_fen": 6000}
    res = api.post("cashier/coupons/redeem", json=body, headers=CASHIER)
    assert (res.status_code, res.json()) == (409, {"code": "COUPON_NOT_YOURS",
                                                   "message": "这张优惠券不属于您。"})
    assert _codes(api, alice) == [hers, alice_gift]

    body["code"] = member_code(api, alice)
    res = api.post("cashier/coupons/redeem", json={**body, "amount_fen": 4000}, headers=CASHIER)
    assert (res.status_code, res.json()["code"]) == (409, "BELOW_MINIMUM_SPEND")
    assert res.json()["message"] == "满50元可用，本单未达到使用门槛。"
    res = api.post("cashier/coupons/redeem", json=body, headers=CASHIER)
    assert res.status_code == 200, res.text
    assert res.json() == {"card_no": alice.card_no, "coupon_code": hers, "text": "满50减10",
                          "order_no": "POS-7", "discount_fen": 1000, "item": None,
                          "replayed": False}
    assert api.post("cashier/coupons/redeem", json=body, headers=CASHIER).json()["replayed"]
    res = api.post("cashier/coupons/redeem", json={**body, "order_no": "POS-8",
                                                   "code": member_code(api, alice)},
                   headers=CASHIER)
    assert (res.status_code, res.json()) == (409, {"code": "COUPON_USED",
                                                   "message": "优惠券已使用。"})
    assert (_codes(api, alice), _codes(api, alice, "used")) == ([alice_gift], [hers])
    res = api.post("cashier/coupons/redeem", json=body)
    assert (res.status_code, res.json()["code"]) == (401, "CASHIER_UNAUTHORIZED")


def test_stored_value_ledger_is_paged_with_chinese_reasons(api, live_api):
    me, other = api.login("oBalance"), api.login("oOther")
    with live_api.session() as s, s.begin():
        member = s.get(Member, member_id(live_api, me.card_no))
        stored_value.post(s, member, 50000, "recharge", "recharge:T1", "T1")
        stored_value.post(s, member, 5000, "recharge_bonus", "recharge_bonus:T1", "T1")
    with live_api.session() as s:
        balance_payments.pay(s, me.card_no, 1234, "POS-55", by="till 3")

    page = api.get("me/balance", me, params={"limit": 2}).json()
    assert page["balance_fen"] == 53766 == api.get("me/card", me).json()["balance_fen"]
    assert [(e["delta_fen"], e["reason_zh"], e["order_no"]) for e in page["entries"]] == [
        (-1234, "储值消费", "POS-55"), (5000, "充值赠送", "T1")]
    rest = api.get("me/balance", me, params={"before": page["next_before"]}).json()
    assert [(e["delta_fen"], e["reason_zh"]) for e in rest["entries"]] == [(50000, "储值充值")]
    assert rest["next_before"] is None
    assert sum(e["delta_fen"] for e in page["entries"] + rest["entries"]) == page["balance_fen"]
    assert api.get("me/balance", other).json() == {"balance_fen": 0, "entries": [],
                                                   "next_before": None}
    res = api.get("me/balance", other, params={"member_id": member_id(live_api, me.card_no)})
    assert res.status_code == 422


def test_recharge_options_are_the_ladder_operators_set(api, live_api):
    me = api.login("oLadder")
    assert api.get("recharge/options", me).json() == {"options": [
        {"amount_fen": 50000, "bonus_fen": 5000, "text": "充500送50"},
        {"amount_fen": 100000, "bonus_fen": 12000, "text": "充1000送120"}]}
    with live_api.session() as s:
        stored_value.set_option(s, 20050, 1000, by="test")
    with live_api.session() as s:
        stored_value.set_option(s, 100000, 12000, by="test", active=False)
    assert [o["text"] for o in api.get("recharge/options", me).json()["options"]] == [
        "充200.50送10", "充500送50"]
    assert api.get("recharge/options").status_code == 401
