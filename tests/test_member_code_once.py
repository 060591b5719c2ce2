"""Member codes are single use at the till: spent on one order, a replay on another order
is refused in Chinese while the code lives; the till's retry of the same order still
answers; two tills racing with one code get one success; housekeeping forgets expired
spends."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, select

from api_helpers import (CASHIER, api, give_points, live_api, member_code,  # noqa: F401
                         mini_sandbox)
from wx_member.clock import utcnow
from wx_member.models import MemberCodeUse, PointsLedger
from wx_member.platform import housekeeping

USED = {"code": "MEMBER_CODE_USED", "message": "会员码已使用，请让顾客刷新后重新出示。"}


def _cash_off(api, code, order_no, amount=3000, points=100):
    return api.post("cashier/cash-off", json={"code": code, "order_no": order_no,
                                             "amount_fen": amount, "points": points},
                    headers=CASHIER)


def test_a_code_spent_on_one_order_is_refused_on_another(api, live_api):
    me = api.login("oOnce")
    give_points(live_api, me.card_no, 990, "t")  # 1000 points
    code = member_code(api, me)
    assert api.post("cashier/resolve", json={"code": code}, headers=CASHIER).status_code == 200
    # A refused cash-off spends nothing: the code still works afterwards.
    res = _cash_off(api, code, "POS-1", points=5000)
    assert res.json()["code"] == "INSUFFICIENT_POINTS"
    assert _cash_off(api, code, "POS-1").json()["replayed"] is False
    assert _cash_off(api, code, "POS-1").json()["replayed"] is True  # the till's retry
    res = _cash_off(api, code, "POS-2")
    assert (res.status_code, res.json()) == (400, USED)
    res = api.post("cashier/resolve", json={"code": code}, headers=CASHIER)
    assert (res.status_code, res.json()) == (400, USED)
    res = api.post("cashier/coupons/redeem", json={"code": code, "coupon_code": "NOPE",
                                                   "order_no": "POS-3", "amount_fen": 100},
                   headers=CASHIER)
    assert res.json() == USED
    # A fresh code (even within the same second) works on the next order.
    assert _cash_off(api, member_code(api, me), "POS-2").status_code == 200
    with live_api.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(PointsLedger)
                        .where(PointsLedger.delta < 0)) == 2


def test_two_tills_racing_with_one_code_spend_it_once(api, live_api):
    me = api.login("oRace")
    give_points(live_api, me.card_no, 990, "t")
    code = member_code(api, me)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda n: _cash_off(api, code, f"RACE-{n}"), range(4)))
    assert sorted(r.status_code for r in answers) == [200, 400, 400, 400]
    assert all(r.json() == USED for r in answers if r.status_code == 400)
    with live_api.session() as s, s.read():
        assert s.scalar(select(func.count()).select_from(MemberCodeUse)) == 1


def test_housekeeping_forgets_spends_of_expired_codes(api, live_api):
    me = api.login("oPrune")
    give_points(live_api, me.card_no, 990, "t")
    assert _cash_off(api, member_code(api, me), "POS-P").status_code == 200
    with live_api.session() as s:
        assert housekeeping.prune_member_code_uses(s) == 0  # the code still lives
        assert housekeeping.prune_member_code_uses(s, utcnow() + timedelta(seconds=61)) == 1
