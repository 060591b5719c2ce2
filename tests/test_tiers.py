"""Tiers and the earn rule: rates per tier, rounding, upgrades at cumulative spend with
history, thresholds from settings, and `member show --json`."""
from __future__ import annotations

import json

import pytest

from pay_helpers import balance_and_sum, ledger_rows, member, tier_history
from test_cli import run
from wx_member.platform import settings
from wx_member.loyalty import tiers
from wx_member.platform.errors import InvalidSetting


@pytest.mark.parametrize("amount_fen, tier, expected", [
    (100, "normal", 1), (99, "normal", 0), (1999, "normal", 19), (1999, "silver", 23),
    (1999, "gold", 29), (1999, "diamond", 39), (1, "diamond", 0), (12345, "gold", 185),
])
def test_points_are_floored_per_tier_rate(session, amount_fen, tier, expected):
    with session.read():
        assert tiers.points_for(session, amount_fen, tier) == expected


def test_points_per_yuan_and_rates_come_from_settings(session):
    settings.change(session, "points_per_yuan", 2, by="test")
    settings.change(session, "tier_silver_rate", 125, by="test")
    with session.read():
        assert tiers.points_for(session, 1001, "silver") == 25  # 10.01 × 2 × 1.25 = 25.025


def test_tier_for_spend_uses_the_default_ladder(session):
    with session.read():
        assert [tiers.tier_for_spend(session, f)
                for f in (0, 19999, 20000, 49999, 50000, 100000)] == \
            ["normal", "normal", "silver", "silver", "gold", "diamond"]


def test_thresholds_must_not_decrease(session):
    with pytest.raises(InvalidSetting):
        settings.change(session, "tier_gold_fen", 10000, by="test")  # below silver (20000)
    settings.change(session, "tier_silver_fen", 10000, by="test")
    with session.read():
        assert tiers.tier_for_spend(session, 15000) == "silver"


def test_upgrade_at_200_yuan_cumulative_with_history(live_pay, pay_sim, payer):
    pay_sim.subscribe("oAnn")
    assert payer.v2_payment("oAnn", "A1", 15000).ok
    assert member(live_pay, "oAnn").tier == "normal" and tier_history(live_pay, "oAnn") == []
    assert payer.v2_payment("oAnn", "A2", 5000).ok  # 200 yuan in all
    m = member(live_pay, "oAnn")
    assert (m.tier, m.total_spend_fen) == ("silver", 20000)
    assert tier_history(live_pay, "oAnn") == [("normal", "silver", "payment", "order:A2")]
    # The upgrading payment still earned at 普通; the next one at 银卡.
    assert payer.v2_payment("oAnn", "A3", 100000).ok  # 1,200 yuan: straight to 钻石
    assert [d for d, reason, _ in ledger_rows(live_pay, "oAnn") if reason == "purchase"] == \
        [150, 50, 1200]
    assert member(live_pay, "oAnn").tier == "diamond"
    assert tier_history(live_pay, "oAnn")[-1] == ("silver", "diamond", "payment", "order:A3")
    assert balance_and_sum(live_pay, "oAnn") == (1410, 1410)


def test_threshold_changes_apply_to_the_next_payment(live_pay, pay_sim, payer):
    pay_sim.subscribe("oBen")
    with live_pay.session() as s:
        settings.change(s, "tier_silver_fen", 5000, by="test")
    assert payer.v2_payment("oBen", "B1", 5000).ok
    assert member(live_pay, "oBen").tier == "silver"


def test_member_show_json_has_tier_spend_and_orders(live_pay, pay_sim, payer, db_url):
    pay_sim.subscribe("oCid")
    assert payer.v2_payment("oCid", "C1", 30000).ok
    assert payer.v2_refund("C1", "CR1", 10000, 30000).ok
    out = run("member", "show", "oCid", "--json", db_url=db_url)
    assert out.returncode == 0, out.stderr
    shown = json.loads(out.stdout)
    assert (shown["tier"], shown["total_spend_fen"]) == ("silver", 20000)
    assert shown["points"] == shown["ledger_sum"] == 10 + 300 - 100
    (o,) = shown["orders"]
    assert (o["out_trade_no"], o["amount_fen"], o["refunded_fen"], o["status"],
            o["points_earned"]) == ("C1", 30000, 10000, "partially_refunded", 300)
    assert [(h["from_tier"], h["to_tier"]) for h in shown["tier_history"]] == [("normal", "silver")]
    assert {r["reason_zh"] for r in shown["ledger"]} == {"入会礼", "消费积分", "退款扣回"}
