"""A member reads and changes only their own data: identity comes from the signed token
alone, never from ids in the request; tampered, foreign and expired tokens are refused."""
from __future__ import annotations

import base64
import json

import jwt

from api_helpers import SECRET_KEY, api, live_api, mini_sandbox  # noqa: F401
from wx_member.models import utcnow
from wx_member.members import membership
from wx_member.platform.access_tokens import issue_access

OWN_DATA = ("me/card", "me/points", "me/tiers", "me/profile", "me/referral/results",
            "me/subscriptions", "me/member-code", "me/coupons", "me/redemptions", "me/balance",
            "gifts", "recharge/options")


def _id(live, card_no) -> int:
    with live.session() as s, s.read():
        return membership.by_card(s, card_no).id


def test_ids_in_the_request_do_not_change_whose_data_is_read(api, live_api):
    alice, bob = api.login("oAlice"), api.login("oBob")
    alice_id = _id(live_api, alice.card_no)
    for params in ({"member_id": alice_id}, {"card_no": alice.card_no}, {"id": alice_id}):
        assert api.get("me/card", bob, params=params).json()["card_no"] == bob.card_no
        assert api.get("me/profile", bob, params=params).json()["card_no"] == bob.card_no
    # Where a route takes parameters, an unknown one is refused rather than ignored.
    res = api.get("me/points", bob, params={"member_id": alice_id})
    assert (res.status_code, res.json()["code"]) == (422, "VALIDATION_FAILED")
    # Unknown fields in a body are refused, not applied to someone.
    res = api.put("me/profile/birthday", bob,
                  json={"birthday": "1990-01-01", "member_id": alice_id})
    assert res.status_code == 422
    res = api.post("me/subscriptions", bob,
                   json={"results": {"T": "accept"}, "card_no": alice.card_no})
    assert res.status_code == 422
    assert api.get("me/profile", alice).json()["birthday"] is None
    assert api.get("me/subscriptions", alice).json() == {"remaining": {}}


def test_a_token_edited_to_name_another_member_is_refused(api, live_api):
    alice, bob = api.login("oAlice2"), api.login("oBob2")
    header, payload, signature = bob.token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(_id(live_api, alice.card_no))
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    forged = f"{header}.{forged_payload}.{signature}"
    for path in OWN_DATA:
        res = api.get(path, forged)
        assert (res.status_code, res.json()["code"]) == (401, "TOKEN_INVALID"), path


def test_tokens_signed_otherwise_or_of_another_kind_are_refused(api, live_api):
    alice = api.login("oAlice3")
    alice_id = _id(live_api, alice.card_no)
    other_key = issue_access("k" * 40, alice_id, 3600).token
    unsigned = jwt.encode({"sub": str(alice_id), "aud": "wx-member-api", "iat": 0,
                           "exp": 2**40}, key=None, algorithm="none")
    for token in (other_key, unsigned, "garbage", alice.token + "x", ""):
        res = api.get("me/card", token)
        assert res.status_code == 401, token
    res = api.get("me/card", headers={"Authorization": f"Basic {alice.token}"})
    assert res.status_code == 401 and res.json()["message"] == "请先登录。"


def test_expired_tokens_are_refused(api, live_api):
    alice = api.login("oAlice4")
    alice_id = _id(live_api, alice.card_no)
    assert alice.body["expires_in"] == 7200
    expired = issue_access(SECRET_KEY, alice_id, 7200, now=utcnow().timestamp() - 7201)
    res = api.get("me/card", expired.token)
    assert res.status_code == 401
    assert res.json() == {"code": "TOKEN_EXPIRED", "message": "登录已过期，请重新登录。"}
    fresh = issue_access(SECRET_KEY, alice_id, 7200, now=utcnow().timestamp() - 7100)
    assert api.get("me/card", fresh.token).status_code == 200


def test_errors_under_api_are_json_and_other_surfaces_keep_theirs(api, live_api):
    res = api.get("no/such/thing")
    assert (res.status_code, res.json()["code"]) == (404, "NOT_FOUND")
    res = api.call("DELETE", "me/card")
    assert (res.status_code, res.json()["code"]) == (405, "METHOD_NOT_ALLOWED")
    webhook = api.http.get(live_api.url + "wechat")  # no signature
    assert webhook.status_code == 403 and "json" not in webhook.headers["Content-Type"]
