"""Segments on known data, on SQLite and MariaDB: each criterion, and combinations, select
exactly the right members; bad criteria are refused."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from wx_member.models import Channel, Member, MemberTag, Order
from wx_member.insights import rfm
from wx_member.insights import segments
from wx_member.insights.segments import InvalidSegment

NOW = datetime(2026, 12, 5, 2, 0)  # UTC
_orders = iter(range(1, 1000))


def _member(s, openid, tier="normal", birthday=None, channel=None, tags=(), erased=False):
    m = Member(openid=openid, card_no=f"c{openid}", tier=tier, points_balance=0,
               birthday=birthday, channel_id=channel.id if channel else None,
               scene=channel.scene if channel else None, joined_at=NOW - timedelta(days=400),
               erased_at=NOW - timedelta(days=1) if erased else None)
    s.add(m)
    s.flush()
    s.add_all(MemberTag(member_id=m.id, tag=t, created_by="test") for t in tags)
    return m


def _order(s, m, days_ago, yuan, status="paid"):
    s.add(Order(out_trade_no=f"S{next(_orders)}", openid=m.openid, member_id=m.id,
                amount_fen=yuan * 100, refunded_fen=yuan * 100 if status == "refunded" else 0,
                status=status, api="v2", paid_at=NOW - timedelta(days=days_ago)))


@pytest.fixture
def known(session):
    with session.begin():
        store_a = Channel(scene="store_a", name="A 店", kind="store")
        store_b = Channel(scene="store_b", name="B 店", kind="store")
        session.add_all([store_a, store_b])
        session.flush()
        m = {
            # a recent, frequent, big spender: 重要价值
            "gold": _member(session, "mGold", "gold", datetime(1990, 5, 20), store_a, ["VIP"]),
            # bought once, 100 days ago, little: 一般挽留, dormant for 30+ days
            "silver": _member(session, "mSilver", "silver", datetime(1985, 12, 1), None,
                              ["VIP", "团购"]),
            # never bought: 未消费
            "new": _member(session, "mNew", "normal", datetime(2000, 5, 2), store_b),
            # only a refunded order: no purchase, so neither dormant nor a buyer
            "refunded": _member(session, "mRefunded"),
            # erased (PIPL): in no segment, whatever it matches
            "erased": _member(session, "mErased", "gold", datetime(1990, 5, 1), store_a, ["VIP"],
                              erased=True),
        }
        _order(session, m["gold"], 10, 300)
        _order(session, m["gold"], 40, 200)
        _order(session, m["silver"], 100, 50)
        _order(session, m["refunded"], 5, 80, "refunded")
    return session, {k: v.id for k, v in m.items()}


def _pick(session, ids, **criteria) -> set[str]:
    with session.begin():
        segment = segments.parse(session, criteria)
        got = {r.id for r in session.execute(segments.query(session, segment, NOW))}
        assert segments.count(session, segment, NOW) == len(got)
    names = {v: k for k, v in ids.items()}
    return {names[i] for i in got}


def test_each_criterion_picks_exactly_its_members(known):
    s, ids = known
    assert _pick(s, ids) == {"gold", "silver", "new", "refunded"}  # everyone not erased
    assert _pick(s, ids, tier="gold") == {"gold"}
    assert _pick(s, ids, tier="normal") == {"new", "refunded"}
    assert _pick(s, ids, tag="VIP") == {"gold", "silver"}
    assert _pick(s, ids, tag="团购") == {"silver"}
    assert _pick(s, ids, rfm="重要价值") == {"gold"}
    assert _pick(s, ids, rfm="一般挽留") == {"silver"}
    assert _pick(s, ids, rfm="重要发展") == set()
    assert _pick(s, ids, rfm="未消费") == {"new", "refunded"}
    assert _pick(s, ids, dormant_days=30) == {"silver"}
    assert _pick(s, ids, dormant_days="5") == {"gold", "silver"}  # a form's text
    assert _pick(s, ids, dormant_days=120) == set()
    assert _pick(s, ids, birthday_month=5) == {"gold", "new"}
    assert _pick(s, ids, birthday_month=12) == {"silver"}
    assert _pick(s, ids, channel="store_a") == {"gold"}
    assert _pick(s, ids, channel="store_b") == {"new"}


def test_criteria_combine_and_empty_ones_are_ignored(known):
    s, ids = known
    assert _pick(s, ids, tag="VIP", dormant_days=30) == {"silver"}
    assert _pick(s, ids, tag="VIP", birthday_month=5, tier="gold") == {"gold"}
    assert _pick(s, ids, tag="VIP", channel="store_b") == set()
    assert _pick(s, ids, tier="", tag="", rfm="", dormant_days="", birthday_month="",
                 channel="") == {"gold", "silver", "new", "refunded"}


def test_rfm_segments_agree_with_the_dashboard(known):
    s, ids = known
    sizes = rfm.segment_sizes(s, NOW).sizes
    for name, size in sizes.items():
        assert len(_pick(s, ids, rfm=name)) == size, name


def test_sample_and_description(known):
    s, ids = known
    with s.begin():
        assert segments.sample(s, {"tag": "VIP"}, NOW).id == ids["gold"]
        assert segments.sample(s, {"tier": "diamond"}, NOW) is None
    assert segments.describe({"tier": "gold", "tag": "VIP"}) == "金卡会员 且 标签「VIP」"
    assert segments.describe({}) == "全部会员"


@pytest.mark.parametrize("criteria, message", [
    ({"tier": "platinum"}, "会员等级无效。"),
    ({"tag": "bad tag!"}, "标签无效。"),
    ({"rfm": "超级会员"}, "RFM 分群无效。"),
    ({"dormant_days": "abc"}, "沉睡天数须为 1–3650 的整数。"),
    ({"dormant_days": 0}, "沉睡天数须为 1–3650 的整数。"),
    ({"birthday_month": 13}, "生日月份须为 1–12。"),
    ({"channel": "nowhere"}, "渠道不存在。"),
    ({"city": "上海"}, "分群条件无效。"),
])
def test_bad_criteria_are_refused(known, criteria, message):
    s, _ = known
    with s.begin(), pytest.raises(InvalidSegment) as exc:
        segments.parse(s, criteria)
    assert exc.value.user_message == message


def test_rfm_probed_per_member_selects_the_same_members(known):
    """rfm.member_in (the WeChat tag sync's, per member row) = rfm.members_in (a set)."""
    from sqlalchemy import select

    session, ids = known
    with session.begin():
        _order(session, session.get(Member, ids["new"]), 3, 40)  # a third buyer: real medians
    with session.begin():
        for name in segments.rfm_names():
            both = [set(session.scalars(select(Member.id).where(cond)))
                    for cond in (rfm.members_in(session, name, NOW),
                                 rfm.member_in(session, name, NOW))]
            assert both[0] == both[1], name
        # gold's last order (10 days) is the median of 3, 10 and 100 days: not recent
        assert ids["gold"] in set(session.scalars(
            select(Member.id).where(rfm.member_in(session, "重要保持", NOW))))
