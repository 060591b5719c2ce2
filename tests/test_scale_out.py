"""Two app hosts and two scheduler hosts, on loopback: two gunicorn servers (shipped config,
two workers each) and two `wx-member scheduler` processes on one MariaDB and one Redis.

WeChat sends every event, and WeChat Pay every notify, to both app servers at once (as
retries behind a load balancer do); then a holiday greeting goes to 300 members with the
WeChat sandbox slowed down, and the leading scheduler is killed in the middle of it."""
from __future__ import annotations

import os
import secrets
import signal
import subprocess
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import requests
from sqlalchemy import func, select

from conftest import MCH_ID, make_config
from deploy_helpers import (BIN, Gunicorn, app_env, mariadb_url, metric,  # noqa: F401
                            redis_url, wait_for)
from push_helpers import at
from wx_member import migrate
from wx_member.extensions import build_runtime
from wx_member.models import Delivery, InboundEvent, Member, Order, PointsLedger, utcnow
from wx_member.sandbox import Simulator
from wx_member.sandbox.pay import PayNotifier
from wx_member.pushes import deliveries
from wx_member.platform import leases
from wx_member.pushes import planners
from wx_member.platform import settings

MEMBERS, CHECKINS, PAYERS = 300, 100, 60
SEND = "cgi-bin/message/custom/send"


def openid(i: int) -> str:
    return f"oScale{i:022d}"  # 28 characters, as WeChat's


def scheduler(env: dict, log) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "wx-member"), "scheduler", "--ttl", "3", "--renew", "0.5",
                             "--send-every", "1"], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def to_both(apps, path: str, requests_: list[tuple[dict, dict, bytes]]) -> list[list[requests.Response]]:
    """Each request to both servers at the same moment; answers grouped by request."""
    def post(job):
        app, (params, headers, body) = job
        return requests.post(app.url + path, params=params, headers=headers, data=body, timeout=30)
    jobs = [(app, req) for req in requests_ for app in apps]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(post, jobs))
    return [answers[i:i + len(apps)] for i in range(0, len(answers), len(apps))]


def holder_pid(rt) -> int | None:
    with rt.sessions() as s:
        holder, _ = leases.holder(s, "scheduler")
    return int(holder.split(":")[1]) if holder else None


