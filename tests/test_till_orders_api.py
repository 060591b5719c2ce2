"""/till/v1/quote, /orders and refunds over real HTTP (issue 13): two tills of one store and
one of another, one coupon wanted by concurrent orders (one wins), one order number sent
by several tills at once (credited once), bad input refused with nothing written."""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from api_helpers import (SECRET_KEY, api, give_points, live_api, member_code,  # noqa: F401
                         member_id, mini_sandbox)
from till_helpers import three_tills
from wx_member.members import stores
from wx_member.members.membership import card_number
from wx_member.platform import access_tokens, settings
from wx_member.payments import till_keys

LATTE = {"sku": "LATTE-M", "name": "中杯拿铁", "category": "拿铁", "quantity": 2,
         "unit_price_fen": 3000}


def _coupon(api, me) -> str:
    (coupon,) = [c for c in api.get("me/coupons", me).json()["coupons"]
                 if c["status"] == "available"]
    return coupon["code"]


def test_quote_then_order_then_refund_across_tills(api, live_api):
    sh1, sh2, bj = three_tills(live_api)
    me = api.login("oBuyer")
    give_points(live_api, me.card_no, 1000, "seed")
    code = _coupon(api, me)
    basket = {"member": {"code": member_code(api, me)}, "lines": [LATTE], "coupons": [code],
              "points": 500}
    q = sh1.post("quote", json=basket)
    assert q.status_code == 200, q.text
    quoted = q.json()
    assert quoted["payable_fen"] == 6000 - 1000 - 500 and quoted["rounding"]["line_discount"]
    order = {**basket, "order_no": "1001", "payments": [
        {"method": "cash", "amount_fen": 2000}, {"method": "card", "amount_fen": 2500}]}
    first = sh1.post("orders", json=order)
    assert first.status_code == 200, first.text
    got = first.json()
    assert (got["payable_fen"], got["points_earned"], got["points_balance"], got["replayed"]) \
        == (4500, quoted["points_to_earn"], 10 + 1000 - 500 + 45, False)
    assert got["lines"] == quoted["lines"]
    again = sh2.post("orders", json=order)  # the store's other till retries: the first answer
    assert again.json() == {**got, "replayed": True}
    other = sh2.post("orders", json={**order, "payments": [{"method": "cash", "amount_fen": 4500}]})
    assert (other.status_code, other.json()["code"]) == (409, "TILL_REQUEST_CONFLICT")
    # another store: its own number space, and it cannot reach SH001's order
    res = bj.post("orders/1001/refunds", json={"refund_no": "R1", "amount_fen": 100})
    assert (res.status_code, res.json()["code"]) == (404, "TILL_ORDER_NOT_FOUND")
    res = sh2.post("orders/1001/refunds", json={"refund_no": "R1", "lines": [
        {"sku": "LATTE-M", "quantity": 2}]})
    assert res.status_code == 200, res.text
    assert res.json()["points_restored"] == 500 and res.json()["order_status"] == "refunded"
    assert api.get("me/card", me).json()["points"] == 1010
    assert _coupon(api, me) == code  # back in the wallet


