"""Request ids, JSON logs with members' data masked, /metrics, and /readyz."""
from __future__ import annotations

import io
import json
import logging

import pytest
import requests
from sqlalchemy import text

from deploy_helpers import metric
from wx_member import logs
from wx_member.members import membership
from wx_member.loyalty import points

OPENID = "oQ3rT5yU7iO9pA1sD3fG5hJ7kL9z"  # the shape of a real openid: 28 characters


@pytest.fixture
def json_log(caplog):
    """What the app logs meanwhile, as our JSON formatter writes it."""
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter("json"))
    logging.getLogger().addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        logging.getLogger().removeHandler(handler)


def test_log_lines_are_json_with_the_request_id_and_no_openid(live, json_log):
    sim = live.simulator()
    first = sim.subscribe(OPENID)
    params, body = sim.prepare(first.xml, openid=OPENID)  # WeChat's retry of the same event
    res = requests.post(live.webhook, params=params, data=body, timeout=10,
                        headers={"X-Request-Id": "nginx-req-000123"})
    assert res.status_code == 200 and res.headers["X-Request-Id"] == "nginx-req-000123"
    lines = json_log()
    duplicate = [line for line in lines if line["message"].startswith("duplicate event")]
    assert len(duplicate) == 1
    assert duplicate[0]["request_id"] == "nginx-req-000123"
    assert duplicate[0]["level"] == "INFO" and duplicate[0]["logger"] == "wx_member.platform.events"
    assert "oQ3***9z" in duplicate[0]["message"]
    assert all(OPENID not in json.dumps(line) for line in lines)


def test_masking_of_openids_and_phone_numbers():
    assert logs.mask(f"payer {OPENID} phone 13912345678") == "payer oQ3***9z phone 139****5678"
    assert logs.mask("openid=oShort1&x=1 unionid: o6_bmasdasdsad6_2sgVt7hMZOPfL") == \
        "openid=oSh***t1&x=1 unionid: o6_***fL"
    assert logs.mask("order 4200000123456789 costs 1999 fen") == "order 4200000123456789 costs 1999 fen"


def test_request_id_is_made_when_missing_or_insane(live):
    made = requests.get(live.url + "healthz", timeout=10).headers["X-Request-Id"]
    assert len(made) == 32
    odd = requests.get(live.url + "healthz", headers={"X-Request-Id": "<script>;1"}, timeout=10)
    assert odd.headers["X-Request-Id"] != "<script>;1" and len(odd.headers["X-Request-Id"]) == 32


def test_metrics_count_events_ledger_writes_and_latency(live):
    sim = live.simulator()
    before = {
        "subscribe": metric(live.url, "wx_member_webhook_events_total", kind="subscribe"),
        "click": metric(live.url, "wx_member_webhook_events_total", kind="click"),
        "signup": metric(live.url, "wx_member_ledger_writes_total", ledger="points", reason="signup"),
        "checkin": metric(live.url, "wx_member_ledger_writes_total", ledger="points", reason="checkin"),
        "latency": metric(live.url, "wx_member_http_request_duration_seconds_count",
                          endpoint="webhook.receive"),
    }
    joined = sim.subscribe("oMetrics1")
    sim.replay(joined)  # counted as an event received, not as a second ledger write
    sim.click("oMetrics1", "CHECKIN")
    after = {
        "subscribe": metric(live.url, "wx_member_webhook_events_total", kind="subscribe"),
        "click": metric(live.url, "wx_member_webhook_events_total", kind="click"),
        "signup": metric(live.url, "wx_member_ledger_writes_total", ledger="points", reason="signup"),
        "checkin": metric(live.url, "wx_member_ledger_writes_total", ledger="points", reason="checkin"),
        "latency": metric(live.url, "wx_member_http_request_duration_seconds_count",
                          endpoint="webhook.receive"),
    }
    assert {k: after[k] - before[k] for k in after} == {
        "subscribe": 2, "click": 1, "signup": 1, "checkin": 1, "latency": 3}
    assert metric(live.url, "wx_member_scheduler_overdue_seconds") == 0.0  # no jobs stored yet


def test_a_ledger_write_rolled_back_is_not_counted(live):
    live.simulator().subscribe("oRollback1")
    before = metric(live.url, "wx_member_ledger_writes_total", ledger="points", reason="adjust")
    with live.session() as s:
        with s.read():
            member = membership.require(s, "oRollback1")
        with pytest.raises(RuntimeError), s.write():
            points.post(s, member, 5, "adjust", "adjust:test-rollback")
            raise RuntimeError("the use case failed after writing")
        points.adjust(s, member, 5, "goodwill", "test-commit", by="test")
    assert metric(live.url, "wx_member_ledger_writes_total", ledger="points",
                  reason="adjust") == before + 1


def test_readyz_serves_a_newer_schema_but_not_an_older_one(live):
    assert requests.get(live.url + "readyz", timeout=10).json() == {"status": "ok",
                                                                   "schema": "current"}
    with live.rt.engine.begin() as conn:
        (head,) = conn.execute(text("SELECT version_num FROM alembic_version")).one()
        # A newer release migrated the database while this one still serves (rolling upgrade).
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    res = requests.get(live.url + "readyz", timeout=10)
    assert res.status_code == 200 and res.json()["schema"] == "newer"
    with live.rt.engine.begin() as conn:
        # This release needs a migration the database lacks: keep traffic away.
        conn.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    res = requests.get(live.url + "readyz", timeout=10)
    assert res.status_code == 503 and res.json()["error"] == "migrations not at head"
    with live.rt.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": head})
