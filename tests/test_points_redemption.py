"""Redemption: cash off an order and gifts from the catalogue, once per key, never below
zero (balance or stock), also with 50 concurrent redemptions on separate sessions."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from points_helpers import at, balance_and_sum, configure, earn, join
from test_cli import run as cli
from wx_member.db import make_engine, make_session_factory
from wx_member.models import Gift, Member, PointsLedger, PointsRedemption
from wx_member.members import membership
from wx_member.loyalty import gift_catalogue, redemption
from wx_member.platform.errors import DomainError, InsufficientPoints, InvalidAmount

NOW = at("2026-06-01 10:00")


def member_with(session, openid: str, n: int) -> Member:
    configure(session, signup_points=0)
    m = join(session, openid, NOW)
    if n:
        earn(session, m, n, f"seed:{openid}", NOW)
    return m


def counts(session) -> tuple[int, int]:
    with session.read():
        return (session.scalar(select(func.count()).select_from(PointsLedger)),
                session.scalar(select(func.count()).select_from(PointsRedemption)))


def test_cash_off_at_the_default_rate_and_cap_once_per_order(session):
    m = member_with(session, "oC", 5000)
    r = redemption.cash_off(session, m, "T1001", 6000)  # at most 50% of 60 yuan
    assert (r.points, r.fen_off, r.replayed) == (3000, 3000, False)
    assert balance_and_sum(session, m.id) == (2000, 2000)
    again = redemption.cash_off(session, m, "T1001", 6000)  # the checkout retried
    assert (again.points, again.fen_off, again.replayed) == (3000, 3000, True)
    assert balance_and_sum(session, m.id) == (2000, 2000)
    with pytest.raises(redemption.RedemptionConflict) as other_amount:
        redemption.cash_off(session, m, "T1001", 9000)
    assert other_amount.value.user_message == "该订单已使用过积分抵扣。"
    small = redemption.cash_off(session, m, "T1002", 100000, want_points=150)
    assert (small.points, small.fen_off) == (150, 150)


def test_cash_off_rounds_to_whole_fen_in_the_shops_favour(session):
    configure(session, points_cash_off_rate=150, points_cash_off_max_percent=100)
    m = member_with(session, "oR", 10)
    r = redemption.cash_off(session, m, "T1", 100000)  # 10 points = 6.67 fen
    assert (r.fen_off, r.points) == (6, 9)  # 6 fen cost 9 points; 1 point stays
    assert balance_and_sum(session, m.id) == (1, 1)
    with pytest.raises(InsufficientPoints) as few:
        redemption.cash_off(session, m, "T2", 100000)
    assert few.value.user_message == "积分不足，至少需要 2 积分才能抵扣。"


@pytest.mark.parametrize("args,error", [
    (("T9", 1000, 2001), InsufficientPoints), (("T9", 1, None), redemption.CashOffNotAllowed),
    (("T9", 0, None), InvalidAmount), (("T9", 1000, 0), InvalidAmount),
    (("", 1000, None), InvalidAmount), (("T" * 65, 1000, None), InvalidAmount)])
def test_refused_cash_off_changes_nothing(session, args, error):
    m = member_with(session, "oX", 2000)
    mid, before = m.id, counts(session)  # a refusal rolls back, expiring `m`
    with pytest.raises(error) as refused:
        redemption.cash_off(session, m, *args)
    assert refused.value.user_message and refused.value.user_message != DomainError.user_message
    assert counts(session) == before and balance_and_sum(session, mid) == (2000, 2000)


def test_gift_redemption_takes_points_and_stock_once_per_request(session):
    m = member_with(session, "oG", 250)
    mug = gift_catalogue.add_gift(session, "马克杯", 100, 3).id
    r = gift_catalogue.redeem_gift(session, m, mug, "tap-1", quantity=2)
    assert (r.points, r.replayed) == (200, False)
    assert gift_catalogue.redeem_gift(session, m, mug, "tap-1", quantity=2).replayed
    assert balance_and_sum(session, m.id) == (50, 50)
    with session.read():
        assert session.get(Gift, mug, populate_existing=True).stock == 1
    with pytest.raises(InsufficientPoints) as poor:
        gift_catalogue.redeem_gift(session, m, mug, "tap-2")
    assert poor.value.user_message == "积分不足：兑换需要 100 积分，当前 50 积分。"
    with pytest.raises(redemption.RedemptionConflict):
        gift_catalogue.redeem_gift(session, m, mug, "tap-1", quantity=1)


def test_refused_gift_redemptions_change_nothing(session):
    m = member_with(session, "oZ", 1000)
    gone = gift_catalogue.add_gift(session, "限量帆布袋", 100, 1).id
    hidden = gift_catalogue.add_gift(session, "下架礼品", 10, 5).id
    with session.write():
        session.get(Gift, hidden).active = False
    gift_catalogue.redeem_gift(session, m, gone, "first")
    mid, before = m.id, counts(session)  # a refusal rolls back, expiring `m`
    for gift_id, error in ((gone, gift_catalogue.OutOfStock), (hidden, gift_catalogue.UnknownGift),
                           (999, gift_catalogue.UnknownGift)):
        with pytest.raises(error) as refused:
            gift_catalogue.redeem_gift(session, m, gift_id, f"again-{gift_id}")
        assert refused.value.user_message in ("礼品已兑完，请选择其他礼品。", "礼品不存在或已下架。")
    with pytest.raises(InvalidAmount):
        gift_catalogue.redeem_gift(session, m, gone, "q", quantity=0)
    assert counts(session) == before and balance_and_sum(session, mid) == (900, 900)
    with session.read():
        assert [g.name for g in gift_catalogue.catalogue(session)] == ["限量帆布袋"]


def loaded(session, member_id: int) -> Member:
    with session.read():  # its own transaction: the use case then opens another
        return session.get(Member, member_id)


def _race(db_url, jobs) -> list[object]:
    """Run each job(session) on its own thread and session, all released at once."""
    engine = make_engine(db_url, pool_size=len(jobs), max_overflow=0)
    sessions = make_session_factory(engine)
    start, results = threading.Barrier(len(jobs)), [None] * len(jobs)

    def work(i, job):
        with sessions() as s:
            start.wait()
            try:
                results[i] = job(s)
            except DomainError as exc:
                results[i] = exc

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    return results


def test_fifty_concurrent_redemptions_never_overdraw_balance_or_stock(session, db_url):
    rich = member_with(session, "oRich", 1000)  # enough for 10 gifts of 100
    crowd = [member_with(session, f"oP{i:02d}", 100) for i in range(25)]
    mug = gift_catalogue.add_gift(session, "马克杯", 100, 30)  # 25 people, 30 mugs
    rich_id, crowd_ids, gift_id = rich.id, [m.id for m in crowd], mug.id

    def gift_for(member_id, key):
        return lambda s: gift_catalogue.redeem_gift(s, loaded(s, member_id), gift_id, key)

    # 25 taps by one member (2,500 points wanted, 1,000 held) and 25 by 25 others: 50 at once.
    jobs = [gift_for(rich_id, f"tap{i}") for i in range(25)]
    jobs += [gift_for(mid, "tap") for mid in crowd_ids]
    results = _race(db_url, jobs)
    won = [r for r in results if isinstance(r, redemption.Redemption)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(won) + len(refused) == 50
    session.expire_all()
    with session.read():
        stock = session.get(Gift, gift_id).stock
    rich_balance = balance_and_sum(session, rich_id)
    assert rich_balance[0] == rich_balance[1] >= 0
    assert stock >= 0 and stock == 30 - len(won)
    # 30 mugs: 10 for the rich member (points), the rest to the first 20 of the crowd.
    assert len(won) == 30 and {type(r) for r in refused} <= {InsufficientPoints,
                                                             gift_catalogue.OutOfStock}
    assert rich_balance == (1000 - 100 * sum(r.redemption.member_id == rich_id for r in won),) * 2
    for mid in crowd_ids:
        balance, total = balance_and_sum(session, mid)
        assert balance == total in (0, 100)


def test_fifty_concurrent_cash_offs_of_one_balance(session, db_url):
    mid = member_with(session, "oCash", 1000).id
    jobs = [lambda s, i=i: redemption.cash_off(s, loaded(s, mid), f"T{i}", 10000,
                                               want_points=70) for i in range(50)]
    results = _race(db_url, jobs)
    won = [r for r in results if isinstance(r, redemption.Redemption)]
    assert len(won) == 14  # 14 × 70 = 980 of 1,000
    assert all(isinstance(r, InsufficientPoints) for r in results if r not in won)
    assert balance_and_sum(session, mid) == (20, 20)


def test_cli_gift_catalogue_and_redeem(live, sim, db_url):
    sim.subscribe("oCli")  # 10 sign-up points
    with live.session() as s, s.read():
        card = membership.require(s, "oCli").card_no
    added = cli("points", "gift", "add", "小杯咖啡", "--points", "5", "--stock", "1", db_url=db_url)
    assert added.returncode == 0 and added.stdout.startswith("gift 1: 小杯咖啡"), added.stderr
    listed = cli("points", "gift", "list", db_url=db_url)
    assert "小杯咖啡" in listed.stdout and "      1" in listed.stdout
    out = cli("points", "redeem", card, "--gift", "1", "--key", "k1", db_url=db_url)
    assert out.returncode == 0 and "5 points → gift 1 × 1; balance 5" in out.stdout, out.stderr
    replay = cli("points", "redeem", "oCli", "--gift", "1", "--key", "k1", db_url=db_url)
    assert "already redeemed" in replay.stdout
    refused = cli("points", "redeem", "oCli", "--gift", "1", db_url=db_url)
    assert refused.returncode == 2 and "礼品已兑完" in refused.stderr
    paid = cli("points", "redeem", "oCli", "--cash-off", "T1", "--amount", "500", db_url=db_url)
    assert "5 points → 5 fen off order T1; balance 0" in paid.stdout, paid.stderr
    poor = cli("points", "redeem", "oCli", "--cash-off", "T2", "--amount", "500", db_url=db_url)
    assert poor.returncode == 2 and "积分不足" in poor.stderr
    assert cli("points", "redeem", "oCli", db_url=db_url).returncode == 2
    restocked = cli("points", "gift", "restock", "1", "5", db_url=db_url)
    assert restocked.stdout.strip() == "gift 1: stock 5"
    with live.session() as s, s.read():
        m = membership.require(s, "oCli")
        assert (m.points_balance, s.scalar(select(func.count()).select_from(PointsRedemption))) \
            == (0, 2)
