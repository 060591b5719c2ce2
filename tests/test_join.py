"""Scan-to-join through the webhook: members, cards, sign-up points, channels, replays."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from helpers import balance_and_sum, count, counts, ledger, member
from wx_member.models import InboundEvent, PointsLedger
from wx_member.members import channels
from wx_member.members import membership
from wx_member.platform import settings


def make_channel(live, scene="store_01", name="人民路门店", kind="store"):
    with live.session() as s:
        return channels.create(s, live.rt.gateway, scene=scene, name=name, kind=kind)


def test_subscribe_by_channel_qr_creates_member_card_and_signup_points(live, sim):
    make_channel(live)
    r = sim.subscribe("oAlice", scene="store_01")
    assert r.status == 200
    m = member(live, "oAlice")
    assert m is not None and m.subscribed
    assert membership.is_card_number(m.card_no)
    assert m.scene == "store_01" and m.channel_id is not None
    assert m.card_no in r.reply["Content"] and "10" in r.reply["Content"]
    assert [(row.delta, row.reason) for row in ledger(live, "oAlice")] == [(10, "signup")]
    assert balance_and_sum(live, "oAlice") == (10, 10)
    with live.session() as s, s.read():
        (st,) = channels.stats(s)
    assert (st.scene, st.scans, st.scanners, st.joins) == ("store_01", 1, 1, 1)


def test_plain_subscribe_joins_without_channel(live, sim):
    r = sim.subscribe("oPlain")
    m = member(live, "oPlain")
    assert r.status == 200 and m.scene is None and m.channel_id is None
    assert m.card_no in r.reply["Content"]


def test_card_numbers_are_distinct_and_check_digit_valid(live, sim):
    for i in range(5):
        sim.subscribe(f"oUser{i}")
    cards = [member(live, f"oUser{i}").card_no for i in range(5)]
    assert len(set(cards)) == 5 and all(membership.is_card_number(c) for c in cards)
    assert not membership.is_card_number(cards[0][:-1] + str((int(cards[0][-1]) + 1) % 10))


def test_wechat_retries_are_counted_once(live, sim):
    first = sim.subscribe("oRetry", scene="poster")
    replies = [sim.replay(first) for _ in range(3)]  # WeChat tries three more times at most
    assert all(r.status == 200 and r.body == "success" for r in replies)
    assert counts(live) == (1, 1, 1)
    assert balance_and_sum(live, "oRetry") == (10, 10)


def test_concurrent_retries_on_many_workers_are_counted_once(live, sim):
    first = sim.subscribe("oRace")
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: sim.replay(first), range(16)))
    assert {r.status for r in results} == {200}
    assert counts(live) == (1, 1, 1)


def test_concurrent_first_events_of_one_person_create_one_member(live, sim):
    """Two different events (subscribe + a click a second later) racing on two workers."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: sim.subscribe("oTwin", create_time=1_800_000_000 + i),
                                range(8)))
    assert {r.status for r in results} == {200}
    assert count(live, PointsLedger) == 1 and count(live, InboundEvent) == 8
    assert balance_and_sum(live, "oTwin") == (10, 10)


def test_resubscribe_restores_member_and_card_and_awards_nothing_twice(live, sim):
    make_channel(live)
    sim.subscribe("oBack", scene="store_01")
    card = member(live, "oBack").card_no
    sim.unsubscribe("oBack")
    assert member(live, "oBack").subscribed is False
    r = sim.subscribe("oBack", scene="store_01")
    m = member(live, "oBack")
    assert m.subscribed and m.card_no == card
    assert "欢迎回来" in r.reply["Content"] and card in r.reply["Content"]
    assert balance_and_sum(live, "oBack") == (10, 10)
    with live.session() as s, s.read():
        (st,) = channels.stats(s)
    assert (st.scans, st.scanners, st.joins) == (2, 1, 1)


def test_scan_by_existing_follower_counts_a_scan_not_a_join(live, sim):
    make_channel(live, "staff_lily", "店员 Lily", "staff")
    sim.subscribe("oFollower")
    r = sim.scan("oFollower", "staff_lily")
    assert r.status == 200 and "欢迎回来" in r.reply["Content"]
    assert balance_and_sum(live, "oFollower") == (10, 10)
    assert member(live, "oFollower").scene is None  # joined before, not through Lily
    with live.session() as s, s.read():
        (st,) = channels.stats(s)
    assert (st.scans, st.joins) == (1, 0)


def test_scan_by_follower_we_never_saw_makes_them_a_member(live, sim):
    """Followers from before wx-member was installed join on their first scan."""
    make_channel(live)
    sim.scan("oOldFan", "store_01")
    m = member(live, "oOldFan")
    assert m is not None and m.scene == "store_01"
    assert balance_and_sum(live, "oOldFan") == (10, 10)


def test_signup_points_follow_the_setting_without_restart(live, sim):
    with live.session() as s:
        settings.change(s, "signup_points", 50, by="test")
    sim.subscribe("oRich")
    assert balance_and_sum(live, "oRich") == (50, 50)
    with live.session() as s:
        settings.change(s, "signup_points", 0, by="test")
    sim.subscribe("oPoor")
    assert balance_and_sum(live, "oPoor") == (0, 0) and ledger(live, "oPoor") == []
