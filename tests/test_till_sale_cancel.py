"""/till/v1/sales/cancel over real HTTP: a sale the customer walked away from gives back
the points and the coupon the till took off it, once (a retry, another till of the store
or several at once: one cancel); another store's till, a recorded sale, an unknown number
and a missing reason are refused with nothing changed; neither can be used on that sale
again, the coupon can on another."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from api_helpers import (SECRET_KEY, api, give_points, live_api, member_code,  # noqa: F401
                         mini_sandbox)
from till_helpers import three_tills


def _points(api, me) -> int:
    return api.get("me/card", me).json()["points"]


def _coupons(api, me) -> dict[str, str]:
    """The member's coupons and their lists, as the mini-program shows them."""
    return {c["code"]: status for status in ("available", "used", "expired")
            for c in api.get(f"me/coupons?status={status}", me).json()["coupons"]}


def _take(api, till, me, order_no: str, points: int = 200) -> str:
    """Points and the sign-up coupon taken off sale `order_no` at `till`: the coupon's code."""
    code = member_code(api, me)
    res = till.post("cash-off", json={"code": code, "order_no": order_no, "amount_fen": 3000,
                                      "points": points})
    assert res.status_code == 200, res.text
    (gift,) = [c for c, status in _coupons(api, me).items() if status == "available"]
    res = till.post("coupons/redeem", json={"code": code, "coupon_code": gift,
                                            "order_no": order_no, "amount_fen": 3000})
    assert res.status_code == 200, res.text
    return gift


def test_a_sale_the_customer_left_gives_back_its_points_and_coupon_once(api, live_api):
    sh1, sh2, _ = three_tills(live_api)
    me = api.login("oLeft")
    give_points(live_api, me.card_no, 490, "seed")  # 500 with the sign-up points
    gift = _take(api, sh1, me, "POS-9001")
    assert (_points(api, me), _coupons(api, me)[gift]) == (300, "used")

    res = sh1.post("sales/cancel", json={"order_no": "POS-9001", "reason": "顾客取消",
                                         "store_code": "SH001"})
    assert res.status_code == 200, res.text
    first = res.json()
    assert first == {"order_no": "POS-9001", "card_no": me.card_no, "points_back": 200,
                     "points_balance": 500, "coupons": [{"coupon_code": gift,
                                                         "status": "available"}],
                     "replayed": False}
    assert (_points(api, me), _coupons(api, me)[gift]) == (500, "available")
    latest = api.get("me/points", me).json()["entries"][0]  # what the member reads
    assert (latest["delta"], latest["reason_zh"]) == (200, "积分抵现撤销")

    # The store's other till retries, with other words: the first answer, nothing more.
    again = sh2.post("sales/cancel", json={"order_no": "POS-9001", "reason": "重试"})
    assert again.json() == {**first, "replayed": True}
    assert _points(api, me) == 500

    # Neither can be used on that sale again; the coupon can on another sale.
    code = member_code(api, me)
    res = sh1.post("cash-off", json={"code": code, "order_no": "POS-9001", "amount_fen": 3000})
    assert (res.status_code, res.json()["message"]) == (409, "该订单的积分抵扣已撤销。")
    res = sh1.post("coupons/redeem", json={"code": code, "coupon_code": gift,
                                           "order_no": "POS-9001", "amount_fen": 3000})
    assert (res.status_code, res.json()["message"]) == (
        409, "该订单已退款或撤销，优惠券不能再用于此订单。")
    res = sh1.post("coupons/redeem", json={"code": member_code(api, me), "coupon_code": gift,
                                           "order_no": "POS-9002", "amount_fen": 3000})
    assert res.status_code == 200, res.text


def test_refused_cancels_change_nothing(api, live_api):
    sh1, _, bj = three_tills(live_api)
    me = api.login("oKept")
    give_points(live_api, me.card_no, 490, "seed")
    gift = _take(api, sh1, me, "POS-9101")
    kept = (_points(api, me), _coupons(api, me)[gift])

    res = bj.post("sales/cancel", json={"order_no": "POS-9101", "reason": "顾客取消"})
    assert (res.status_code, res.json()) == (403, {
        "code": "SALE_OF_ANOTHER_STORE",
        "message": "该单号的积分或优惠券不是在本店使用的，本店不能撤销。"})
    res = sh1.post("sales/cancel", json={"order_no": "POS-NONE", "reason": "顾客取消"})
    assert (res.status_code, res.json()) == (404, {
        "code": "SALE_NOT_FOUND", "message": "该单号没有待退回的积分或优惠券（未使用过，或已退回）。"})
    for body in ({"order_no": "POS-9101"}, {"order_no": "POS-9101", "reason": ""},
                 {"order_no": "POS-9101", "reason": "x", "amount_fen": -1}):
        res = sh1.post("sales/cancel", json=body)
        assert (res.status_code, res.json()["code"]) == (422, "VALIDATION_FAILED"), body
    res = bj.post("sales/cancel", json={"order_no": "POS-9101", "reason": "x",
                                        "store_code": "SH001"})
    assert res.json()["code"] == "TILL_WRONG_STORE"
    assert (_points(api, me), _coupons(api, me)[gift]) == kept

    # The sale was then recorded as paid under its number: a refund's business now.
    res = sh1.post("orders", json={
        "member": {"card_no": me.card_no}, "order_no": "POS-9101",
        "lines": [{"sku": "LATTE-M", "name": "中杯拿铁", "category": "拿铁", "quantity": 1,
                   "unit_price_fen": 3000}],
        "payments": [{"method": "cash", "amount_fen": 3000}]})
    assert res.status_code == 200, res.text
    after_order = _points(api, me)
    res = sh1.post("sales/cancel", json={"order_no": "POS-9101", "reason": "顾客取消"})
    assert (res.status_code, res.json()) == (409, {
        "code": "SALE_RECORDED", "message": "该单已收款入账，请走退款流程。"})
    assert (_points(api, me), _coupons(api, me)[gift]) == (after_order, "used")


def test_tills_cancelling_one_sale_at_once_give_back_once(api, live_api):
    sh1, sh2, _ = three_tills(live_api)
    me = api.login("oTwins")
    give_points(live_api, me.card_no, 490, "seed")
    _take(api, sh1, me, "POS-9201", points=300)
    tills = [sh1, sh2] * 3
    with ThreadPoolExecutor(len(tills)) as pool:
        answers = list(pool.map(lambda t: t.post("sales/cancel", json={
            "order_no": "POS-9201", "reason": "顾客取消"}), tills))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    assert sorted(a.json()["replayed"] for a in answers) == [False] + [True] * 5
    assert _points(api, me) == 500
