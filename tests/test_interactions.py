"""Every interaction counts (issue 15): each message and event WeChat lists as opening the
customer-service window, sent over HTTP by the simulator, moves the member's last
interaction in the same once-only transaction as its other effects, and counts for 活跃度.
A link tap (VIEW) counts for activity but, as at WeChat, opens no window."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from conftest import APPID, MCH_ID, make_config, serve
from helpers import count, member
from push_helpers import TEMPLATE_IDS, at, join, plan, send, statuses
from wx_member.insights import kpis
from wx_member.models import InboundEvent, Member, MemberReach

LONG_AGO = datetime(2020, 1, 1)


def _age(live, openid: str) -> None:
    """The member was last seen (and last opened the window) long ago."""
    with live.session() as s, s.begin():
        s.execute(update(Member).where(Member.openid == openid)
                  .values(last_seen_at=LONG_AGO, window_at=LONG_AGO))


def _recent(value: datetime | None) -> bool:
    return value is not None and value > datetime.utcnow() - timedelta(minutes=5)


SENDS = {
    "text": lambda sim, o: sim.text(o, "你好"),
    "image": lambda sim, o: sim.image(o),
    "voice": lambda sim, o: sim.voice(o),
    "video": lambda sim, o: sim.video(o),
    "location": lambda sim, o: sim.location(o),
    "link": lambda sim, o: sim.link(o, "https://example.com/a"),
    "click": lambda sim, o: sim.click(o, "NOT_A_BUTTON"),
    "scancode_push": lambda sim, o: sim._event(o, "scancode_push", None, EventKey="SCAN1"),
    "scan": lambda sim, o: sim.scan(o, "store_01"),
    "subscribe": lambda sim, o: sim.subscribe(o),
}


@pytest.mark.parametrize("kind", sorted(SENDS))
def test_each_interaction_moves_last_seen_and_opens_the_window(live, sim, kind):
    assert sim.subscribe("oA").status == 200
    _age(live, "oA")
    result = SENDS[kind](sim, "oA")
    assert result.status == 200
    m = member(live, "oA")
    assert _recent(m.last_seen_at) and _recent(m.window_at)
    # Recorded once: its dedup key is in inbound_event (a message's by MsgId).
    with live.session() as s, s.read():
        keys = list(s.scalars(select(InboundEvent.dedup_key).where(InboundEvent.openid == "oA")))
    assert len(keys) == 2 and (kind not in SENDS or keys[-1].startswith(
        "msg:" if kind in ("text", "image", "voice", "video", "location", "link") else "evt:"))


def test_a_link_tap_counts_for_activity_but_opens_no_window(live, sim):
    assert sim.subscribe("oA").status == 200
    _age(live, "oA")
    assert sim.view("oA", "https://example.com/menu").status == 200
    m = member(live, "oA")
    assert _recent(m.last_seen_at) and m.window_at == LONG_AGO


def test_a_retried_message_is_processed_once(live, sim):
    assert sim.subscribe("oA").status == 200
    first = sim.text("oA", "在吗", msg_id=424242)
    _age(live, "oA")
    events = count(live, InboundEvent)
    assert sim.replay(first).status == 200  # WeChat's retry: the same MsgId
    assert count(live, InboundEvent) == events
    assert member(live, "oA").last_seen_at == LONG_AGO  # the retry changed nothing


def test_a_text_counts_for_activity(live, sim):
    for openid in ("oA", "oB"):
        assert sim.subscribe(openid).status == 200
        _age(live, openid)
    with live.session() as uow:
        before = kpis.compute(uow, kpis.Period.last_days(1, live.config.tz)).active
    assert sim.text("oA", "你好").status == 200
    with live.session() as uow:
        after = kpis.compute(uow, kpis.Period.last_days(1, live.config.tz))
    assert (before, after.active, after.members_total) == (0, 1, 2)


def test_resubscribing_clears_the_43004_mark(db_url, sandbox):
    for app in serve(make_config(db_url, sandbox, template_ids=dict(TEMPLATE_IDS))):
        wx = app.simulator()
        join(wx, ["oA", "oGone"], at("2026-05-01 09:00"))
        from wx_member.members import membership
        with app.session() as s, s.begin():
            for openid in ("oA", "oGone"):
                membership.require(s, openid).birthday = at("1990-05-20 12:00")
        plan(app, "birthday", at("2026-05-20 10:00"))
        sandbox.unfollow("oGone")  # WeChat answers 43004
        send(app, at("2026-05-20 10:00"))
        assert statuses(app) == {"oA": "sent", "oGone": "failed"}
        with app.session() as s, s.read():
            assert s.scalar(select(MemberReach.reason)).startswith("43004")
        sandbox.follow("oGone")
        assert wx.subscribe("oGone").status == 200  # follows again
        with app.session() as s, s.read():
            assert s.scalar(select(MemberReach.reason)) is None
        assert plan(app, "birthday", at("2027-05-20 10:00")).planned == 2


def test_a_wechat_pay_payment_opens_the_window(db_url, sandbox):
    import secrets

    from wx_member.sandbox.pay import PayNotifier

    for app in serve(make_config(db_url, sandbox, mch_id=MCH_ID,
                                 pay_api_key=secrets.token_hex(16))):
        wx = app.simulator()
        assert wx.subscribe("oA").status == 200
        _age(app, "oA")
        payer = PayNotifier(app.url, APPID, MCH_ID, api_key=app.config.pay_api_key)
        assert payer.v2_payment("oA", "WXREACH0001", 1000).ok
        m = member(app, "oA")
        assert m.window_at > LONG_AGO and m.last_seen_at > LONG_AGO
