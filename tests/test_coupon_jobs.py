"""Coupon jobs and operator commands: the daily expiry and birthday jobs are scheduled in
the programme's zone and act; templates, campaigns and expiry from the `wx-member` CLI."""
from __future__ import annotations

import json
from datetime import datetime

from coupon_helpers import coupons_of, events
from helpers import member
from test_cli import run
from wx_member import scheduler
from wx_member.coupons import templates as ct
from wx_member.coupons import wallet


def test_daily_jobs_are_scheduled_and_the_expiry_job_expires(live, sim):
    sched = scheduler.build_scheduler(live.rt)
    expiry, birthday = sched.get_job("coupon_expiry"), sched.get_job("birthday_coupons")
    assert "hour='0', minute='5'" in str(expiry.trigger) and str(expiry.trigger.timezone) == \
        "Asia/Shanghai"
    assert "hour='0', minute='10'" in str(birthday.trigger)
    sim.subscribe("oAlice")
    with live.session() as s:
        old = ct.add(s, ct.TemplateSpec(name="旧券", kind="amount_off", amount_off_fen=500,
                                        valid_from=datetime(2020, 1, 1),
                                        valid_until=datetime(2020, 2, 1)), by="test")
        c = wallet.issue(s, "oAlice", old.id, key="old", by="t", now=datetime(2020, 1, 5))
    scheduler.coupon_expiry_job()
    scheduler.birthday_coupons_job()  # nobody's birthday is set: issues nothing, no error
    with live.session() as s:
        statuses = {x.cause: x.status for x in coupons_of(s, member(live, "oAlice").id)}
        assert statuses == {"operator:old": "expired", f"signup:{c.member_id}": "available"}
        assert events(s, c.id)[-1] == ("available", "expired", "expire")


def test_operator_cli_templates_campaign_and_expiry(live, sim, db_url):
    sim.subscribe("oBob")
    bob = member(live, "oBob")
    added = run("coupon", "template", "add", "周二会员日", "--kind", "percent_off", "--percent",
                "20", "--cap", "2000", "--from", "2030-12-01", "--until", "2030-12-31",
                "--json", db_url=db_url)
    assert added.returncode == 0, added.stderr
    t = json.loads(added.stdout)
    # Local dates in Asia/Shanghai: the window opens at 16:00 UTC the day before.
    assert (t["text"], t["valid_from"], t["valid_until"]) == (
        "8折（最多减20元）", "2030-11-30T16:00:00Z", "2030-12-31T16:00:00Z")
    bad = run("coupon", "template", "add", "无效", "--kind", "amount_off", "--days", "7",
              db_url=db_url)
    assert bad.returncode == 2 and "amount_off_fen" in bad.stderr
    camp = run("coupon", "campaign", str(t["id"]), "tuesday", "--members", f"{bob.id},424242",
               db_url=db_url)
    assert "issued 1" in camp.stdout and "not members 1" in camp.stdout, camp.stderr
    again = run("coupon", "campaign", str(t["id"]), "tuesday", "--tier", "normal", db_url=db_url)
    assert "issued 0, already had it 1" in again.stdout
    assert run("coupon", "template", "disable", str(t["id"]), db_url=db_url).returncode == 0
    listed = json.loads(run("coupon", "template", "list", "--json", db_url=db_url).stdout)
    assert [x["active"] for x in listed if x["id"] == t["id"]] == [False]
    assert run("coupon", "expire", db_url=db_url).stdout.strip() == "expired 0 coupons"
