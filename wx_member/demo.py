"""Demo data for `wx-member serve --demo`: channels, a menu, a few members who join by
scanning, and their purchases, all over HTTP as in production: events through the
webhook, payments as signed WeChat Pay notifies (the sandbox's PayNotifier), and a recharge
made in the mini-program and paid through the sandbox's WeChat Pay."""
from __future__ import annotations

import requests

from wx_member.extensions import Runtime
from wx_member.sandbox import Simulator
from wx_member.sandbox.pay import PayNotifier
from wx_member.members import channels, lookup_view
from wx_member.platform.errors import ChannelExists

DEMO_CHANNELS = [
    ("store_01", "人民路门店", "store"),
    ("poster_autumn", "秋季海报", "poster"),
    ("staff_lily", "店员 Lily", "staff"),
]
DEFAULT_MENU = {"button": [
    {"type": "click", "name": "会员卡", "key": "CARD"},
    {"type": "click", "name": "签到", "key": "CHECKIN"},
    {"name": "我的", "sub_button": [{"type": "click", "name": "查积分", "key": "POINTS"}]},
]}


# (openid, out_trade_no, yuan): Alice passes 银卡 (200 yuan) with her second order.
DEMO_ORDERS = [("oDemoAlice", "DEMO-1001", 128), ("oDemoAlice", "DEMO-1002", 96),
               ("oDemoBob", "DEMO-1003", 45)]


def seed(rt: Runtime, sim: Simulator, pay_url: str | None = None,
         sandbox=None) -> list[str]:
    """Returns the openids of the demo members. Safe to run again."""
    with rt.sessions() as uow:
        for scene, name, kind in DEMO_CHANNELS:
            try:
                channels.create(uow, rt.gateway, scene=scene, name=name, kind=kind)
            except ChannelExists:
                pass  # seeded by an earlier run
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
    return ["oDemoAlice", "oDemoBob", "oDemoCarol"]


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
