"""/till/v1 over real HTTP (issue 13): a key per till and store (two tills of one store,
one of another: a key acts only for its own store), revoked keys and closed stores refused
in Chinese, identifying a member by the member code, the card number or a phone with the
card's last four digits (a miss says nothing of which part was wrong), the moved cashier
calls, and the OpenAPI document."""
from __future__ import annotations

from datetime import timedelta

import requests
from sqlalchemy import select

from api_helpers import (CASHIER, SECRET_KEY, api, live_api, member_code, member_id,  # noqa: F401
                         give_points, mini_sandbox)
from till_helpers import Till, three_tills
from wx_member.clock import utcnow
from wx_member.members import member_codes, stores
from wx_member.models import TillKey
from wx_member.payments import till_keys

NOT_FOUND = {"code": "MEMBER_NOT_IDENTIFIED", "message": "未找到该会员，请核对后重试，或请顾客出示会员码。"}


def test_two_tills_of_one_store_and_one_of_another_act_for_their_own_store(api, live_api):
    sh1, sh2, bj = three_tills(live_api)
    me = api.login("oTillA")
    assert [t.get("store").json()["code"] for t in (sh1, sh2, bj)] == ["SH001", "SH001", "BJ001"]
    assert sh1.get("store").json()["name"] == "人民广场店"
    for till in (sh1, sh2):
        res = till.identify(card_no=me.card_no, store_code="SH001")
        assert res.status_code == 200, res.text
    assert bj.identify(card_no=me.card_no).status_code == 200  # a member of the whole chain
    res = bj.identify(card_no=me.card_no, store_code="SH001")  # acting for another store
    assert (res.status_code, res.json()) == (403, {
        "code": "TILL_WRONG_STORE", "message": "该收银台密钥不属于此门店，不能代其他门店操作。"})
    body = {"code": member_code(api, me), "order_no": "POS-W1", "amount_fen": 3000,
            "store_code": "SH001"}
    assert bj.post("cash-off", json=body).json()["code"] == "TILL_WRONG_STORE"
    assert api.get("me/redemptions", me).json()["redemptions"] == []  # nothing was taken


def test_missing_unknown_revoked_keys_and_closed_stores_are_refused(api, live_api):
    sh1, sh2, bj = three_tills(live_api)
    me = api.login("oTillB")
    bad = {"code": "TILL_UNAUTHORIZED", "message": "收银台密钥无效，请检查收银系统中配置的密钥。"}
    for till in (Till(live_api, "wxt_" + "A" * 43), Till(live_api, "not-a-key")):
        res = till.identify(card_no=me.card_no)
        assert (res.status_code, res.json()) == (401, bad)
    for headers in ({}, {"Authorization": "Basic eDp5"}, CASHIER):  # the old shared key neither
        res = Till(live_api, None).get("store", headers=headers)
        assert (res.status_code, res.json()["code"]) == (401, "TILL_UNAUTHORIZED")
        assert "收银台密钥" in res.json()["message"]
    with live_api.session() as uow:
        (first,) = [k for k in till_keys.keys(uow, "SH001") if k.label == "1号"]
        till_keys.revoke(uow, first.id, by="test")
    res = sh1.identify(card_no=me.card_no)
    assert (res.status_code, res.json()) == (401, {
        "code": "TILL_KEY_REVOKED", "message": "该收银台密钥已被停用，请联系总部重新发放。"})
    assert sh2.identify(card_no=me.card_no).status_code == 200  # the store's other till
    with live_api.session() as uow:
        stores.close(uow, "SH001", by="test")
    res = sh2.identify(card_no=me.card_no)
    assert (res.status_code, res.json()) == (403, {
        "code": "STORE_CLOSED", "message": "该门店已关闭，收银台不能使用会员服务。"})
    assert bj.identify(card_no=me.card_no).status_code == 200  # another store is open
    with live_api.session() as uow:
        stores.edit(uow, "SH001", by="test", status="open")
    assert sh2.identify(card_no=me.card_no).status_code == 200


