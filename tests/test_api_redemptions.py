"""积分兑换 over HTTP: the gift catalogue, redeeming once per Idempotency-Key (replays,
concurrent copies, the last gift in stock), refusals in Chinese that change nothing, the
per-member rate limit, other members' redemptions, and points off an order at the till."""
from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from api_helpers import (CASHIER, ApiClient, add_gift, api, api_config, give_points,  # noqa: F401
                         live_api, member_code, member_id, mini_sandbox)
from conftest import serve
from wx_member.models import Gift, Member, PointsLedger, PointsRedemption
from wx_member.loyalty import points


def _key() -> str:
    return str(uuid.uuid4())


def _redeem(api, member, gift_id, key, **body):
    return api.post("me/redemptions", member, json={"gift_id": gift_id, **body},
                    headers={"Idempotency-Key": key})


def _state(live, card_no: str) -> dict:
    """What a member would notice: balance (= ledger sum), ledger rows, redemptions."""
    mid = member_id(live, card_no)
    with live.session() as s, s.read():
        balance = s.scalar(select(Member.points_balance).where(Member.id == mid))
        assert balance == points.ledger_sum(s, mid)
        rows = s.scalar(select(func.count()).select_from(PointsLedger)
                        .where(PointsLedger.member_id == mid))
        redeemed = s.scalar(select(func.count()).select_from(PointsRedemption)
                            .where(PointsRedemption.member_id == mid))
    return {"balance": balance, "ledger_rows": rows, "redemptions": redeemed}


def _stock(live, gift_id: int) -> int:
    with live.session() as s, s.read():
        return s.scalar(select(Gift.stock).where(Gift.id == gift_id))


def test_catalogue_and_a_redemption_the_member_can_read_back(api, live_api):
    mug = add_gift(live_api, "会员马克杯", 80, 3)
    add_gift(live_api, "帆布袋", 300, 0)
    add_gift(live_api, "贴纸", 5, 100)
    me = api.login("oGift")
    give_points(live_api, me.card_no, 190, "g1")  # 10 + 190

    gifts = api.get("gifts", me).json()["gifts"]
    assert [(g["name"], g["points"], g["stock"]) for g in gifts] == [
        ("贴纸", 5, 100), ("会员马克杯", 80, 3), ("帆布袋", 300, 0)]

    res = _redeem(api, me, mug, _key())
    assert res.status_code == 200, res.text
    got = res.json()
    assert (got["points_balance"], got["replayed"]) == (120, False)
    r = got["redemption"]
    assert (r["kind"], r["gift_id"], r["gift_name"], r["quantity"], r["points"]) == (
        "gift", mug, "会员马克杯", 1, 80)
    assert api.get("me/card", me).json()["points"] == 120
    assert _stock(live_api, mug) == 2
    assert api.get("me/redemptions", me).json() == {"redemptions": [r], "next_before": None}
    assert api.get(f"me/redemptions/{r['id']}", me).json() == r
    history = api.get("me/points", me).json()["entries"]
    assert (history[0]["delta"], history[0]["reason_zh"]) == (-80, "积分兑换礼品")

    two = _redeem(api, me, mug, _key(), quantity=2)
    assert (two.status_code, two.json()["code"]) == (409, "INSUFFICIENT_POINTS")
    assert two.json()["message"] == "积分不足：兑换需要 160 积分，当前 120 积分。"


def test_replays_of_one_key_redeem_once_also_when_concurrent(api, live_api):
    mug = add_gift(live_api, "会员马克杯", 50, 10)
    me = api.login("oReplay")
    give_points(live_api, me.card_no, 490, "r1")
    key = _key()
    first = _redeem(api, me, mug, key).json()
    again = [_redeem(api, me, mug, key) for _ in range(2)]  # 10 calls: the per-minute limit
    with ThreadPoolExecutor(6) as pool:
        again += list(pool.map(lambda _: _redeem(api, me, mug, key), range(6)))
    for res in again:
        assert res.status_code == 200, res.text
        assert res.json()["replayed"] is True
        assert res.json()["redemption"] == first["redemption"]
    assert _state(live_api, me.card_no) == {"balance": 450, "ledger_rows": 3, "redemptions": 1}
    assert _stock(live_api, mug) == 9
    # The same key for another gift or quantity is a client bug: refused, nothing changes.
    res = _redeem(api, me, mug, key, quantity=2)
    assert (res.status_code, res.json()["code"]) == (409, "REDEMPTION_CONFLICT")
    assert res.json()["message"] == "该兑换请求已处理过，内容不一致。"
    assert _state(live_api, me.card_no)["balance"] == 450


