"""Referral QR codes: the referrer earns once per referee; self-referral and loops earn nothing."""
from __future__ import annotations

from helpers import balance_and_sum, ledger, member
from wx_member.platform import settings


def join(sim, live, openid, scene=None):
    sim.subscribe(openid, scene=scene)
    return member(live, openid)


def test_referee_joins_through_referrers_code_and_referrer_earns_once(live, sim):
    alice = join(sim, live, "oAlice")
    first = sim.subscribe("oBob", scene=f"ref_{alice.card_no}")
    bob = member(live, "oBob")
    assert bob.referrer_id == alice.id and bob.scene == f"ref_{alice.card_no}"
    assert balance_and_sum(live, "oAlice") == (20, 20)
    assert [r.reason for r in ledger(live, "oAlice")] == ["signup", "referral"]
    assert ledger(live, "oAlice")[1].source == bob.card_no
    sim.replay(first)
    sim.unsubscribe("oBob")
    sim.subscribe("oBob", scene=f"ref_{alice.card_no}")
    assert balance_and_sum(live, "oAlice") == (20, 20)


def test_each_referee_earns_the_referrer_points(live, sim):
    alice = join(sim, live, "oAlice")
    for friend in ("oF1", "oF2", "oF3"):
        join(sim, live, friend, f"ref_{alice.card_no}")
    assert balance_and_sum(live, "oAlice") == (40, 40)


def test_self_referral_earns_nothing(live, sim):
    alice = join(sim, live, "oAlice")
    sim.scan("oAlice", f"ref_{alice.card_no}")
    sim.unsubscribe("oAlice")
    sim.subscribe("oAlice", scene=f"ref_{alice.card_no}")
    assert member(live, "oAlice").referrer_id is None
    assert balance_and_sum(live, "oAlice") == (10, 10)


def test_referral_loop_is_refused(live, sim):
    alice = join(sim, live, "oAlice")
    bob = join(sim, live, "oBob", f"ref_{alice.card_no}")
    sim.scan("oAlice", f"ref_{bob.card_no}")  # Alice would become Bob's referee
    assert member(live, "oAlice").referrer_id is None
    assert balance_and_sum(live, "oBob") == (10, 10)


def test_unknown_card_in_referral_code_joins_without_referrer(live, sim):
    sim.subscribe("oCarol", scene="ref_8999999999")
    carol = member(live, "oCarol")
    assert carol is not None and carol.referrer_id is None


def test_referral_points_follow_the_setting(live, sim):
    alice = join(sim, live, "oAlice")
    with live.session() as s:
        settings.change(s, "referral_points", 25, by="test")
    join(sim, live, "oBob", f"ref_{alice.card_no}")
    assert balance_and_sum(live, "oAlice") == (35, 35)
