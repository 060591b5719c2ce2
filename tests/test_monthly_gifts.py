"""每月礼券: each tier's monthly gift coupon, once per member and local month whatever the
tier (a member who moves up mid-month is not given a second one), never to erased or
merged-away members; run by the daily scheduler job, by `wx-member coupon monthly`, and
chosen per tier on the console's 会员等级 page."""
from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update

from coupon_helpers import coupons_of, events, join
from console_helpers import console, logged_in  # noqa: F401
from helpers import member
from test_cli import run
from wx_member import scheduler
from wx_member.coupons import bulk_issue
from wx_member.clock import utcnow
from wx_member.members import membership, merging, privacy
from wx_member.models import AuditLog, Member
from wx_member.platform import settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
DEC = datetime(2026, 12, 1, 16, 20)  # 2 December 00:20 in Shanghai
JAN = datetime(2027, 1, 1, 16, 20)
# The demo programme's templates (migration 0011): 2 满50减10, 3 银卡 满50减15, 4 金卡 满50减20.
BY_TIER = {"normal": 2, "silver": 3, "gold": 4}


def give(session, **templates: int) -> None:
    with session.write():
        for tier, template_id in templates.items():
            settings.write(session, f"tier_{tier}_monthly_coupon_template", template_id, "test")


def monthly(session, m) -> list[tuple[str, int]]:
    return [(c.cause, c.template_id) for c in coupons_of(session, m.id, "monthly")]


def test_each_tier_gets_its_template_once_a_month(session):
    give(session, **BY_TIER)  # 钻石会员: 0, none
    people = {t: join(session, f"o-{t}", tier=t) for t in ("normal", "silver", "gold", "diamond")}
    r = bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=DEC)
    assert (r.issued, r.already, r.below_tier) == (3, 0, 0)
    for tier, template_id in BY_TIER.items():
        m = people[tier]
        assert monthly(session, m) == [(f"monthly:{m.id}:2026-12", template_id)]
    assert monthly(session, people["diamond"]) == []  # a tier with 0 gets nothing
    (c,) = coupons_of(session, people["gold"].id, "monthly")
    assert events(session, c.id) == [(None, "available", "monthly")]

    again = bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=DEC + timedelta(days=3))
    assert (again.issued, again.already) == (0, 3)  # daily runs: once a month
    jan = bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=JAN)
    assert jan.issued == 3
    assert [cause for cause, _ in monthly(session, people["silver"])] == [
        f"monthly:{people['silver'].id}:2026-12", f"monthly:{people['silver'].id}:2027-01"]


def test_no_tier_gives_nothing(session):
    join(session, "oA")
    assert bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=DEC) == bulk_issue.BulkResult()


def test_a_member_who_moves_up_mid_month_gets_the_new_tier_next_month(session):
    give(session, **BY_TIER)
    m = join(session, "oClimber")
    assert bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=DEC).issued == 1
    with session.write():
        session.execute(update(Member).where(Member.id == m.id).values(tier="gold"))
    mid = bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=DEC + timedelta(days=14))
    assert (mid.issued, mid.already) == (0, 1)
    bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=JAN)
    assert monthly(session, m) == [(f"monthly:{m.id}:2026-12", 2), (f"monthly:{m.id}:2027-01", 4)]


def test_a_member_who_joins_mid_month_gets_it_the_next_night(session):
    give(session, normal=2)
    early = join(session, "oEarly")
    bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=DEC)
    late = join(session, "oLate", now=DEC + timedelta(days=9))
    r = bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=DEC + timedelta(days=10))
    assert (r.issued, r.already) == (1, 1)
    assert [c for c, _ in monthly(session, late)] == [f"monthly:{late.id}:2026-12"]
    assert len(monthly(session, early)) == 1


def test_erased_and_merged_away_members_are_skipped(session):
    give(session, normal=2)
    erased, survivor, plain = (join(session, f"o{i}") for i in range(3))
    erased_card, erased, survivor, plain = erased.card_no, erased.id, survivor.id, plain.id
    with session.write():  # a member with no Official Account openid (a shop's list)
        absorbed = membership.new_member(session, utcnow(), subscribed=False).id
    privacy.erase_member(session, erased_card, by="test")
    merging.merge(session, survivor, absorbed, by="test")
    r = bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=DEC)
    assert r.issued == 2
    got = {who: len(coupons_of(session, member_id, "monthly")) for who, member_id in (
        ("erased", erased), ("absorbed", absorbed), ("survivor", survivor), ("plain", plain))}
    assert got == {"erased": 0, "absorbed": 0, "survivor": 1, "plain": 1}