def test_two_apps_and_two_schedulers_count_once_and_send_once(
        mariadb_url, redis_url, sandbox, platform_cert, tmp_path):  # noqa: F811
    sandbox.enforce_48h = False
    cert = tmp_path / "wechatpay_platform.pem"
    cert.write_bytes(platform_cert.cert_pem)
    config = make_config(mariadb_url, sandbox, mch_id=MCH_ID, pay_api_key=secrets.token_hex(16),
                         pay_apiv3_key=secrets.token_hex(16), pay_platform_cert=str(cert),
                         redis_url=redis_url)
    migrate.upgrade(mariadb_url)
    rt = build_runtime(config)  # the operator's view: services on the same database
    with rt.sessions() as s:
        settings.change(s, "quiet_start_hour", 0, "test")  # no quiet hours, whenever CI runs
    with rt.sessions() as s:
        settings.change(s, "quiet_end_hour", 0, "test")
    env = app_env(config)
    apps = [Gunicorn(env, tmp_path / f"app{i}.log", workers=2) for i in (1, 2)]
    logs = [open(tmp_path / f"scheduler{i}.log", "wb") for i in (1, 2)]
    # One scheduler per "host", sharing that host's metrics directory with its app server.
    schedulers = [scheduler({**env, "PROMETHEUS_MULTIPROC_DIR": app.metrics_dir}, log)
                  for app, log in zip(apps, logs)]
    try:
        for app in apps:
            app.wait_ready()
        sim = Simulator(apps[0].url + "wechat", token=config.token, appid=config.appid)
        xml = {"Content-Type": "text/xml"}

        # -- events: every one to both servers; each counted and answered once ------------
        joins = [sim.prepare_event("subscribe", openid(i), EventKey="qrscene_store_01",
                                   Ticket="gQscale") for i in range(MEMBERS)]
        answered = to_both(apps, "wechat", [(p, xml, b) for p, b in joins])
        clicks = [sim.prepare_event("CLICK", openid(i), EventKey="CHECKIN") for i in range(CHECKINS)]
        answered += to_both(apps, "wechat", [(p, xml, b) for p, b in clicks])
        assert all(r.status_code == 200 for pair in answered for r in pair)
        # One of the two copies did the work and replied; the other found it done.
        assert all(sum(r.text != "success" for r in pair) == 1 for pair in answered)

        payer = PayNotifier(apps[0].url, config.appid, config.mch_id, api_key=config.pay_api_key,
                            apiv3_key=config.pay_apiv3_key,
                            platform_private_key=platform_cert.private_key_pem,
                            platform_serial=platform_cert.serial)
        amount = {i: 1000 + 100 * i for i in range(PAYERS)}
        v2 = [({}, xml, payer.v2_payment_xml(openid(i), f"S{i:04d}", amount[i]))
              for i in range(0, PAYERS, 2)]
        v3 = [({}, *payer.v3_request("TRANSACTION.SUCCESS", payer.v3_payment_resource(
            openid(i), f"S{i:04d}", amount[i]))) for i in range(1, PAYERS, 2)]
        paid = to_both(apps, "pay/notify", v2) + to_both(apps, "pay/v3/notify", v3)
        assert all(r.status_code in (200, 204) and "FAIL" not in r.text
                   for pair in paid for r in pair)

        with rt.sessions() as s, s.read():
            assert s.scalar(select(func.count()).select_from(Member)) == MEMBERS
            assert s.scalar(select(func.count()).select_from(InboundEvent)) == MEMBERS + CHECKINS
            assert s.scalar(select(func.count()).select_from(Order)) == PAYERS
            ledger = Counter(s.execute(select(PointsLedger.reason)).scalars())
            assert ledger == {"signup": MEMBERS, "checkin": CHECKINS, "purchase": PAYERS}
            earned = s.scalar(select(func.sum(PointsLedger.delta))
                              .where(PointsLedger.reason == "purchase"))
            assert earned == sum(a // 100 for a in amount.values())  # 1 point per yuan
            assert s.scalar(select(func.sum(Member.points_balance))) == s.scalar(
                select(func.sum(PointsLedger.delta)))
        # Both servers took their share, and their workers' counts add up in /metrics.
        served = [metric(app.url, "wx_member_webhook_events_total", kind="subscribe_scan")
                  for app in apps]
        assert served == [MEMBERS, MEMBERS]

        # -- a campaign; the leading scheduler dies in the middle of it -------------------
        assert wait_for(lambda: holder_pid(rt), 30) in {p.pid for p in schedulers}
        sandbox.inject(SEND, delay=0.1, times=MEMBERS)  # a slow WeChat: ~80 sends a second
        with rt.sessions() as s:
            planned = planners.plan(s, rt.pushes, "holiday", rt.config, now=at("2026-10-01 10:00"))
        assert planned.planned == MEMBERS
        assert wait_for(lambda: len(sandbox.sent("custom")) >= 40, 60), "the leader sent nothing"
        leader = holder_pid(rt)
        standby = next(p for p in schedulers if p.pid != leader)
        os.killpg(leader, signal.SIGKILL)
        assert wait_for(lambda: holder_pid(rt) == standby.pid, 30), "the standby did not take over"

        def settled():
            """Nothing queued, and no batch in flight but the one the dead leader held."""
            with rt.sessions() as s, s.read():
                left = Counter(s.execute(select(Delivery.status)).scalars())
                claims = set(s.scalars(select(Delivery.claim).where(Delivery.status == "sending")))
            return left["queued"] == 0 and len(claims) <= 1
        assert wait_for(settled, 60), "the standby did not send the rest"
        with rt.sessions() as s, s.read():
            rows = list(s.execute(select(Delivery.openid, Delivery.status, Delivery.claim)))
        received = Counter(e["request"]["touser"] for e in sandbox.sent("custom"))
        assert max(received.values()) == 1  # nobody got the greeting twice
        by_status = Counter(r.status for r in rows)
        assert set(by_status) <= {"sent", "sending"} and sum(by_status.values()) == MEMBERS
        # Rows left `sending` are the batch the dead leader held: not sent again by anyone.
        assert len({r.claim for r in rows if r.status == "sending"}) == 1
        assert all(received[r.openid] == 1 for r in rows if r.status == "sent")
        assert by_status["sent"] >= MEMBERS - deliveries.BATCH  # what it had not claimed
        # The schedulers' counters reach /metrics through their host's app server, once the
        # standby's send run has returned (the rows are recorded a moment before).
        def counted():
            return sum(metric(app.url, "wx_member_pushes_total", status="sent") for app in apps)
        assert wait_for(lambda: counted() == by_status["sent"], 30), (counted(), by_status)
        assert sum(metric(app.url, "wx_member_scheduler_lag_seconds_count", job="send_due")
                   for app in apps) > 0
        assert metric(apps[0].url, "wx_member_scheduler_lease_seconds_left") > 0
        # One access token for the four processes, kept in Redis.
        assert sandbox.token_fetches == 1
        with rt.sessions() as s:  # once its claim has expired, the batch is `unknown`
            stats = deliveries.send_due(s, rt.gateway, rt.config.tz,
                                        now=utcnow() + deliveries.CLAIM + timedelta(minutes=1))
        assert stats.counts["unknown"] == by_status["sending"] and stats.sent == 0
        assert Counter(e["request"]["touser"] for e in sandbox.sent("custom")) == received
    finally:
        for proc in schedulers:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for app in apps:
            app.stop()
        for log in logs:
            log.close()
        rt.engine.dispose()

    # The logs are JSON, with the openids masked (every join was answered twice).
    text = "\n".join(line for app in apps for line in app.log_lines())
    assert "duplicate event evt:oSc***" in text
    assert not any(openid(i) in text for i in range(MEMBERS))
