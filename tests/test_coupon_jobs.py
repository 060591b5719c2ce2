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


def test_cli_templates_for_a_store_with_a_limit(live, sim, db_url):
    from till_helpers import open_store

    open_store(live, "SH001", "人民广场店")
    open_store(live, "BJ001", "国贸店")
    sim.subscribe("oCarol")
    carol = member(live, "oCarol")
    added = run("coupon", "template", "add", "人广店5元", "--kind", "amount_off", "--off", "500",
                "--days", "7", "--store", "sh001", "--limit", "1", "--json", db_url=db_url)
    assert added.returncode == 0, added.stderr
    t = json.loads(added.stdout)
    assert (t["stock_limit"], t["issued"], t["remaining"]) == (1, 0, 1)
    unknown = run("coupon", "template", "add", "无店", "--kind", "amount_off", "--off", "500",
                  "--days", "7", "--store", "NOPE", db_url=db_url)
    assert unknown.returncode == 2 and "门店 NOPE 不存在" in unknown.stderr
    issued = run("coupon", "issue", carol.card_no, str(t["id"]), "--key", "c1", db_url=db_url)
    assert issued.returncode == 0 and issued.stdout.startswith("issued "), issued.stderr
    code = issued.stdout.split()[1].rstrip(",")
    sold = run("coupon", "issue", carol.card_no, str(t["id"]), "--key", "c2", db_url=db_url)
    assert sold.returncode == 2 and "已发完（限量 1 张）" in sold.stderr
    listed = run("coupon", "template", "list", db_url=db_url).stdout
    assert "人广店5元" in listed and "SH001; issued 1/1, 0 left" in listed
    below = run("coupon", "template", "limit", str(t["id"]), "0", db_url=db_url)
    assert below.returncode == 2 and "发放总量" in below.stderr
    assert run("coupon", "template", "limit", str(t["id"]), "none",
               db_url=db_url).stdout.strip() == f"template {t['id']}: issued 1, limit none"
    redeem = ["coupon", "redeem", code, "--member", carol.card_no, "--amount", "3000"]
    for store, order in ((None, "N1"), ("BJ001", "N2")):  # no store known, another store
        res = run(*redeem, "--order", order, *(["--store", store] if store else []),
                  db_url=db_url)
        assert res.returncode == 2 and "限人民广场店使用" in res.stderr, res.stderr
    res = run(*redeem, "--order", "N3", "--store", "SH001", db_url=db_url)
    assert res.returncode == 0 and "500 fen off order N3" in res.stdout, res.stderr
