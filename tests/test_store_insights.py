"""KPIs, RFM, the channel report and campaign segments narrowed to one store (issue 13): a
store's members (home store), their orders wherever they paid, its channel codes' scans."""
from __future__ import annotations

from datetime import datetime

import pytest

from test_kpis import PERIOD, add_member, add_order
from wx_member.insights import channel_view, kpis, rfm, segments
from wx_member.models import Channel, QrScan, Store


@pytest.fixture
def two_stores(session):
    with session.begin():
        a, b = Store(code="A1", name="甲店"), Store(code="B1", name="乙店")
        session.add_all([a, b])
        session.flush()
        ch = Channel(scene="store_a", name="甲店桌牌", kind="store", store_id=a.id)
        session.add_all([ch, Channel(scene="poster", name="海报", kind="poster")])
        session.flush()
        m1 = add_member(session, "m1", datetime(2026, 10, 20), last_seen=datetime(2026, 11, 6))
        m2 = add_member(session, "m2", datetime(2026, 11, 2))
        m3 = add_member(session, "m3", datetime(2026, 11, 3))
        m4 = add_member(session, "m4", datetime(2026, 11, 3))
        m1.home_store_id = m2.home_store_id = a.id
        m3.home_store_id = b.id  # m4: no home store
        m1.scene = m2.scene = "store_a"
        add_order(session, m1, datetime(2026, 10, 25), 100)
        add_order(session, m1, datetime(2026, 11, 2), 200)
        add_order(session, m2, datetime(2026, 11, 3), 50)
        add_order(session, m3, datetime(2026, 11, 4), 900)
        add_order(session, m4, datetime(2026, 11, 4), 10)
        for openid, channel in (("m2", ch.id), ("oVisitor", ch.id), ("m3", None)):
            session.add(QrScan(scene="store_a" if channel else "poster", channel_id=channel,
                               openid=openid, joined=openid == "m2",
                               created_at=datetime(2026, 11, 2)))
    return session, a.id, b.id


def test_kpis_of_one_store(two_stores):
    session, a, b = two_stores
    k = kpis.compute(session, PERIOD, now=PERIOD.end, store_id=a)
    assert (k.members_total, k.new_members, k.buyers, k.repeat_buyers) == (2, 1, 2, 0)
    assert (k.spend_fen, k.repeat_spend_fen, k.buyers_ever) == (25000, 20000, 2)
    assert (k.scanners, k.scan_joins) == (2, 1)  # its code's scans only
    assert sum(n for _, n in k.joins_per_day) == 1
    everyone = kpis.compute(session, PERIOD, now=PERIOD.end)
    assert (everyone.members_total, everyone.buyers, everyone.scanners) == (4, 4, 3)
    kb = kpis.compute(session, PERIOD, now=PERIOD.end, store_id=b)
    assert (kb.members_total, kb.spend_fen, kb.scanners) == (1, 90000, 0)
    assert dict(kpis.tier_distribution(session, store_id=b)) == {"normal": 1}


def test_rfm_channel_report_and_segments_of_one_store(two_stores):
    session, a, b = two_stores
    r = rfm.segment_sizes(session, as_of=datetime(2026, 12, 1), store_id=a)
    assert (r.buyers, r.non_buyers, sum(r.sizes.values())) == (2, 0, 2)
    assert rfm.segment_sizes(session, as_of=datetime(2026, 12, 1)).buyers == 4
    assert [c.scene for c in channel_view.channel_report(session, store_id=a)] == ["store_a"]
    assert [c.scene for c in channel_view.channel_report(session, store_id=b)] == []
    assert {c.scene for c in channel_view.channel_report(session)} == {"store_a", "poster"}
    with session.begin():
        seg = segments.parse(session, {"store": "A1"})
        assert segments.describe(seg) == "门店 A1"
        assert segments.count(session, seg) == 2
        assert segments.count(session, segments.parse(session, {"store": "B1"})) == 1
        with pytest.raises(segments.InvalidSegment):
            segments.parse(session, {"store": "NOPE"})
