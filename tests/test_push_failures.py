"""Failure injection: WeChat errors, timeouts, expired tokens and a sender killed mid-batch
end in the right statuses, and nothing is sent twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import APPID, SECRET, make_config, serve
from push_helpers import TEMPLATE_IDS, at, join, plan, rows, send, statuses
from wx_member.models import utcnow
from wx_member.pushes.definitions import DefinitionError, load
from wx_member.pushes import deliveries
from wx_member.platform import settings
from wx_member.wechat.gateway import WeChatGateway
from wx_member.wechat.tokens import DbTokenStorage

BIN = Path(sys.executable).parent / "wx-member"
SEND = "cgi-bin/message/template/send"


@pytest.fixture
def app(db_url, sandbox):
    yield from serve(make_config(db_url, sandbox, template_ids=dict(TEMPLATE_IDS)))


def birthdays(app, wx, openids, when="2026-05-20 10:00"):
    from wx_member.members import membership

    join(wx, openids, at("2026-05-01 09:00"))
    with app.session() as s, s.begin():
        for openid in openids:
            membership.require(s, openid).birthday = at("1990-05-20 12:00")
    plan(app, "birthday", at(when))


def test_quota_and_server_errors_back_off_then_send(app, sandbox):
    wx = app.simulator()
    birthdays(app, wx, ["oA", "oB"])
    sandbox.inject(SEND, errcode=45009)
    stats = send(app, at("2026-05-20 10:00"), workers=1)
    assert stats.stopped and "45009" in stats.stopped
    queued = [d for d in rows(app) if d.status == "queued"]
    assert queued and all(d.next_attempt_at > at("2026-05-20 10:00") for d in queued)
    sandbox.inject(SEND, http_status=502)
    send(app, at("2026-05-20 10:30"), workers=1)
    send(app, at("2026-05-20 12:00"), workers=1)
    assert statuses(app) == {"oA": "sent", "oB": "sent"}
    assert Counter(m["request"]["touser"] for m in sandbox.sent("template")) == {"oA": 1, "oB": 1}


def test_not_following_marks_the_member_unreachable(app, sandbox):
    wx = app.simulator()
    birthdays(app, wx, ["oA", "oGone"])
    sandbox.unfollow("oGone")  # WeChat knows before we do: 43004
    send(app, at("2026-05-20 10:00"))
    assert statuses(app) == {"oA": "sent", "oGone": "failed"}
    assert plan(app, "birthday", at("2027-05-20 10:00")).planned == 1  # oGone is left out


def test_expired_token_is_refreshed_once_and_the_send_retried(app, sandbox):
    wx = app.simulator()
    birthdays(app, wx, ["oA", "oB", "oC", "oD"])
    send(app, at("2026-05-20 10:00"), limit=1)
    fetched = sandbox.token_fetches
    sandbox.expire_tokens()
    send(app, at("2026-05-20 10:00"), workers=4)  # 3 calls rejected at once: one refresh
    assert sandbox.token_fetches == fetched + 1
    assert set(statuses(app).values()) == {"sent"}


def test_a_timeout_is_unknown_and_never_resent(app, sandbox):
    wx = app.simulator()
    birthdays(app, wx, ["oA"])
    app.rt.gateway.client.timeout = 0.3
    sandbox.inject(SEND, delay=1.0)  # WeChat got it, answered too late
    send(app, at("2026-05-20 10:00"))
    send(app, at("2026-05-21 10:00"))
    assert statuses(app) == {"oA": "unknown"}
    time.sleep(0.8)
    assert len(sandbox.sent("template")) == 1


def test_token_is_shared_by_processes_and_fetched_once(app, sandbox):
    """Two gateways on one database, as two processes have: one fetch between them, and one
    refresh when the token is rejected under concurrent calls."""
    other = WeChatGateway(app.config, storage=DbTokenStorage(app.rt.sessions))
    gateways = [app.rt.gateway, other] * 4
    sandbox.interact("oA")  # customer-service messages need the 48-hour window
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda g: g.send_text("oA", "hi"), gateways))
    assert sandbox.token_fetches == 1
    sandbox.interact("oA")
    sandbox.expire_tokens()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda g: g.send_text("oA", "again"), gateways))
    assert sandbox.token_fetches == 2


def test_killed_mid_batch_loses_nothing_and_sends_nothing_twice(app, sandbox, db_url):
    """A real `wx-member push send` process is killed while sending; after the restart every
    row is sent exactly once or, for the batch in flight, marked unknown and not resent."""
    wx = app.simulator()
    openids = [f"o{i:03d}" for i in range(60)]
    birthdays(app, wx, openids)
    with app.session() as s:  # the subprocess runs on the real clock: no quiet hours
        settings.change(s, "quiet_start_hour", 0, "test")
    with app.session() as s:
        settings.change(s, "quiet_end_hour", 0, "test")
    with app.session() as s:
        from sqlalchemy import update

        from wx_member.models import Delivery
        with s.begin():  # planned for a frozen day; due now for the real-clock subprocess
            s.execute(update(Delivery).values(next_attempt_at=utcnow() - timedelta(minutes=1)))
    sandbox.inject(SEND, delay=0.1, times=1000)
    env = {**os.environ, "DATABASE_URL": db_url, "WX_API_BASE": sandbox.url, "WX_APPID": APPID,
           "WX_SECRET": SECRET, "WX_TEMPLATE_BIRTHDAY": TEMPLATE_IDS["birthday"],
           "WX_TEMPLATE_POINTS_EXPIRY": TEMPLATE_IDS["points_expiry"]}
    proc = subprocess.Popen([str(BIN), "push", "send", "--batch", "10", "--workers", "2"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    deadline = time.time() + 30
    while len(sandbox.sent("template")) < 15 and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = Counter(d.status for d in rows(app))
    assert before["sending"] > 0 and before["queued"] > 0, before  # killed mid-batch
    time.sleep(0.5)  # calls the dead process had in flight still reach "WeChat"
    received = [m["request"]["touser"] for m in sandbox.sent("template")]
    sandbox.clear()  # forget the injected delays (and the log: kept in `received`)
    # The restart: rows still claimed wait out their claim, then are not resent.
    stats = send(app, utcnow() + deliveries.CLAIM + timedelta(minutes=1))
    received += [m["request"]["touser"] for m in sandbox.sent("template")]
    after = {d.openid: d.status for d in rows(app)}
    assert set(after.values()) <= {"sent", "unknown"}
    assert stats.counts["unknown"] == before["sending"] <= 10  # one batch at most
    per_member = Counter(received)
    assert max(per_member.values()) == 1  # nothing twice
    assert all(per_member[o] == 1 for o, st in after.items() if st == "sent")  # nothing lost
    assert len(after) == 60


def test_definitions_are_checked_at_start_up(tmp_path):
    def write(text):
        (tmp_path / "x.toml").write_text(text, "utf-8")
        return lambda: load(tmp_path, {"x": "T"})

    with pytest.raises(DefinitionError, match="模板消息运营规范"):
        write('kind="x"\ncategory="marketing"\nchannel="template"\n[fields]\nthing1="促销"\n')()
    with pytest.raises(DefinitionError, match="unknown variable.*nickname"):
        write('kind="x"\ncategory="service"\nchannel="template"\n'
              '[fields]\nthing1="{{ nickname }}"\n')()
    with pytest.raises(DefinitionError, match="over WeChat's limit of 20"):
        write('kind="x"\ncategory="service"\nchannel="template"\n'
              '[fields]\nthing1="{{ programme }}的积分即将到期，请尽快兑换礼品哦"\n')()
    ok = write('kind="x"\ncategory="service"\nchannel="template"\n[fields]\n'
               'thing1="{{ programme }}"\nkeyword1="{{ v }}"\n[sample]\nv="长" \n')()["x"]
    # At send time a member's long value is cut to the limit, not refused by WeChat.
    body = ok.render({"programme": "很" * 30, "v": "x"})
    assert len(body["data"]["thing1"]["value"]) == 20
