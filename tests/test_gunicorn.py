"""The shipped gunicorn configuration, as a real server: a SIGTERM (a deploy, `systemctl
stop`) lets the request in flight finish and answer; metrics add up across workers; the
log is JSON without the openid WeChat puts in the query string."""
from __future__ import annotations

import json
import signal
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select, update

from conftest import make_config
from deploy_helpers import Gunicorn, app_env, metric, wait_for
from wx_member import migrate
from wx_member.db import make_engine, make_session_factory
from wx_member.models import Member, PointsLedger, utcnow
from wx_member.sandbox import Simulator


def test_sigterm_during_a_slow_request_still_answers_it(db_url, sandbox, tmp_path):
    config = make_config(db_url, sandbox)
    migrate.upgrade(db_url)
    app = Gunicorn(app_env(config), tmp_path / "gunicorn.log", workers=2).wait_ready()
    sim = Simulator(app.url + "wechat", token=config.token, appid=config.appid)
    engine = make_engine(db_url)
    lock = engine.connect()
    try:
        assert sim.subscribe("oSlow").status == 200
        # Hold the member's row (MariaDB) or the write lock (SQLite): the check-in below
        # waits for it inside its transaction, as behind a slow concurrent payment.
        held = lock.begin()
        lock.execute(update(Member).where(Member.openid == "oSlow").values(last_seen_at=utcnow()))
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(sim.click, "oSlow", "CHECKIN")
            # The other worker answers /metrics, with both workers' figures.
            assert wait_for(lambda: metric(app.url, "wx_member_http_requests_in_progress",
                                           endpoint="webhook.receive") == 1, 30)
            app.proc.send_signal(signal.SIGTERM)
            # The master has passed the signal on: the idle worker is gone.
            assert wait_for(lambda: any("Worker exiting" in line for line in app.log_lines()), 10)
            assert pending.running()  # still waiting for the database, not cut off
            held.rollback()
            answer = pending.result(timeout=30)
        assert answer.status == 200 and "签到成功" in answer.reply["Content"]
        assert app.proc.wait(timeout=30) == 0  # then it stops, cleanly
    finally:
        lock.close()
        app.stop()
    with make_session_factory(engine)() as s, s.read():
        reasons = s.scalars(select(PointsLedger.reason).join(Member).where(
            Member.openid == "oSlow").order_by(PointsLedger.id)).all()
    engine.dispose()
    assert reasons == ["signup", "checkin"]

    lines = [json.loads(line) for line in app.log_lines()]  # every line is JSON
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    posts = [line for line in access if "POST /wechat" in line["message"]]
    assert len(posts) == 2 and all("openid" not in line["message"] for line in posts)
    assert all(len(line["request_id"]) == 32 for line in posts)
