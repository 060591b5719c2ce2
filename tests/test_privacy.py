"""Data rights: one member's data exported as JSON, and erased on request with the ledger
and orders kept, anonymised, so that totals still reconcile."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from helpers import member
from wx_member.models import Base, Delivery, Member, Order, PointsLedger, PrivacyRequest
from wx_member.members import privacy
from wx_member.pushes import planners
from wx_member.members.privacy import AlreadyErased

BIN = Path(sys.executable).parent / "wx-member"
ALICE = "oAl1ceXXXXXXXXXXXXXXXXXXXXX1"  # 28 characters, as WeChat's openids
BOB = "oB0bYYYYYYYYYYYYYYYYYYYYYYY2"


@pytest.fixture
def alice(live_pay, pay_sim, payer):
    """Alice paid once before joining, joined, checked in, paid, had part refunded, has a
    phone and a birthday on file and a push planned; Bob is another member."""
    assert payer.v2_payment(ALICE, "T0", 990).ok  # a walk-in payment before she joined
    pay_sim.subscribe(ALICE)
    pay_sim.click(ALICE, "CHECKIN")
    assert payer.v2_payment(ALICE, "T1", 20000).ok
    assert payer.v2_refund("T1", "R1", 5000, 20000).ok
    pay_sim.subscribe(BOB)
    with live_pay.session() as s, s.begin():
        s.execute(update(Member).where(Member.openid == ALICE)
                  .values(phone="13812345678", birthday=datetime(1990, 5, 20)))
    with live_pay.session() as s:
        planners.dry_run(s, live_pay.rt.pushes["holiday"], "test", [ALICE], live_pay.config,
                          planners.utcnow())
    return member(live_pay, ALICE)


def totals(live) -> tuple[int, int]:
    with live.session() as s, s.read():
        return (int(s.scalar(select(func.coalesce(func.sum(PointsLedger.delta), 0)))),
                int(s.scalar(select(func.coalesce(func.sum(Member.points_balance), 0)))))


def everything_stored(live) -> str:
    """Every row of every table, as text: personal data left anywhere shows up here."""
    with live.session() as s, s.read():
        return "\n".join(repr(tuple(row)) for table in Base.metadata.sorted_tables
                         for row in s.execute(select(table)))


def test_export_holds_profile_ledger_orders_and_deliveries(live_pay, alice):
    with live_pay.session() as s:
        data = privacy.export_member(s, ALICE, by="ops:li")
    json.dumps(data, ensure_ascii=False)  # JSON as it is
    profile = data["profile"]
    assert (profile["openid"], profile["phone"], profile["birthday"]) == (ALICE, "13812345678",
                                                                          "1990-05-20")
    assert profile["points_balance"] == sum(r["delta"] for r in data["ledger"])
    assert [r["reason"] for r in data["ledger"]] == ["signup", "checkin", "purchase", "refund"]
    assert [(o["out_trade_no"], o["amount_fen"]) for o in data["orders"]] == [("T0", 990),
                                                                             ("T1", 20000)]
    assert data["orders"][1]["refunds"][0]["amount_fen"] == 5000
    assert [(d["kind"], d["status"]) for d in data["deliveries"]] == [("holiday", "queued")]
    assert "快乐" in data["deliveries"][0]["content"]["text"]  # what the message says
    with live_pay.session() as s, s.read():
        assert [(r.kind, r.requested_by) for r in s.scalars(select(PrivacyRequest))] == [
            ("export", "ops:li")]


def test_erasure_removes_personal_data_and_keeps_the_accounts(live_pay, pay_sim, alice):
    ledger_before, balances_before = totals(live_pay)
    assert ledger_before == balances_before
    bob_before = member(live_pay, BOB)
    with live_pay.session() as s:
        result = privacy.erase_member(s, ALICE, by="ops:li", note="ticket 42")
    assert result.forfeited_points == alice.points_balance > 0
    assert (result.orders_kept, result.deliveries_kept) == (2, 1)

    gone = member(live_pay, f"erased:{alice.id}")
    assert (gone.id, gone.card_no, gone.total_spend_fen) == (alice.id, alice.card_no,
                                                            alice.total_spend_fen)
    assert (gone.unionid, gone.phone, gone.birthday, gone.subscribed) == (None, None, None, False)
    assert gone.erased_at is not None and gone.points_balance == 0
    # Nothing anywhere still holds her openid or her phone number.
    stored = everything_stored(live_pay)
    assert ALICE not in stored and "13812345678" not in stored
    # The ledger keeps every row plus the forfeit; totals still reconcile.
    ledger_after, balances_after = totals(live_pay)
    assert ledger_after == balances_after == ledger_before - result.forfeited_points
    with live_pay.session() as s, s.read():
        reasons = [r for (r,) in s.execute(select(PointsLedger.reason)
                                           .where(PointsLedger.member_id == alice.id)
                                           .order_by(PointsLedger.id))]
        orders = {o.out_trade_no: (o.openid, o.amount_fen, o.refunded_fen)
                  for o in s.scalars(select(Order))}
        delivery = s.scalar(select(Delivery))
    assert reasons == ["signup", "checkin", "purchase", "refund", "erasure"]
    assert orders == {"T0": (f"erased:{alice.id}", 990, 0),
                      "T1": (f"erased:{alice.id}", 20000, 5000)}
    assert (delivery.openid, delivery.payload, delivery.status) == (
        f"erased:{alice.id}", {"erased": True}, "queued")
    # Bob is untouched.
    bob = member(live_pay, BOB)
    assert (bob.points_balance, bob.card_no) == (bob_before.points_balance, bob_before.card_no)

    with live_pay.session() as s, pytest.raises(AlreadyErased):
        privacy.erase_member(s, alice.card_no, by="ops:li")
    # Following again with the same openid makes a new member, who starts from nothing.
    reply = pay_sim.subscribe(ALICE).reply["Content"]
    again = member(live_pay, ALICE)
    assert again.id != alice.id and again.card_no in reply and again.points_balance == 10


def run(*args, db_url):
    env = {**os.environ, "DATABASE_URL": db_url, "WX_API_BASE": "http://127.0.0.1:9/"}
    return subprocess.run([str(BIN), *args], env=env, capture_output=True, text=True, timeout=60)


def test_cli_export_then_erase_with_confirmation(live_pay, alice, db_url, tmp_path):
    out = tmp_path / "alice.json"
    res = run("member", "export", alice.card_no, "--by", "ops:li", "--out", str(out), db_url=db_url)
    assert res.returncode == 0, res.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["profile"]["openid"] == ALICE

    res = run("member", "erase", ALICE, "--by", "ops:li", db_url=db_url)
    assert res.returncode == 2 and "--yes" in res.stderr
    assert member(live_pay, ALICE).erased_at is None  # nothing happened

    res = run("member", "erase", ALICE, "--by", "ops:li", "--yes", db_url=db_url)
    assert res.returncode == 0, res.stderr
    assert f"member {alice.id} erased: {alice.points_balance} points forfeited" in res.stdout
    assert member(live_pay, ALICE) is None
    res = run("member", "erase", alice.card_no, "--by", "ops:li", "--yes", db_url=db_url)
    assert res.returncode == 2 and "erased" in res.stderr
