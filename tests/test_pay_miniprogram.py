"""Issue 14's defect: a payment made inside the mini-program names the mini-program's appid
in its notify (v2 `appid`, v3 `resource.appid`). /pay/... accepts the appids this deployment
owns (WX_APPID and WX_MINI_APPID) and refuses any other, over HTTP, credited once."""
from __future__ import annotations

import secrets

import pytest

from conftest import MCH_ID, make_config, serve
from pay_helpers import count, nothing_paid, order
from wx_member.clock import utcnow
from wx_member.members import membership
from wx_member.models import Member, Order
from wx_member.sandbox.pay import PayNotifier

MINI_APPID = "wxmini0000000001"


@pytest.fixture
def live_mini(db_url, sandbox, platform_cert, tmp_path):
    cert = tmp_path / "wechatpay_platform.pem"
    cert.write_bytes(platform_cert.cert_pem)
    yield from serve(make_config(db_url, sandbox, mch_id=MCH_ID, mini_appid=MINI_APPID,
                                 pay_api_key=secrets.token_hex(16),
                                 pay_apiv3_key=secrets.token_hex(16),
                                 pay_platform_cert=str(cert)))


def notifier(live, platform_cert, appid: str) -> PayNotifier:
    cfg = live.config
    return PayNotifier(live.url, appid, cfg.mch_id, api_key=cfg.pay_api_key,
                       apiv3_key=cfg.pay_apiv3_key,
                       platform_private_key=platform_cert.private_key_pem,
                       platform_serial=platform_cert.serial)


def mini_member(live, mini_openid: str) -> None:
    with live.session() as s, s.begin():  # as the mini-program's login creates them
        membership.new_member(s, utcnow(), openid=None, mini_openid=mini_openid,
                              subscribed=False)


def the_member(live, mini_openid: str) -> Member:
    from sqlalchemy import select

    with live.session() as s, s.read():
        return s.scalar(select(Member).where(Member.mini_openid == mini_openid))


def test_v2_notify_of_a_mini_program_payment_is_credited_once(live_mini, platform_cert):
    mini_member(live_mini, "oMiniV2")
    pay = notifier(live_mini, platform_cert, MINI_APPID)
    first = pay.v2_payment("oMiniV2", "M2001", 8800, sign_type="HMAC-SHA256")
    assert first.ok, first.body
    recharge = pay.v2_payment("oMiniV2", "M2002", 50000, attach="recharge")
    assert recharge.ok, recharge.body
    for _ in range(3):  # WeChat Pay's retries
        assert pay.replay(first).ok and pay.replay(recharge).ok
    m = the_member(live_mini, "oMiniV2")
    assert (m.points_balance, m.total_spend_fen, m.balance_fen) == (88, 8800, 55000)  # 充500送50
    assert count(live_mini, Order) == 2 and order(live_mini, "M2001").member_id == m.id


def test_v3_notify_of_a_mini_program_payment_is_credited_once(live_mini, platform_cert):
    mini_member(live_mini, "oMiniV3")
    pay = notifier(live_mini, platform_cert, MINI_APPID)
    first = pay.v3_payment("oMiniV3", "M3001", 12000)
    assert first.status == 204, first.body
    assert pay.replay(first).status == 204
    m = the_member(live_mini, "oMiniV3")
    assert (m.points_balance, m.total_spend_fen) == (120, 12000)
    assert count(live_mini, Order) == 1


def test_the_official_accounts_appid_is_still_accepted(live_mini, platform_cert):
    mini_member(live_mini, "oMiniOA")
    pay = notifier(live_mini, platform_cert, live_mini.config.appid)
    assert pay.v2_payment("oMiniOA", "M4001", 1000).ok
    assert pay.v3_payment("oMiniOA", "M4002", 1000).status == 204
    assert the_member(live_mini, "oMiniOA").points_balance == 20


def test_an_appid_we_do_not_own_is_refused(live_mini, platform_cert):
    mini_member(live_mini, "oMiniX")
    pay = notifier(live_mini, platform_cert, "wxsomeoneelse000")
    r2 = pay.v2_payment("oMiniX", "M5001", 1000)
    assert r2.status == 400 and r2.return_code == "FAIL"
    r3 = pay.v3_payment("oMiniX", "M5002", 1000)
    assert r3.status == 400 and '"FAIL"' in r3.body
    assert nothing_paid(live_mini)


def test_without_a_mini_program_its_appid_is_not_ours(live_pay, platform_cert):
    pay = notifier(live_pay, platform_cert, MINI_APPID)
    assert pay.v2_payment("oNobody", "M6001", 1000).return_code == "FAIL"
    assert nothing_paid(live_pay)
