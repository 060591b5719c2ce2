"""Preference tags (issue 13): operators define rules, a daily set-based job tags and
untags members; segments (and so campaigns) target by tag, category or SKU bought."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from pricing_helpers import THURSDAY, line, member, order, refund
from wx_member.console import tag_rules
from wx_member.insights import segments
from wx_member.models import MemberTag
from wx_member.platform import audit


def tags(session) -> set[tuple[int, str, str]]:
    with session.read():
        return {(t.member_id, t.tag, t.created_by) for t in session.scalars(select(MemberTag))}


def buy(session, m, no, when, category="拿铁", sku="LATTE-M"):
    order(session, {"order_no": no, "at": when.isoformat() + "+00:00",
                    "lines": [line(sku, category=category), line(sku, category=category)],
                    "payments": [{"method": "cash", "amount_fen": 6000}]}, m, now=when)


def test_daily_job_tags_and_untags_by_rule(session):
    fan, casual, gone = member(session, "fan"), member(session, "casual"), member(session, "gone")
    day = THURSDAY
    for i in range(3):
        buy(session, fan, f"F{i}", day + timedelta(days=i))
        buy(session, gone, f"G{i}", day + timedelta(days=i))
    for i in range(2):
        buy(session, casual, f"C{i}", day + timedelta(days=i))
    buy(session, casual, "C9", day, category="甜点", sku="CAKE-1")
    rule = tag_rules.add(session, "拿铁爱好者", "category", "拿铁", 3, 90, by="ops")
    fan, casual, gone, rule_id = fan.id, casual.id, gone.id, rule.id  # before a rollback
    with pytest.raises(tag_rules.InvalidTagRule):
        tag_rules.add(session, "拿铁爱好者", "category", "拿铁", 3, 90, by="ops")
    with session.write():  # an operator's own tag of the same name is not the rule's
        session.add(MemberTag(member_id=casual, tag="拿铁爱好者", created_by="ops"))
    now = day + timedelta(days=3)
    assert [(t.added, t.removed) for t in tag_rules.run(session, now)] == [(2, 0)]
    assert tags(session) == {(fan, "拿铁爱好者", f"rule:{rule_id}"),
                             (gone, "拿铁爱好者", f"rule:{rule_id}"),
                             (casual, "拿铁爱好者", "ops")}
    assert [(t.added, t.removed) for t in tag_rules.run(session, now)] == [(0, 0)]  # again
    refund(session, "G2", {"refund_no": "RG", "amount_fen": 6000}, now=now)
    assert [(t.added, t.removed) for t in tag_rules.run(session, now)] == [(0, 1)]
    # 90 days on, nobody qualifies: untagged; the operator's tag stays
    assert tag_rules.run(session, now + timedelta(days=90))[0].removed == 1
    assert tags(session) == {(casual, "拿铁爱好者", "ops")}
    tag_rules.disable(session, rule_id, by="ops")
    with session.read():
        assert [e.action for e in audit.entries(session, action_prefix="tag_rule.")] == [
            "tag_rule.disable", "tag_rule.add"]


def test_segments_by_tag_category_and_sku(session):
    a, b = member(session, "a"), member(session, "b")
    buy(session, a, "A1", THURSDAY)
    buy(session, b, "B1", THURSDAY, category="甜点", sku="CAKE-1")
    with session.read():
        def who(raw):
            seg = segments.parse(session, raw)
            return sorted(r.id for r in session.execute(segments.query(session, seg)))
        assert who({"category": "拿铁"}) == [a.id] and who({"sku": "CAKE-1"}) == [b.id]
        assert segments.describe(segments.parse(session, {"category": "拿铁"})) == "买过品类「拿铁」"
    tag_rules.add(session, "甜点控", "sku", "CAKE-1", 1, 30, by="ops")
    tag_rules.run(session, THURSDAY)
    with session.read():
        assert [r.id for r in session.execute(segments.query(session, {"tag": "甜点控"}))] == [b.id]


def test_the_scheduler_runs_the_tag_rules_daily(live):
    from wx_member.scheduler import build_scheduler

    job = {j.id: j for j in build_scheduler(live.rt).get_jobs()}["tag_rules"]
    assert str(job.trigger) == "cron[hour='1', minute='0']"