def test_concurrent_redemptions_of_the_last_gift_one_wins(api, live_api):
    last = add_gift(live_api, "限量公仔", 100, 1)
    buyers = [api.login(f"oLast{i}") for i in range(8)]
    for b in buyers:
        give_points(live_api, b.card_no, 90, f"last:{b.card_no}")
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: _redeem(api, b, last, _key()), buyers))
    assert sorted(r.status_code for r in answers) == [200] + [409] * 7
    for res in answers:
        if res.status_code == 409:
            assert res.json() == {"code": "OUT_OF_STOCK", "message": "礼品已兑完，请选择其他礼品。"}
    assert _stock(live_api, last) == 0
    balances = sorted(_state(live_api, b.card_no)["balance"] for b in buyers)
    assert balances == [0] + [100] * 7


def test_refusals_say_why_in_chinese_and_change_nothing(api, live_api):
    dear = add_gift(live_api, "咖啡机", 100, 5)
    gone = add_gift(live_api, "帆布袋", 5, 0)
    me = api.login("oPoor")  # 10 sign-up points
    before = _state(live_api, me.card_no)
    cases = [
        (dear, {}, 409, "INSUFFICIENT_POINTS", "积分不足：兑换需要 100 积分，当前 10 积分。"),
        (gone, {}, 409, "OUT_OF_STOCK", "礼品已兑完，请选择其他礼品。"),
        (999999, {}, 404, "GIFT_NOT_FOUND", "礼品不存在或已下架。"),
    ]
    for gift_id, extra, status, code, message in cases:
        res = _redeem(api, me, gift_id, _key(), **extra)
        assert (res.status_code, res.json()) == (status, {"code": code, "message": message})
    for headers in ({}, {"Idempotency-Key": "short"}, {"Idempotency-Key": "有中文的键值有中文的键值"}):
        res = api.post("me/redemptions", me, json={"gift_id": dear}, headers={
            k: v.encode() for k, v in headers.items()})
        assert (res.status_code, res.json()["code"]) == (422, "VALIDATION_FAILED"), headers
    for body in ({"gift_id": dear, "quantity": 0}, {"gift_id": "x"}, {"gift_id": dear, "member_id": 1}):
        res = api.post("me/redemptions", me, json=body, headers={"Idempotency-Key": _key()})
        assert res.status_code == 422, body
    assert _state(live_api, me.card_no) == before
    assert (_stock(live_api, dear), _stock(live_api, gone)) == (5, 0)


def test_a_member_cannot_read_or_replay_another_members_redemption(api, live_api):
    mug = add_gift(live_api, "会员马克杯", 10, 10)
    alice, bob = api.login("oAliceR"), api.login("oBobR")
    give_points(live_api, alice.card_no, 10, "a")
    key = _key()
    mine = _redeem(api, alice, mug, key).json()["redemption"]
    res = api.get(f"me/redemptions/{mine['id']}", bob)
    assert (res.status_code, res.json()) == (404, {"code": "REDEMPTION_NOT_FOUND",
                                                   "message": "兑换记录不存在。"})
    for other in (0, mine["id"] + 1, 2**70):
        assert api.get(f"me/redemptions/{other}", alice).status_code == 404
    assert api.get("me/redemptions", bob).json() == {"redemptions": [], "next_before": None}
    # Alice's key in Bob's hands is Bob's own request: his points, not a view of hers.
    bobs = _redeem(api, bob, mug, key).json()
    assert bobs["replayed"] is False and bobs["redemption"]["id"] != mine["id"]
    assert (bobs["points_balance"], _state(live_api, alice.card_no)["balance"]) == (0, 10)