def test_identify_by_member_code_card_number_or_phone_and_last_four(api, live_api,
                                                                      mini_sandbox):
    (sh1, _, _) = three_tills(live_api)
    me = api.login("oTillC")
    other = api.login("oTillD")
    assert api.put("me/profile/phone", me, json={
        "code": mini_sandbox.issue_phone_code("13800138000")}).status_code == 200
    with live_api.session() as uow:
        stores.set_home_store(uow, member_id(live_api, me.card_no), "SH001", by="test")
    expected = {"card_no": me.card_no, "tier": "normal", "tier_name": "普通会员", "points": 10,
                "balance_fen": 0, "phone": "138****8000", "home_store": "SH001",
                "home_store_name": "人民广场店"}
    res = sh1.identify(code=member_code(api, me))
    assert res.status_code == 200, res.text
    assert res.json() == {**expected, "means": "code", "can_spend": True}
    assert sh1.identify(card_no=me.card_no).json() == {**expected, "means": "card",
                                                       "can_spend": False}
    for phone in ("13800138000", "+8613800138000"):
        res = sh1.identify(phone=phone, card_last4=me.card_no[-4:])
        assert res.json() == {**expected, "means": "phone", "can_spend": False}
    # Every miss answers alike: wrong last four, unknown phone, unknown or mistyped card,
    # another member's card digits.
    wrong4 = f"{(int(me.card_no[-4:]) + 1) % 10000:04d}"
    misses = [dict(phone="13800138000", card_last4=wrong4),
              dict(phone="13900000000", card_last4=me.card_no[-4:]),
              dict(phone="13800138000", card_last4=other.card_no[-4:]),
              dict(card_no=me.card_no[:-1] + str((int(me.card_no[-1]) + 1) % 10)),
              dict(card_no="800009999" + "0")]
    for body in misses:
        res = sh1.identify(**body)
        assert (res.status_code, res.json()) == (404, NOT_FOUND), body
    # Not one means exactly: a validation error, nothing looked up.
    for body in ({}, {"phone": "13800138000"}, {"card_last4": "1234"},
                 {"card_no": me.card_no, "phone": "13800138000", "card_last4": "1234"},
                 {"card_no": me.card_no, "extra": 1}, {"card_no": "12ab"}):
        res = sh1.identify(**body)
        assert (res.status_code, res.json()["code"]) == (422, "VALIDATION_FAILED"), body
    # An expired member code: the customer refreshes it.
    with live_api.session() as s:
        old = member_codes.issue(s, SECRET_KEY, member_id(live_api, me.card_no), ttl=60,
                                 now=utcnow().timestamp() - 61)
    res = sh1.identify(code=old.token)
    assert (res.status_code, res.json()["code"]) == (400, "MEMBER_CODE_EXPIRED")


def test_identify_misses_are_limited_per_till_key(api, live_api):
    sh1, sh2, _ = three_tills(live_api)
    me = api.login("oTillE")
    for _ in range(10):
        assert sh1.identify(phone="13800138000", card_last4="0000").status_code == 404
    res = sh1.identify(card_no=me.card_no)  # even a hit waits now
    assert (res.status_code, res.json()["code"]) == (429, "RATE_LIMITED")
    assert sh2.identify(card_no=me.card_no).status_code == 200  # counted per key


def test_last_use_of_a_key_is_kept(api, live_api):
    sh1, _, _ = three_tills(live_api)
    before = utcnow() - timedelta(seconds=1)
    assert sh1.get("store").status_code == 200
    with live_api.session() as s, s.read():
        used = s.scalars(select(TillKey.last_used_at).order_by(TillKey.id)).all()
    assert used[0] is not None and used[0] >= before.replace(microsecond=0) and used[1:] == [None, None]


