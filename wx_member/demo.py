"""Demo data for `wx-member serve --demo`: a café chain (headquarters' member centre and
three stores), channels, a menu, a few members who join by scanning, and their purchases,
all over HTTP as in production: events through the webhook, payments as signed WeChat Pay
notifies (the sandbox's PayNotifier), a recharge made in the mini-program and paid through
the sandbox's WeChat Pay and then spent at 人民路店 (到店买单 from the balance), and a
purchase at a store's till (`/till/v1/orders`, with a till
key issued as an operator would). 金卡会员 get a free snack set monthly (每月礼券: a 小食套餐
兑换 template, chosen for 金卡 as on the console's 会员等级 page; the scheduler's 00:20 job, or
`wx-member coupon monthly`, gives it)."""
from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field

import requests

from wx_member.extensions import Runtime
from wx_member.sandbox import Simulator
from wx_member.sandbox.pay import PayNotifier
from wx_member.coupons import templates
from wx_member.members import channels, lookup_view, stores
from wx_member.payments import till_keys
from wx_member.platform import settings, settings_view
from wx_member.platform.errors import ChannelExists

# The chain: headquarters runs the programme (its codes, like the autumn poster, stand in no
# store); each store's codes make their joiners its members (归属门店).
DEMO_STORES = [
    ("SH001", "人民路店", "上海", "人民路 100 号"),
    ("SH002", "徐家汇店", "上海", "漕溪北路 8 号"),
    ("BJ001", "国贸店", "北京", "建国门外大街 1 号"),
]
DEMO_CHANNELS = [  # scene, name, kind, store code (None: headquarters)
    ("store_01", "人民路门店", "store", "SH001"),
    ("store_02", "徐家汇门店", "store", "SH002"),
    ("store_03", "国贸门店", "store", "BJ001"),
    ("poster_autumn", "秋季海报", "poster", None),
    ("staff_lily", "店员 Lily", "staff", "SH001"),
]
DEMO_TILL = ("SH001", "1号收银台")
# Bob, who joined through headquarters' poster, buys at 人民路店's till.
DEMO_BASKET = [
    {"sku": "LATTE-M", "name": "中杯拿铁", "category": "拿铁", "quantity": 2,
     "unit_price_fen": 3200},
    {"sku": "CAKE-1", "name": "提拉米苏", "category": "甜点", "quantity": 1,
     "unit_price_fen": 3800},
]


@dataclass
class Seeded:
    openids: list[str]
    till_key: str | None = None  # shown once, as `wx-member stores key issue` does
    till_order: dict = field(default_factory=dict)  # the till's answer to the demo purchase
    quote_body: dict = field(default_factory=dict)  # a body for a ready /till/v1/quote
# 金卡会员's monthly gift (domain.md's café: "a free snack set monthly").
MONTHLY_SNACK = templates.TemplateSpec(name="金卡 每月小食套餐", kind="item", item="小食套餐",
                                       min_tier="gold", valid_days=30)
MONTHLY_KEY = "tier_gold_monthly_coupon_template"
DEFAULT_MENU = {"button": [
    {"type": "click", "name": "会员卡", "key": "CARD"},
    {"type": "click", "name": "签到", "key": "CHECKIN"},
    {"name": "我的", "sub_button": [{"type": "click", "name": "查积分", "key": "POINTS"}]},
]}


# (openid, out_trade_no, yuan): Alice passes 银卡 (200 yuan) with her second order.
DEMO_ORDERS = [("oDemoAlice", "DEMO-1001", 128), ("oDemoAlice", "DEMO-1002", 96),
               ("oDemoBob", "DEMO-1003", 45)]