@pytest.fixture
def strict_api(db_url, mini_sandbox):
    for live in serve(api_config(db_url, mini_sandbox, redeem_rate_limit="3/minute")):
        yield ApiClient(live, mini_sandbox)


def test_redemptions_are_rate_limited_per_member(strict_api):
    api = strict_api
    mug = add_gift(api.live, "会员马克杯", 1, 100)
    alice, bob = api.login("oBusy"), api.login("oCalm")
    assert [_redeem(api, alice, mug, _key()).status_code for _ in range(3)] == [200] * 3
    res = _redeem(api, alice, mug, _key())
    assert (res.status_code, res.json()["code"]) == (429, "RATE_LIMITED")
    assert res.json()["message"] == "操作太频繁，请稍后再试。" and int(res.headers["Retry-After"]) > 0
    assert _state(api.live, alice.card_no)["redemptions"] == 3
    assert _redeem(api, bob, mug, _key()).status_code == 200  # counted per member


def test_points_off_an_order_at_the_till_once_per_order(api, live_api):
    me = api.login("oTill")
    give_points(live_api, me.card_no, 490, "t")  # 500 points
    code = member_code(api, me)
    body = {"code": code, "order_no": "POS-1001", "amount_fen": 3000, "points": 200}
    res = api.post("cashier/cash-off", json=body, headers=CASHIER)
    assert res.status_code == 200, res.text
    assert res.json() == {"card_no": me.card_no, "order_no": "POS-1001", "order_amount_fen": 3000,
                          "points": 200, "fen_off": 200, "points_balance": 300, "replayed": False}
    again = api.post("cashier/cash-off", json=body, headers=CASHIER).json()
    assert (again["replayed"], again["points_balance"], again["fen_off"]) == (True, 300, 200)
    res = api.post("cashier/cash-off", json={**body, "amount_fen": 4000}, headers=CASHIER)
    assert (res.status_code, res.json()["code"]) == (409, "REDEMPTION_CONFLICT")
    assert res.json()["message"] == "该订单已使用过积分抵扣。"
    # As many as allowed: at most half of a 4-yuan order, 200 fen for 200 points. (A code
    # is spent on its order: another order needs the member's fresh code.)
    code = member_code(api, me)
    res = api.post("cashier/cash-off", json={"code": code, "order_no": "POS-1002",
                                             "amount_fen": 400}, headers=CASHIER)
    assert (res.json()["fen_off"], res.json()["points_balance"]) == (200, 100)
    body["code"] = member_code(api, me)
    res = api.post("cashier/cash-off", json={**body, "order_no": "POS-1003", "points": 101},
                   headers=CASHIER)
    assert (res.status_code, res.json()["code"]) == (409, "INSUFFICIENT_POINTS")
    assert res.json()["message"] == "积分不足，当前仅有 100 积分。"
    mine = api.get("me/redemptions", me).json()["redemptions"]
    assert [(r["kind"], r["order_no"], r["fen_off"]) for r in mine] == [
        ("cash_off", "POS-1002", 200), ("cash_off", "POS-1001", 200)]
    # Only a till with the key, and only with the member's own fresh code.
    for headers in ({}, {"X-Cashier-Key": "wrong"}):
        res = api.post("cashier/cash-off", json={**body, "order_no": "POS-9"}, headers=headers)
        assert (res.status_code, res.json()["code"]) == (401, "CASHIER_UNAUTHORIZED")
    res = api.post("cashier/cash-off", me, json={**body, "order_no": "POS-9"})
    assert res.status_code == 401
    res = api.post("cashier/cash-off", json={**body, "code": me.token, "order_no": "POS-9"},
                   headers=CASHIER)
    assert (res.status_code, res.json()["code"]) == (400, "MEMBER_CODE_INVALID")
    assert _state(live_api, me.card_no) == {"balance": 100, "ledger_rows": 4, "redemptions": 2}
