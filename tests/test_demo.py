"""The main job a newcomer runs first: `wx-member serve --demo` (what `scripts/run` starts)
comes up with the sandbox, the scheduler and demo data made over HTTP, and every surface it
prints answers."""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

BIN = Path(sys.executable).parent / "wx-member"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_demo_starts_with_members_orders_and_every_surface(tmp_path):
    port, sandbox_port, db = free_port(), free_port(), tmp_path / "demo.db"
    log = open(tmp_path / "demo.log", "w+")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WX_", "WXPAY_"))}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([str(BIN), "serve", "--demo", "--port", str(port),
                             "--sandbox-port", str(sandbox_port), "--demo-db", str(db)],
                            stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.time() + 90
        while time.time() < deadline and "Ctrl-C stops everything" not in _read(log):
            assert proc.poll() is None, _read(log)[-3000:]
            time.sleep(0.3)
        out = _read(log)
        assert "Ctrl-C stops everything" in out, out[-3000:]
        base = f"http://127.0.0.1:{port}/"
        assert requests.get(base + "readyz", timeout=10).status_code == 200
        assert requests.get(base + "api/openapi.json", timeout=10).status_code == 200
        password = re.search(r"user admin, password (\S+)\)", out).group(1)
        login = requests.get(base + "admin/login", timeout=10)
        assert login.status_code == 200 and "登录" in login.text and password

        show = subprocess.run([str(BIN), "member", "show", "oDemoAlice", "--json"],
                              env={**env, "DATABASE_URL": f"sqlite:///{db}"},
                              capture_output=True, text=True, timeout=60)
        alice = json.loads(show.stdout)
        # Two signed pay notifies (128 + 96 yuan) took her past 银卡's 200 yuan.
        assert (alice["tier"], alice["total_spend_fen"], len(alice["orders"])) == (
            "silver", 22400, 2)
        assert alice["points"] == alice["ledger_sum"] > 224  # purchases + sign-up + referral
        # Dana recharged 充500送50 in the mini-program, paid through the sandbox's WeChat Pay.
        import sqlite3

        with sqlite3.connect(db) as conn:
            # ... then paid 人民路店 38.50 yuan from it (到店买单), earning points there.
            balance, points = conn.execute("SELECT balance_fen, points_balance FROM member "
                                           "WHERE mini_openid = 'oDemoDana'").fetchone()
            assert balance == 55000 - 3850 and points >= 38
            assert conn.execute("SELECT status FROM jsapi_order").fetchall() == [("paid",)]
            assert conn.execute("SELECT s.code, p.status, p.payable_fen FROM store_payment p "
                                "JOIN store s ON s.id = p.store_id").fetchall() == [
                ("SH001", "paid", 3850)]
            # The chain: three stores, their channel codes, the members' home stores.
            stores = dict(conn.execute("SELECT code, id FROM store").fetchall())
            assert set(stores) == {"SH001", "SH002", "BJ001"}
            assert conn.execute("SELECT s.code FROM channel c JOIN store s ON s.id = c.store_id"
                                " WHERE c.scene = 'store_01'").fetchone() == ("SH001",)
            homes = dict(conn.execute("SELECT openid, home_store_id FROM member WHERE openid "
                                      "IN ('oDemoAlice', 'oDemoBob')").fetchall())
            assert homes == {"oDemoAlice": stores["SH001"], "oDemoBob": stores["SH001"]}
            # Bob's purchase at 人民路店's till earned points, recorded with the store.
            till = conn.execute("SELECT o.store_id, o.points_earned, o.amount_fen FROM pay_order o"
                                " JOIN member m ON m.id = o.member_id WHERE o.api = 'till' AND "
                                "m.openid = 'oDemoBob'").fetchall()
            assert len(till) == 1 and till[0][0] == stores["SH001"] and till[0][1] > 0, till
            assert conn.execute("SELECT count(*) FROM till_key").fetchone() == (1,)
            # 金卡会员's monthly gift (每月礼券): a 小食套餐 to exchange, chosen for 金卡.
            (snack,) = conn.execute("SELECT value FROM setting WHERE key = "
                                    "'tier_gold_monthly_coupon_template'").fetchone()
            assert conn.execute("SELECT kind, item, min_tier FROM coupon_template WHERE id = ?",
                                (int(snack),)).fetchone() == ("item", "小食套餐", "gold")
        assert "wx-member simulate pay OUT_TRADE_NO --sandbox" in out
        # The printed till key and its ready curl quote a basket for Bob.
        curl = re.search(r"curl -X POST -H 'Authorization: Bearer (\S+)' .* -d '(.+)' "
                         r"(\S+/till/v1/quote)", out)
        quote = requests.post(curl.group(3), data=curl.group(2).encode(), timeout=10, headers={
            "Authorization": f"Bearer {curl.group(1)}", "Content-Type": "application/json"})
        assert quote.status_code == 200 and quote.json()["payable_fen"] > 0, quote.text
        # The printed simulate command works against the running demo.
        command = re.search(r"wx-member simulate (.*) subscribe oYou", out).group(1).split()
        sent = subprocess.run([str(BIN), "simulate", *command, "subscribe", "oYou",
                               "--scene", "store_01"], capture_output=True, text=True,
                              timeout=60, env=env)
        assert sent.returncode == 0 and "会员" in sent.stdout, sent.stdout + sent.stderr
        # The mini-program settings it prints work: a login as miniprogram/utils/api.js does
        # it with sandboxUrl set (a code from the sandbox, then /api/login).
        mini = re.search(r"baseUrl: '(\S+)', sandboxUrl: '(\S+)'", out)
        code = requests.post(mini.group(2) + "_sandbox/login-code", json={"openid": "oMini"},
                             timeout=10).json()["code"]
        login = requests.post(mini.group(1) + "login", json={"code": code}, timeout=10)
        assert login.status_code == 200 and login.json()["created"], login.text
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _read(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()