def test_bad_input_is_refused_clearly_and_writes_nothing(api, live_api):
    sh1, sh2, bj = three_tills(live_api)
    me = api.login("oBad")
    base = {"member": {"card_no": me.card_no}, "order_no": "9", "lines": [LATTE],
            "payments": [{"method": "cash", "amount_fen": 6000}]}
    cases = [
        ({**base, "lines": [{**LATTE, "quantity": 1.5}]}, 422, "VALIDATION_FAILED"),
        ({**base, "lines": [{**LATTE, "sku": "拿铁 大杯"}]}, 400, "INVALID_BASKET"),
        ({**base, "payments": [{"method": "cash", "amount_fen": -6000}]}, 400, "INVALID_BASKET"),
        ({**base, "payments": [{"method": "cash", "amount_fen": 5000}]}, 400,
         "PAYMENTS_DO_NOT_ADD_UP"),
        ({**base, "coupons": [_coupon(api, me)],
          "payments": [{"method": "cash", "amount_fen": 5000}]}, 403, "MEMBER_CODE_REQUIRED"),
        ({**base, "member": {"code": access_tokens.sign(
            SECRET_KEY, access_tokens.MEMBER_CODE, me.card_no, 60, time.time() - 600).token}},
         400, "MEMBER_CODE_EXPIRED"),
        # a card nobody holds, a mistyped one: found (and locked) by the purchase itself
        ({**base, "member": {"card_no": card_number(987654)}}, 404, "MEMBER_NOT_IDENTIFIED"),
        ({**base, "member": {"card_no": me.card_no[:-1] + str((int(me.card_no[-1]) + 1) % 10)}},
         404, "MEMBER_NOT_IDENTIFIED"),
    ]
    for body, status, code in cases:
        res = sh1.post("orders", json=body)
        assert (res.status_code, res.json()["code"]) == (status, code), (body, res.text)
        assert res.json()["message"]
    assert api.get("me/card", me).json()["points"] == 10
    with live_api.session() as uow:
        (first,) = [k for k in till_keys.keys(uow, "SH001") if k.label == "1号"]
        till_keys.revoke(uow, first.id, by="test")
    assert sh1.post("orders", json=base).json()["code"] == "TILL_KEY_REVOKED"
    with live_api.session() as uow:
        stores.close(uow, "SH001", by="test")
    assert sh2.post("orders", json=base).json()["code"] == "STORE_CLOSED"
    assert api.get("me/card", me).json()["points"] == 10
    assert bj.post("orders", json=base).status_code == 200  # BJ001 is open


def test_one_coupon_in_concurrent_orders_one_wins(api, live_api):
    sh1, sh2, bj = three_tills(live_api)
    me = api.login("oRace")
    code, who = _coupon(api, me), {"code": member_code(api, me)}

    def attempt(args):
        till, no = args
        return till.post("orders", json={"member": who, "order_no": no, "lines": [LATTE],
                                         "coupons": [code], "payments": [
                                             {"method": "cash", "amount_fen": 5000}]})
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(attempt, [(sh1, "C1"), (sh2, "C2"), (bj, "C3")]))
    assert sorted(r.status_code for r in results) == [200, 409, 409]
    assert {r.json()["code"] for r in results if r.status_code == 409} == {"COUPON_USED"}
    assert api.get("me/card", me).json()["points"] == 10 + 50


def test_one_order_number_at_once_is_credited_once(api, live_api):
    sh1, sh2, _ = three_tills(live_api)
    me = api.login("oTwice")
    body = {"member": {"card_no": me.card_no}, "order_no": "SAME", "lines": [LATTE],
            "payments": [{"method": "wechat", "amount_fen": 6000, "out_trade_no": "WX1"}]}
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda t: t.post("orders", json=body), [sh1, sh2, sh1, sh2]))
    assert [r.status_code for r in results] == [200] * 4
    assert sorted(r.json()["replayed"] for r in results) == [False, True, True, True]
    assert api.get("me/card", me).json()["points"] == 10 + 60