def test_cash_off_and_coupons_moved_under_till_v1_and_the_old_path_is_an_alias(api, live_api):
    sh1, _, _ = three_tills(live_api)
    me = api.login("oTillF")
    give_points(live_api, me.card_no, 490, "t")  # 500 points
    body = {"code": member_code(api, me), "order_no": "POS-2001", "amount_fen": 3000,
            "points": 200}
    res = sh1.post("cash-off", json={**body, "store_code": "SH001"})
    assert res.status_code == 200, res.text
    assert res.json() == {"card_no": me.card_no, "order_no": "POS-2001", "order_amount_fen": 3000,
                          "points": 200, "fen_off": 200, "points_balance": 300, "replayed": False}
    # The deprecated alias answers the same call the same way (one implementation).
    old = requests.post(live_api.url + "api/cashier/cash-off", json=body, headers=CASHIER,
                        timeout=30)
    assert old.json()["replayed"] is True and old.headers["Deprecation"] == "true"
    assert old.headers["Link"] == '</till/v1/cash-off>; rel="successor-version"'
    (gift,) = [c["code"] for c in api.get("me/coupons", me).json()["coupons"]]  # sign-up gift
    res = sh1.post("coupons/redeem", json={"code": member_code(api, me), "coupon_code": gift,
                                           "order_no": "POS-2002", "amount_fen": 5000})
    assert res.status_code == 200, res.text
    assert (res.json()["coupon_code"], res.json()["replayed"]) == (gift, False)
    res = sh1.post("cash-off", json={**body, "code": me.token, "order_no": "POS-2003"})
    assert (res.status_code, res.json()["code"]) == (400, "MEMBER_CODE_INVALID")


def test_the_openapi_document_holds_the_till_api(live_api):
    doc = requests.get(live_api.url + "api/openapi.json", timeout=10).json()
    for path, method in (("/till/v1/store", "get"), ("/till/v1/members/identify", "post"),
                         ("/till/v1/cash-off", "post"), ("/till/v1/coupons/redeem", "post")):
        assert doc["paths"][path][method]["security"] == [{"till": []}], path
    assert doc["components"]["securitySchemes"]["till"]["scheme"] == "bearer"
    assert doc["paths"]["/api/cashier/cash-off"]["post"]["deprecated"] is True
    assert "404" in doc["paths"]["/till/v1/members/identify"]["post"]["responses"]
    res = requests.get(live_api.url + "till/v1/nowhere", timeout=10)  # JSON, like /api
    assert (res.status_code, res.json()["code"]) == (404, "NOT_FOUND")


def test_till_operations_keep_to_the_document(api, live_api):
    """As test_api_contract's run, for /till/v1 with a till key: generated inputs reach the
    till's services, and every answer is as documented."""
    import itertools

    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from schemathesis import GenerationMode
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    sh1, _, _ = three_tills(live_api)
    give_points(live_api, api.login("oContractTill").card_no, 90, "contract")
    schema = schemathesis.openapi.from_url(live_api.url + "api/openapi.json")
    operations = [r.ok() for r in schema.get_all_operations()
                  if r.ok().path.startswith("/till/")]
    assert len(operations) == 9  # with quote, orders, refunds, the cancel of a sale and
    # the store's 到店买单 payments
    headers = {"Authorization": f"Bearer {sh1.key}"}
    for operation, mode in itertools.product(operations, GenerationMode):
        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=20, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck), phases=[Phase.generate])
        def check(case):
            given_headers = headers if mode is GenerationMode.POSITIVE else {
                k: v for k, v in headers.items() if k in (case.headers or {})}
            case.call_and_validate(headers=given_headers,
                                   excluded_checks=[positive_data_acceptance])
        check()


def test_a_member_joining_in_the_mini_program_through_a_store_code_has_that_home_store(
        api, live_api):
    from wx_member.members import channels

    sh1, _, _ = three_tills(live_api)
    with live_api.session() as uow:
        channels.create(uow, live_api.rt.gateway, scene="store_sh", name="人民广场店桌牌",
                        kind="store", store="SH001")
    me = api.login("oMiniJoin", scene="store_sh")
    found = sh1.identify(card_no=me.card_no).json()
    assert (found["home_store"], found["home_store_name"]) == ("SH001", "人民广场店")