def seed(rt: Runtime, sim: Simulator, pay_url: str | None = None,
         sandbox=None) -> Seeded:
    """The demo members' openids, the till key issued and the demo till purchase's answer.
    Safe to run again (no new stores or codes; another key)."""
    with rt.sessions() as uow:
        for code, name, city, address in DEMO_STORES:
            try:
                stores.create(uow, code, name, city, address, by="demo")
            except stores.StoreExists:
                pass
        for scene, name, kind, store in DEMO_CHANNELS:
            try:
                channels.create(uow, rt.gateway, scene=scene, name=name, kind=kind,
                                store=store, by="demo")
            except ChannelExists:
                pass  # seeded by an earlier run
        if not settings_view.current(uow)[MONTHLY_KEY]:  # else chosen by an earlier run
            snack = templates.add(uow, MONTHLY_SNACK, by="demo")
            settings.change(uow, MONTHLY_KEY, snack.id, by="demo")
    rt.gateway.create_menu(DEFAULT_MENU)
    sim.subscribe("oDemoAlice", scene="store_01")
    sim.subscribe("oDemoBob", scene="poster_autumn")
    with rt.sessions() as uow:
        alice = lookup_view.find(uow, "oDemoAlice")
    sim.subscribe("oDemoCarol", scene=f"ref_{alice.card_no}")  # Carol was referred by Alice
    sim.click("oDemoAlice", "CHECKIN")
    if pay_url and rt.config.pay_api_key:
        notifier = PayNotifier(pay_url, rt.config.appid, rt.config.mch_id,
                               api_key=rt.config.pay_api_key)
        for openid, out_trade_no, yuan in DEMO_ORDERS:
            notifier.v2_payment(openid, out_trade_no, yuan * 100)
    if pay_url and sandbox is not None and rt.wxpay is not None:
        recharge(pay_url, sandbox, "oDemoDana")
        pay_at_store(pay_url, sandbox, "oDemoDana", "SH001", 3850)
    seeded = Seeded(["oDemoAlice", "oDemoBob", "oDemoCarol"])
    with rt.sessions() as uow:
        bob = lookup_view.find(uow, "oDemoBob")
        stores.set_home_store(uow, bob.id, "SH001", by="demo")  # HQ gives him a home store
        seeded.till_key = till_keys.issue(uow, *DEMO_TILL, by="demo").key
    seeded.quote_body = {"member": {"card_no": bob.card_no}, "lines": DEMO_BASKET}
    if pay_url:
        seeded.till_order = till_purchase(pay_url, seeded.till_key, seeded.quote_body,
                                          "DEMO-0001")
    return seeded


def till_purchase(app_url: str, key: str, basket: dict, order_no: str) -> dict:
    """What a till does: the quote, then the purchase paid in cash for the payable total."""
    http, auth = requests.Session(), {"Authorization": f"Bearer {key}"}
    quote = http.post(app_url + "till/v1/quote", json=basket, headers=auth, timeout=30)
    quote.raise_for_status()
    order = http.post(app_url + "till/v1/orders", headers=auth, timeout=30, json={
        **basket, "order_no": order_no,
        "payments": [{"method": "cash", "amount_fen": quote.json()["payable_fen"]}]})
    order.raise_for_status()
    return order.json()


def quote_curl(app_url: str, key: str, body: dict) -> str:
    """A ready command for the till's quote (printed by the demo)."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return (f"curl -X POST -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' "
            f"-d '{data}' {app_url}till/v1/quote")


def recharge(app_url: str, sandbox, mini_openid: str, option_fen: int = 50000) -> str:
    """Dana logs in to the mini-program, taps 充500送50 and pays, as the mini-program and
    WeChat Pay would: the API, the sandbox's WeChat Pay, its signed notify. The order number."""
    http = requests.Session()
    login = http.post(app_url + "api/login", timeout=30,
                      json={"code": sandbox.issue_login_code(mini_openid)}).json()
    auth = {"Authorization": f"Bearer {login['token']}"}
    made = http.post(app_url + "api/me/recharges", json={"option_fen": option_fen},
                     headers=auth, timeout=30).json()
    no = made["order"]["out_trade_no"]
    sandbox.merchant.pay(no)
    return no


def pay_at_store(app_url: str, sandbox, mini_openid: str, store_code: str,
                 amount_fen: int) -> dict:
    """Dana pays a store from her stored value in the mini-program (到店买单), as its pay
    page does: the quote, then the payment under a fresh Idempotency-Key. The payment."""
    http = requests.Session()
    login = http.post(app_url + "api/login", timeout=30,
                      json={"code": sandbox.issue_login_code(mini_openid)}).json()
    auth = {"Authorization": f"Bearer {login['token']}"}
    http.get(f"{app_url}api/stores/{store_code}/checkout", params={"amount_fen": amount_fen},
             headers=auth, timeout=30).raise_for_status()
    paid = http.post(app_url + "api/me/store-payments", timeout=30,
                     headers={**auth, "Idempotency-Key": secrets.token_hex(16)},
                     json={"store_code": store_code, "amount_fen": amount_fen,
                           "pay_with": "balance"})
    paid.raise_for_status()
    return paid.json()["payment"]
