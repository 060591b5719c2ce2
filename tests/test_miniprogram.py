"""The mini-program (miniprogram/): its jest unit tests (pages and components rendered by
miniprogram-simulate), and its API module in Node against this app and the WeChat sandbox
over HTTP, so a change of the API that breaks the client fails here.

Needs Node and `npm ci` in miniprogram/ (scripts/test does both and sets
WX_MEMBER_REQUIRE_NODE=1, so a missing Node fails instead of skipping)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api_helpers import (CASHIER_KEY, ApiClient, add_gift, api_config, give_points,  # noqa: F401
                         member_id, mini_sandbox)
from conftest import serve
from till_helpers import open_store
from wx_member.models import (JsapiOrder, Member, PointsLedger, PointsRedemption, StorePayment,
                              StoredValueLedger)
from wxpay_helpers import merchant_cert, merchant_settings  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent / "miniprogram"
JEST = ROOT / "node_modules" / ".bin" / "jest"
NODE = shutil.which("node")

if not (NODE and JEST.exists()):
    reason = ("node is not installed" if not NODE else
              "miniprogram/node_modules is missing: run `npm ci` in miniprogram/")
    if os.environ.get("WX_MEMBER_REQUIRE_NODE") == "1":
        pytest.fail(f"{reason} (scripts/test installs it)", pytrace=False)
    pytest.skip(reason, allow_module_level=True)


def jest(project: str, env: dict[str, str] | None = None) -> str:
    """Runs one jest project in miniprogram/; fails the test with jest's output if it fails."""
    done = subprocess.run([NODE, str(JEST), "--selectProjects", project, "--ci"],
                          cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True,
                          text=True, timeout=300)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-6000:]
    return out


def test_pages_and_components_unit_tests():
    out = jest("unit")
    assert " failed" not in out.split("Tests:")[-1], out[-3000:]


@pytest.fixture
def live_mini(tmp_path, mini_sandbox, merchant_cert):  # noqa: F811
    """The app on SQLite (the client's calls do not depend on the backend), a WeChat Pay
    merchant as in the wxpay tests, so the client can recharge and the sandbox's payer pay;
    the sandbox's notifies reach the app's own /pay/v3/notify."""
    gen = serve(api_config(f"sqlite:///{tmp_path / 'mini.db'}", mini_sandbox,
                           **merchant_settings(mini_sandbox, merchant_cert, tmp_path)))
    live = next(gen)
    # WXPAY_NOTIFY_URL is configuration; a test server's port is known only once it runs.
    live.rt.wxpay.notify_url = live.url + "pay/v3/notify"
    try:
        yield live
    finally:
        gen.close()


def test_api_module_against_the_live_server_and_sandbox(live_mini, mini_sandbox):
    api = ApiClient(live_mini, mini_sandbox)
    openid = "oMiniLiveTest"
    member = api.login(openid)  # the member the Node client will log in as
    give_points(live_mini, member.card_no, 500, "mini-live-setup")
    cheap = add_gift(live_mini, "帆布袋", 10, 3)
    dear = add_gift(live_mini, "保温杯", 100000, 3)
    open_store(live_mini, "S01", "静安店")  # where the client pays (到店买单)

    jest("live", {"BASE_URL": api.base, "SANDBOX_URL": mini_sandbox.url, "OPENID": openid,
                  "CARD_NO": member.card_no, "GIFT_ID": str(cheap), "DEAR_GIFT_ID": str(dear),
                  "CASHIER_KEY": CASHIER_KEY, "STORE_CODE": "S01"})

    # What the server holds after the client's double redemption: one, and the books agree.
    mid = member_id(live_mini, member.card_no)
    with live_mini.session() as s, s.read() as session:
        redemptions = sorted((r.kind, r.cancelled_at is not None) for r in session.scalars(
            select(PointsRedemption).where(PointsRedemption.member_id == mid)))
        ledger = session.scalar(select(func.sum(PointsLedger.delta))
                                .where(PointsLedger.member_id == mid))
        # The client's recharges (充500送50, and 700.01 yuan typed, which gets 充500送50's
        # bonus; paid by the sandbox's payer) credited once each; the one it gave up, closed
        # and credited nothing.
        orders = sorted((o.amount_fen, o.bonus_fen, o.status) for o in session.scalars(
            select(JsapiOrder).where(JsapiOrder.member_id == mid,
                                     JsapiOrder.purpose == "recharge")))
        # 到店买单: two from the balance (one sent twice with one key, one with 不参与优惠金额),
        # one by WeChat Pay, one given up (its points back).
        store_paid = sorted((p.pay_with, p.status, p.payable_fen) for p in session.scalars(
            select(StorePayment).where(StorePayment.member_id == mid)))
        stored = [(r.delta_fen, r.reason) for r in session.scalars(
            select(StoredValueLedger).where(StoredValueLedger.member_id == mid)
            .order_by(StoredValueLedger.id))]
        me = session.get(Member, mid)
    assert redemptions == [("cash_off", False), ("cash_off", True), ("gift", False)]
    assert ledger == me.points_balance
    assert orders == [(12300, 0, "closed"), (50000, 5000, "paid"), (70001, 5000, "paid")]
    assert [(w, st) for w, st, _ in store_paid] == [
        ("balance", "paid"), ("balance", "paid"), ("wechat", "closed"), ("wechat", "paid")]
    from_balance = [p for w, _, p in store_paid if w == "balance"]
    assert stored[:4] == [(50000, "recharge"), (5000, "recharge_bonus"),
                          (70001, "recharge"), (5000, "recharge_bonus")]
    assert sorted((-d, r) for d, r in stored[4:]) == [(p, "pay") for p in from_balance]
    assert me.balance_fen == 55000 + 75001 - sum(from_balance)