def test_an_order_paid_by_coupon_and_points_alone_is_refunded(api, live_api):
    sh1, sh2, _ = three_tills(live_api)
    with live_api.session() as uow:
        settings.change(uow, "points_cash_off_max_percent", 100, by="test")
    me = api.login("oFree")
    give_points(live_api, me.card_no, 3000, "seed")
    code = _coupon(api, me)
    cookie = {"sku": "COOKIE", "name": "曲奇", "category": "烘焙", "quantity": 1,
              "unit_price_fen": 500}
    basket = {"member": {"code": member_code(api, me)}, "lines": [{**LATTE, "quantity": 1},
              cookie], "coupons": [code], "points": 2500}
    assert sh1.post("quote", json=basket).json()["payable_fen"] == 0
    got = sh1.post("orders", json={**basket, "order_no": "F1", "payments": []})
    assert got.status_code == 200, got.text
    assert (got.json()["payable_fen"], got.json()["points_earned"],
            got.json()["points_balance"]) == (0, 0, 10 + 3000 - 2500)

    def card():
        return api.get("me/card", me).json()["points"], \
            [c["code"] for c in api.get("me/coupons", me).json()["coupons"]
             if c["status"] == "available"]
    # money it did not take, or more than was bought: refused, nothing written
    for body in ({"refund_no": "X1", "amount_fen": 100},
                 {"refund_no": "X2", "lines": [{"sku": "COOKIE", "quantity": 2}]}):
        res = sh2.post("orders/F1/refunds", json=body)
        assert (res.status_code, res.json()["code"]) == (409, "REFUND_REFUSED"), res.text
        assert res.json()["message"]
    assert card() == (510, [])
    # one line back: nothing to return yet (coupons and points come back with the whole order)
    part = sh2.post("orders/F1/refunds", json={"refund_no": "R1", "lines": [
        {"sku": "COOKIE", "quantity": 1}]})
    assert part.status_code == 200, part.text
    assert (part.json()["amount_fen"], part.json()["order_status"],
            part.json()["points_restored"]) == (0, "partially_refunded", 0)
    assert sh1.post("orders/F1/refunds", json={"refund_no": "R1", "lines": [
        {"sku": "COOKIE", "quantity": 1}]}).json() == {**part.json(), "replayed": True}
    assert sh1.post("orders/F1/refunds", json={"refund_no": "R1", "amount_fen": 0}) \
        .json()["code"] == "TILL_REQUEST_CONFLICT"
    assert card() == (510, [])
    # the last line: the coupon and the cash-off points come back, once
    full = {"refund_no": "R2", "lines": [{"sku": "LATTE-M", "quantity": 1}]}
    res = sh1.post("orders/F1/refunds", json=full)
    assert res.status_code == 200, res.text
    assert (res.json()["order_status"], res.json()["points_restored"],
            res.json()["points_reversed"], res.json()["points_balance"]) \
        == ("refunded", 2500, 0, 3010)
    assert sh2.post("orders/F1/refunds", json=full).json()["replayed"] is True
    assert card() == (3010, [code])
    again = sh1.post("orders/F1/refunds", json={"refund_no": "R3", "amount_fen": 0})
    assert (again.status_code, again.json()["code"]) == (409, "REFUND_REFUSED")
    # the whole order at once: amount 0
    basket["member"] = {"code": member_code(api, me)}
    assert sh1.post("orders", json={**basket, "order_no": "F2", "payments": []}) \
        .status_code == 200
    assert card() == (510, [])
    res = sh2.post("orders/F2/refunds", json={"refund_no": "R4", "amount_fen": 0})
    assert (res.status_code, res.json()["order_status"], res.json()["points_restored"]) \
        == (200, "refunded", 2500), res.text
    assert card() == (3010, [code])


def _seen(live, card_no):
    from wx_member.members import membership

    with live.session() as s, s.read():
        m = membership.by_card(s, card_no)
        return m.last_seen_at, m.window_at


def test_paying_cash_counts_as_activity_but_opens_no_customer_service_window(api, live_api):
    """WeChat lets a brand message a member for 48 hours after the member interacted with
    WeChat; paying cash at the counter is no such interaction, paying by WeChat is."""
    sh1, _, _ = three_tills(live_api)
    me = api.login("oCashOnly")
    before_seen, before_window = _seen(live_api, me.card_no)
    cash = {"member": {"card_no": me.card_no}, "lines": [LATTE], "order_no": "C1",
            "payments": [{"method": "cash", "amount_fen": 6000}]}
    assert sh1.post("orders", json=cash).status_code == 200
    seen, window = _seen(live_api, me.card_no)
    assert window == before_window and seen != before_seen
    paid = {**cash, "order_no": "W1",
            "payments": [{"method": "wechat", "amount_fen": 6000, "out_trade_no": "WXW1"}]}
    assert sh1.post("orders", json=paid).status_code == 200
    assert _seen(live_api, me.card_no)[1] not in (None, before_window)
