"""Bulk issuing: campaigns to a list or a tier, the daily birthday gift; each once per
member and cause, also when run twice at once."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update

from coupon_helpers import T0, coupons_of, events, factory, join
from wx_member.models import Member
from wx_member.coupons import bulk_issue
from wx_member.coupons import wallet

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_campaign_to_a_list_issues_once_per_member(session):
    a, b = join(session, "oA"), join(session, "oB", tier="gold")
    r = bulk_issue.issue_campaign(session, 4, "double11", member_ids=[a.id, b.id, b.id, 999],
                                        now=T0)
    assert (r.issued, r.already, r.below_tier, r.unknown) == (1, 0, 1, 1)  # 金卡 only
    again = bulk_issue.issue_campaign(session, 4, "double11", member_ids=[b.id], now=T0)
    assert (again.issued, again.already) == (0, 1)
    (c,) = coupons_of(session, b.id, "campaign")
    assert c.cause == f"campaign:double11:{b.id}" and c.template_id == 4
    assert events(session, c.id) == [(None, "available", "campaign")]
    assert coupons_of(session, a.id, "campaign") == []


def test_campaign_to_a_tier_and_up_in_batches(session, monkeypatch):
    monkeypatch.setattr(bulk_issue, "BATCH", 2)
    tiers = ["normal", "silver", "gold", "silver", "diamond"]
    people = [join(session, f"o{i}", tier=t) for i, t in enumerate(tiers)]
    r = bulk_issue.issue_campaign(session, 2, "autumn", min_tier="silver", now=T0)
    assert (r.issued, r.already, r.below_tier) == (4, 0, 0)
    got = [bool(coupons_of(session, m.id, "campaign")) for m in people]
    assert got == [False, True, True, True, True]


def test_the_same_campaign_run_twice_at_once_issues_once(session):
    ids = [join(session, f"o{i}").id for i in range(30)]
    sessions = factory(session)

    def run(_):
        with sessions() as s:
            return bulk_issue.issue_campaign(s, 2, "race", member_ids=ids, now=T0)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(run, range(2)))
    assert sum(r.issued for r in results) == 30
    assert sum(r.already for r in results) == 30
    assert all(len(coupons_of(session, i, "campaign")) == 1 for i in ids)
    assert len([e for e in events(session) if e[2] == "campaign"]) == 30


def born(session, member, month: int, day: int) -> None:
    with session.begin():
        session.execute(update(Member).where(Member.id == member.id)
                        .values(birthday=datetime(1992, month, day)))


def test_birthday_coupons_on_the_local_day_once_a_year(session):
    silver, normal, other = (join(session, "oS", tier="silver"), join(session, "oN"),
                             join(session, "oO", tier="gold"))
    for m, day in ((silver, 2), (normal, 2), (other, 3)):
        born(session, m, 12, day)
    # 2 December 00:10 in Shanghai is still 1 December in UTC.
    now = datetime(2026, 12, 2, 0, 10, tzinfo=SHANGHAI).astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    r = bulk_issue.issue_birthday_coupons(session, SHANGHAI, now=now)
    assert (r.issued, r.below_tier) == (1, 1)  # the coffee is for 银卡 and up
    (c,) = coupons_of(session, silver.id, "birthday")
    assert c.cause == f"birthday:{silver.id}:2026" and c.template_id == 5
    assert bulk_issue.issue_birthday_coupons(session, SHANGHAI, now=now).issued == 0
    # The single-member function the birthday push could call: once per year as well.
    with session.begin():
        assert wallet.issue_birthday_coupon(session, silver, 2026, now=now) is None
        assert wallet.issue_birthday_coupon(session, silver, 2027, now=now) is not None


def test_leap_day_birthdays_get_their_coupon_on_28_february(session):
    leap = join(session, "oLeap", tier="silver")
    born(session, leap, 2, 29)
    feb28 = datetime(2027, 2, 28, 2, 0)
    assert bulk_issue.issue_birthday_coupons(session, SHANGHAI, now=feb28).issued == 1


def test_a_campaign_skips_erased_and_merged_away_members(session):
    """Whether by tier or by list, a campaign's coupon never goes to a member whose data was
    erased or who was merged into another (the survivor gets it): a coupon on such a row
    would sit in no one's wallet, yet count against the template's stock."""
    from wx_member.clock import utcnow
    from wx_member.members import membership, merging, privacy
    erased, survivor, plain = (join(session, f"o{i}", tier="silver") for i in range(3))
    erased_card, erased, survivor, plain = erased.card_no, erased.id, survivor.id, plain.id
    with session.write():
        absorbed = membership.new_member(session, utcnow(), subscribed=False)
        absorbed.tier = "silver"
        absorbed = absorbed.id
    privacy.erase_member(session, erased_card, by="test")
    merging.merge(session, survivor, absorbed, by="test")
    by_tier = bulk_issue.issue_campaign(session, 2, "tier", min_tier="silver", now=T0)
    by_list = bulk_issue.issue_campaign(session, 2, "list", now=T0,
                                        member_ids=[erased, absorbed, survivor, plain])
    assert (by_tier.issued, by_list.issued, by_list.unknown) == (2, 2, 2)
    got = {who: len(coupons_of(session, member_id, "campaign")) for who, member_id in (
        ("erased", erased), ("absorbed", absorbed), ("survivor", survivor), ("plain", plain))}
    assert got == {"erased": 0, "absorbed": 0, "survivor": 2, "plain": 2}
