"""One member with one row of every kind, built through the real surfaces (the webhook,
WeChat Pay's notifies, the mini-program API, the till, the console's use cases), for the
data-rights tests: export completeness, erasure completeness, merge then erase."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import lru_cache

import pytest
from sqlalchemy import JSON, String, Text, select, update

from api_helpers import CASHIER, ApiClient, add_gift, api_config, member_code
from conftest import serve
from till_helpers import Till, issue_key, open_store
from wx_member.models import Base, Member
from wx_member.sandbox.pay import PlatformCert, make_platform_cert
from wxpay_helpers import merchant_settings


@dataclass(frozen=True)
class Person:
    openid: str
    mini_openid: str
    unionid: str
    phone: str
    name: str = "艾丽丝·维德"

    @property
    def identifiers(self) -> tuple[str, ...]:
        return (self.openid, self.mini_openid, self.unionid, self.phone, self.name)


ALICE = Person("oAl1ceOAXXXXXXXXXXXXXXXXXXX1", "oMiniAl1ceYYYYYYYYYYYYYYYYY1",
               "uAl1ceUNIONZZZZZZZZZZZZZZZZ1", "13812345678")


@lru_cache(maxsize=1)
def _merchant_cert() -> PlatformCert:
    """The merchant's API certificate and key (wxpay_helpers' `merchant_cert`, made here so
    the tests importing `live_all` need not import that fixture too)."""
    return make_platform_cert("Sandbox Merchant 1900000109")


@pytest.fixture
def live_all(db_url, mini_sandbox, platform_cert, tmp_path):
    """The app with WeChat Pay (notifies signed by `platform_cert`, and the merchant API
    against the sandbox for JSAPI recharges and their refunds) and the mini-program API."""
    cert = tmp_path / "wechatpay_platform.pem"
    cert.write_bytes(platform_cert.cert_pem)
    gen = serve(api_config(db_url, mini_sandbox, cookie_secure=False,
                           pay_platform_cert=str(cert),
                           **merchant_settings(mini_sandbox, _merchant_cert(), tmp_path)))
    live = next(gen)
    # WXPAY_NOTIFY_URL is configuration; a test server's port is known only once it runs.
    live.rt.wxpay.notify_url = live.url + "pay/v3/notify"
    try:
        yield live
    finally:
        gen.close()


@pytest.fixture
def notifier(live_all, platform_cert):
    from wx_member.sandbox.pay import PayNotifier

    cfg = live_all.config
    return PayNotifier(live_all.url, cfg.appid, cfg.mch_id, api_key=cfg.pay_api_key,
                       apiv3_key=cfg.pay_apiv3_key,
                       platform_private_key=platform_cert.private_key_pem,
                       platform_serial=platform_cert.serial)


def member_tables() -> list:
    """Tables that reference a member: a foreign key to member.id."""
    return [t for t in Base.metadata.sorted_tables
            if any(fk.column.table.name == "member" for fk in t.foreign_keys)
            and t.name != "member"]


def text_columns() -> list:
    return [(t, c) for t in Base.metadata.sorted_tables for c in t.columns
            if isinstance(c.type, (String, Text, JSON))]


def everything_holding(live, needles) -> list[tuple[str, str, str]]:
    """(table, column, needle) wherever a text or JSON column of any table holds a needle."""
    found = []
    with live.session() as s, s.read():
        for table, col in text_columns():
            for (value,) in s.execute(select(col).where(col.is_not(None))):
                text = value if isinstance(value, str) else repr(value)
                found += [(table.name, col.name, n) for n in needles if n in text]
    return sorted(set(found))


def build_everything(live, sandbox, sim, payer, who: Person = ALICE) -> ApiClient:
    """Every kind of row for `who`, through the surfaces people and systems use."""
    from wx_member.coupons import wallet
    from wx_member.console import member_admin
    from wx_member.members import channels
    from wx_member.payments import balance_payments
    from wx_member.pushes import dry_runs

    api = ApiClient(live, sandbox)
    open_store(live, "SH001", "人民广场店")
    with live.session() as uow:  # joining through it makes it her home store
        channels.create(uow, live.rt.gateway, scene="store_1", name="一号店", kind="store",
                        store="SH001")
    assert payer.v2_payment(who.openid, "T0", 990).ok  # a walk-in payment before joining
    sim.subscribe(who.openid, scene="store_1")  # a scan and a join
    sim.click(who.openid, "CHECKIN")
    # WeChat tells us the unionid (as user info would); the mini-program login links.
    with live.session() as s, s.begin():
        s.execute(update(Member).where(Member.openid == who.openid).values(unionid=who.unionid))
    me = api.login(who.mini_openid, who.unionid)
    assert me.body["created"] is False
    # The shop's paper card of hers, imported by phone with opening points and stored
    # value: verifying the same phone below merges it into her member.
    from wx_member.members import member_import

    with live.session() as uow:
        paper = f"手机号,姓名,积分,储值（元）\n{who.phone},{who.name[:3]},200,30.00\n"
        assert member_import.import_file(uow, paper.encode(), "ops:li").created == 1
    code = sandbox.issue_phone_code(who.phone)
    assert api.put("me/profile/phone", me, json={"code": code}).status_code == 200
    assert api.put("me/profile/birthday", me, json={"birthday": "1990-05-20"}).status_code == 200
    assert api.post("me/subscriptions", me,
                    json={"results": {"TPL_A": "accept"}}).status_code == 200
    assert api.get("me/referral/code", me).status_code == 200
    assert payer.v2_payment(who.openid, "T1", 20000).ok
    assert payer.v2_refund("T1", "R1", 5000, 20000).ok
    assert payer.v2_payment(who.mini_openid, "T2", 3000).ok  # paid in the mini-program
    assert payer.v2_payment(who.openid, "SV1", 10000, attach="recharge").ok
    jsapi_recharge_partly_refunded(api, me, sandbox, live)
    till_purchase(live, api, me)
    res = api.post("me/store-payments", me, headers={"Idempotency-Key": uuid.uuid4().hex},
                   json={"store_code": "SH001", "amount_fen": 1000, "pay_with": "balance"})
    assert res.status_code == 200, res.text  # 到店买单 from her stored value
    with live.session() as uow:
        with uow.read():
            mid, balance = uow.execute(select(Member.id, Member.balance_fen)
                                       .where(Member.openid == who.openid)).one()
        balance_payments.pay(uow, me.card_no, balance, "SHOP-1", by="till 1")
        member_admin.add_tag(uow, mid, "VIP", by="ops:li")
        assert member_admin.set_name(uow, mid, who.name, by="ops:li")  # 艾丽丝 → her full name
        member_admin.adjust_points(uow, mid, 500, f"电话 {who.phone} 投诉补偿",
                                   uuid.uuid4().hex, by="ops:li")
        coupon = wallet.issue(uow, me.card_no, 1, "gift-1", by="ops:li", note="生日礼")
    with live.session() as uow:  # her tags told to WeChat (a user tag on her openid)
        from wx_member.pushes import wechat_tags

        wechat_tags.sync(uow, live.rt.gateway, segments=False)
        dry_runs.dry_run(uow, live.rt.gateway, live.rt.pushes["holiday"], [who.openid],
                         live.config, live.config.tz, by="ops:li")
    gift = add_gift(live, "马克杯", 50, 5)
    res = api.post("me/redemptions", me, json={"gift_id": gift},
                   headers={"Idempotency-Key": uuid.uuid4().hex})
    assert res.status_code in (200, 201), res.text
    res = api.post("cashier/cash-off", json={"code": member_code(api, me), "order_no": "POS-1",
                                             "amount_fen": 3000, "points": 100}, headers=CASHIER)
    assert res.status_code == 200, res.text
    res = api.post("cashier/coupons/redeem", headers=CASHIER, json={
        "code": member_code(api, me), "coupon_code": coupon.code, "order_no": "POS-2",
        "amount_fen": 100000})
    assert res.status_code == 200, res.text
    return api


# A till purchase of two lines, paid partly from stored value and partly in cash.
TILL_LINES = [{"sku": "LATTE-M", "name": "中杯拿铁", "category": "拿铁", "quantity": 2,
               "unit_price_fen": 3000},
              {"sku": "CAKE-1", "name": "芝士蛋糕", "category": "甜点", "quantity": 1,
               "unit_price_fen": 2800}]


def jsapi_recharge_partly_refunded(api: ApiClient, me, sandbox, live) -> str:
    """充500送50 paid in the mini-program through WeChat Pay JSAPI (the sandbox pays and
    notifies), then 100 yuan of it refunded by the shop (bonus first) and settled by WeChat
    Pay's refund notify. Returns the recharge's out_trade_no."""
    from wx_member.payments import recharge_refunds

    res = api.post("me/recharges", me, json={"option_fen": 50000})
    assert res.status_code == 201, res.text
    no = res.json()["order"]["out_trade_no"]
    assert sandbox.merchant.pay(no).status == 204
    with live.session() as uow:
        refund = recharge_refunds.refund_recharge(uow, live.rt.wxpay, no, by="ops:li",
                                                  amount_fen=10000)
    assert (refund.amount_fen, refund.bonus_fen) == (10000, 5000)
    assert [n.status for n in sandbox.merchant.settle_refunds()] == [204]
    return no


def till_purchase(live, api: ApiClient, me, order_no: str = "1001") -> dict:
    """Her purchase at store SH001's till (POST /till/v1/orders with the till's key), two
    lines, 10 yuan from her stored value and the rest in cash."""
    till = Till(live, issue_key(live, "SH001", "1号").key)
    basket = {"member": {"code": member_code(api, me)}, "lines": TILL_LINES}
    quoted = till.post("quote", json=basket)
    assert quoted.status_code == 200, quoted.text
    payable = quoted.json()["payable_fen"]
    res = till.post("orders", json={**basket, "order_no": order_no, "payments": [
        {"method": "balance", "amount_fen": 1000},
        {"method": "cash", "amount_fen": payable - 1000}]})
    assert res.status_code == 200, res.text
    return res.json()