def test_the_month_is_the_programmes_local_month(session):
    give(session, normal=2)
    m = join(session, "oEve")
    nov_30_2359 = datetime(2026, 11, 30, 15, 59)  # still November in Shanghai
    bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=nov_30_2359)
    dec_1_0030 = datetime(2026, 11, 30, 16, 30)  # November in UTC, December in Shanghai
    assert bulk_issue.issue_monthly_gifts(session, SHANGHAI, now=dec_1_0030).issued == 1
    assert [c for c, _ in monthly(session, m)] == [f"monthly:{m.id}:2026-11",
                                                  f"monthly:{m.id}:2026-12"]


def test_the_daily_job_is_scheduled_and_gives(live, sim):
    job = scheduler.build_scheduler(live.rt).get_job("monthly_gifts")
    assert "hour='0', minute='20'" in str(job.trigger)
    assert str(job.trigger.timezone) == "Asia/Shanghai"
    sim.subscribe("oJob")
    with live.session() as s:
        give(s, normal=2)
    for _ in range(2):
        scheduler.monthly_gifts_job()
    with live.session() as s:
        assert [t for _, t in monthly(s, member(live, "oJob"))] == [2]


def test_the_cli_gives_and_counts(live, sim, db_url):
    sim.subscribe("oCli")
    with live.session() as s:
        give(s, normal=2)
    first = run("coupon", "monthly", "--at", "2026-12-01", db_url=db_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == ("monthly gifts 2026-12: issued 1, already had it 0, "
                                    "below tier 0, sold out 0")
    again = run("coupon", "monthly", "--at", "2026-12-05", "--json", db_url=db_url)
    data = json.loads(again.stdout)
    assert (data["month"], data["issued"], data["already"]) == ("2026-12", 0, 1)
    bad = run("coupon", "monthly", "--at", "2026-13-01", db_url=db_url)
    assert bad.returncode == 2 and "expected a date" in bad.stderr


def test_the_console_tiers_page_sets_and_shows_the_monthly_gift(console):
    live = console
    b = logged_in(live, "root", "admin")
    page = b.get("/admin/tiers").text
    assert "<th>每月礼券</th>" in page and 'name="monthly_template"' in page
    form = {"threshold": "500", "rate": "150", "birthday_points": "0", "birthday_template": "5"}
    b.post("/admin/tiers/gold", {**form, "monthly_template": "999"})
    page = b.get("/admin/tiers").text
    assert "金卡会员：优惠券模板不存在。" in page
    b.post("/admin/tiers/silver", {"threshold": "200", "rate": "120", "birthday_points": "0",
                                   "birthday_template": "5", "monthly_template": "4"})
    assert "「金卡 满50减20」限金卡会员及以上，银卡会员领不到" in b.get("/admin/tiers").text
    b.post("/admin/tiers/gold", {**form, "monthly_template": "4"})
    page = b.get("/admin/tiers").text
    assert "金卡会员已保存（1 项修改）" in page
    gold = page.split('id="tier-gold"')[1].split("</tr>")[0]
    assert "<td>金卡 满50减20（满50减20，限金卡会员及以上）</td>" in gold
    assert '<option value="4" selected>' in page.split('id="tier-form-gold"')[1].split(
        'name="monthly_template"')[1].split("</select>")[0]
    with live.session() as s, s.read():
        assert settings.get(s, "tier_gold_monthly_coupon_template") == 4
        assert settings.get(s, "tier_silver_monthly_coupon_template") == 0
        entry = s.query(AuditLog).filter_by(action="setting.change",
                                            target="tier_gold_monthly_coupon_template").one()
        assert (entry.actor, entry.before, entry.after) == ("root", 0, 4)
    audit = b.get("/admin/audit").text
    assert "金卡会员每月赠送优惠券" in audit
    ops = logged_in(live, "otto", "operator")
    assert ops.post("/admin/tiers/gold", {**form, "monthly_template": "2"}).status_code == 403
