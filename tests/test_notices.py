"""Service notices (issue 15) over HTTP: a WeChat Pay notify, an operator's adjustment, a
tier change and the coming tier review each give the member a notice, once, through the
first channel that reaches them (a template message where a template id is configured,
else customer service inside the 48-hour window the payment or a message opened)."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import update

from conftest import APPID, MCH_ID, make_config, serve
from helpers import member
from push_helpers import rows, sends
from wx_member.clock import local_day, utcnow
from wx_member.loyalty import points
from wx_member.models import Member
from wx_member.platform import settings
from wx_member.pushes import deliveries, planners
from wx_member.sandbox.pay import PayNotifier


@pytest.fixture
def app(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox, mch_id=MCH_ID, pay_api_key=secrets.token_hex(16),
                                 template_ids={"order_thanks": "TPL_THANKS"}))


@pytest.fixture
def payer(app):
    with app.session() as uow:  # the real clock: no quiet hours in the way
        settings.change(uow, "quiet_start_hour", 0, "test")
        settings.change(uow, "quiet_end_hour", 0, "test")
    return PayNotifier(app.url, APPID, MCH_ID, api_key=app.config.pay_api_key)


def plan(app, kind, now):
    with app.session() as uow:
        return planners.plan(uow, app.rt.pushes, kind, app.config, now=now)


def send(app, now):
    with app.session() as uow:
        return deliveries.send_due(uow, app.rt.gateway, app.config.tz, now=now)


def test_thank_you_three_minutes_after_a_paid_order(app, sandbox, payer):
    assert app.simulator().subscribe("oA").status == 200
    assert payer.v2_payment("oA", "WXTHANKS1", 5000).ok  # 50 yuan: 50 points
    now = utcnow()
    assert plan(app, "order_thanks", now).planned == 0  # not yet: 3 minutes after
    later = now + timedelta(minutes=3, seconds=5)
    assert plan(app, "order_thanks", later).planned == 1
    assert plan(app, "order_thanks", later + timedelta(minutes=1)).planned == 0  # once
    send(app, later)
    [(to, said)] = sends(sandbox, "template")
    balance = member(app, "oA").points_balance
    assert to == "oA" and "WXTHANKS1 50" in said and f" {balance} " in said
    assert sandbox.sent("template")[0]["request"]["template_id"] == "TPL_THANKS"


def test_operator_points_change_and_tier_moves_are_notified(app, sandbox, payer):
    assert app.simulator().subscribe("oA").status == 200
    sandbox.interact("oA")  # the customer-service window, at WeChat
    with app.session() as s, s.read():
        m = s.query(Member).filter_by(openid="oA").one()
    with app.session() as uow:
        points.adjust(uow, m, 30, "客服补偿", "t1", "otto")
    assert payer.v2_payment("oA", "WXBIG1", 25000).ok  # 250 yuan: 银卡 from 200
    assert payer.v2_refund("WXBIG1", "RBIG1", 25000, 25000).ok  # and back to 普通
    now = utcnow() + timedelta(seconds=5)
    for kind in ("points_changed", "tier_up", "tier_down"):
        assert plan(app, kind, now).planned == 1, kind
        assert plan(app, kind, now).planned == 0, kind  # each cause once
    send(app, now)
    said = dict((d.kind, d.payload["text"]) for d in rows(app) if d.kind != "order_thanks")
    assert "+30（客服补偿）" in said["points_changed"]
    assert "升级为银卡会员（原普通会员）" in said["tier_up"]
    assert "调整为普通会员（原银卡会员）" in said["tier_down"]
    assert len(sends(sandbox, "custom")) == 3


def test_downgrade_warning_before_the_review_says_what_is_missing(app, sandbox, payer):
    with app.session() as uow:
        settings.change(uow, "tier_review", "yearly", "test")
    for openid in ("oShort", "oSafe"):
        assert app.simulator().subscribe(openid).status == 200
        sandbox.interact(openid)
    now = utcnow()
    review = local_day(now, app.config.tz) + timedelta(days=30)
    # the tier reached a year before the review (four, when the review falls on 29 February)
    since = review.replace(year=review.year - (4 if (review.month, review.day) == (2, 29) else 1))
    with app.session() as s, s.begin():  # 金卡 needs 500 yuan; oShort has 380
        for openid, spend in (("oShort", 38000), ("oSafe", 60000)):
            s.execute(update(Member).where(Member.openid == openid).values(
                tier="gold", tier_since=since, total_spend_fen=spend))
    assert plan(app, "tier_warning", now).planned == 1
    assert plan(app, "tier_warning", now).planned == 0
    send(app, now)
    [(to, said)] = sends(sandbox, "custom")
    assert to == "oShort" and f"将于 {review.isoformat()} 复核，再消费 120 元即可保级" in said
