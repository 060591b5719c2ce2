"""The floor under bench/webhook.py's join: the bare endpoint (signature, the one safe XML
parse) plus a join's database work written straight on the DBAPI connection, with none of
the application's Python (no SQLAlchemy, no rules, no hooks).

It writes what a real join of a new person through a store channel writes, row for row
and in the same order (the event's dedup row, the settings read, the member and its card
number and home store, the scan, the sign-up points' ledger row, the sign-up coupon
template read, its stock count, the coupon and its event), in one `BEGIN IMMEDIATE` (SQLite)
or one transaction (MariaDB) committed before the answer: the same pages and index entries,
the same write lock (taken as the app takes it: wx_member.db.sqlite_begin_immediate polls for
it rather than sleeping in SQLite's busy handler), the same cross-process page-cache misses. What this endpoint's
throughput is against the bare one is what the database work alone costs; what the real
join's is against this one is what the application's own Python costs.

A benchmark fixture only: no duplicate handling or error path (a replayed request is a
500), scene and template fixed by bench/webhook.py's seed.
"""
import os
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote, urlsplit

from flask import Flask, Response
from stdnum import luhn

from bare_app import signed_message
from wx_member.db import sqlite_begin_immediate

app = Flask(__name__)
URL = os.environ["DATABASE_URL"]
SQLITE = URL.startswith("sqlite")

# The statements a join sends (bench/webhook.py prints the real join's count beside these 10).
_CLAIM = ("INSERT INTO inbound_event (dedup_key, kind, openid, received_at) "
          "VALUES (?, ?, ?, ?)")
_SETTINGS = "SELECT `key`, value FROM setting"
_MEMBER = ("INSERT INTO member (openid, tier, points_balance, total_spend_fen, balance_fen, "
           "channel_id, scene, subscribed, joined_at, last_seen_at, window_at) "
           "VALUES (?, 'normal', ?, 0, 0, ?, ?, 1, ?, ?, ?)")
_CARD = ("UPDATE member SET card_no = ?, home_store_id = "
         "(SELECT store_id FROM channel WHERE id = ?) WHERE id = ?")
_SCAN = ("INSERT INTO qr_scan (channel_id, scene, openid, joined, created_at) "
         "VALUES (?, ?, ?, 1, ?)")
_LEDGER = ("INSERT INTO points_ledger (member_id, delta, reason, idem_key, source, expires_at, "
           "created_at) VALUES (?, ?, 'signup', ?, ?, ?, ?)")
_TEMPLATE = "SELECT id, name, active, valid_days FROM coupon_template WHERE id = ?"
_STOCK = ("UPDATE coupon_template SET issued_count = issued_count + 1 WHERE id = ? "
          "AND (stock_limit IS NULL OR issued_count < stock_limit)")
_COUPON = ("INSERT INTO coupon (code, template_id, member_id, cause, status, issued_at, "
           "valid_from, valid_until) VALUES (?, ?, ?, ?, 'available', ?, ?, ?)")
_COUPON_EVENT = ("INSERT INTO coupon_event (coupon_id, member_id, to_status, reason, idem_key, "
                 "created_at) VALUES (?, ?, 'available', 'signup', ?, ?)")
_REPLY = ("<xml><ToUserName><![CDATA[{to}]]></ToUserName><FromUserName><![CDATA[{frm}]]>"
          "</FromUserName><CreateTime>{t}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
          "<Content><![CDATA[欢迎加入会员！您的会员卡号 {card}，已送 {points} 积分。]]></Content></xml>")


def _connect():
    if SQLITE:
        import sqlite3

        conn = sqlite3.connect(unquote(urlsplit(URL).path[1:]), isolation_level=None,
                               check_same_thread=False)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON",
                       "busy_timeout=30000"):  # what wx_member/db.py sets
            conn.execute(f"PRAGMA {pragma}")
        return conn
    import pymysql

    u = urlsplit(URL)
    return pymysql.connect(host=u.hostname, port=u.port or 3306, user=unquote(u.username),
                           password=unquote(u.password or ""), database=u.path[1:],
                           charset="utf8mb4", autocommit=False)


_conn = None
_channel: dict[str, tuple[int, int]] = {}  # scene → (channel id, store id); the app caches it too


def _sql(text: str) -> str:
    return text if SQLITE else text.replace("?", "%s")


def _stamp(when: datetime):
    return when.strftime("%Y-%m-%d %H:%M:%S.%f") if SQLITE else when.replace(tzinfo=None)


def _join(openid: str, dedup_key: str, scene: str) -> tuple[str, int]:
    global _conn
    _conn = _conn or _connect()
    try:
        return _write(_conn.cursor(), openid, dedup_key, scene)
    except Exception:
        _conn.rollback()  # an open SQLite transaction would hold the write lock for good
        raise


def _write(cur, openid: str, dedup_key: str, scene: str) -> tuple[str, int]:
    x = lambda sql, args=(): cur.execute(_sql(sql), args)  # noqa: E731
    if scene not in _channel:
        x("SELECT id FROM channel WHERE scene = ?", (scene,))
        _channel[scene] = cur.fetchone()[0]
    channel = _channel[scene]
    now = datetime.now(timezone.utc)
    stamp = _stamp(now)
    if SQLITE and not sqlite_begin_immediate(_conn, 30000):  # the app's wait for the lock
        x("BEGIN IMMEDIATE")
    x(_CLAIM, (dedup_key, "subscribe_scan", openid, stamp))
    x(_SETTINGS)
    found = {k: v for k, v in cur.fetchall()}
    points = int(found.get("signup_points", 10))
    template_id = int(found.get("signup_coupon_template", 1))
    x(_MEMBER, (openid, points, channel, scene, stamp, stamp, stamp))
    member = cur.lastrowid
    body = f"8{member:08d}"
    card = body + luhn.calc_check_digit(body)
    x(_CARD, (card, channel, member))
    x(_SCAN, (channel, scene, openid, stamp))
    x(_LEDGER, (member, points, f"signup:{member}", scene,
                _stamp(now.replace(microsecond=0) + timedelta(days=365)), stamp))
    x(_TEMPLATE, (template_id,))
    template = cur.fetchone()
    if template and template[2]:
        x(_STOCK, (template_id,))
        x(_COUPON, (os.urandom(6).hex().upper(), template_id, member, f"signup:{member}",
                    stamp, stamp, _stamp(now + timedelta(days=template[3] or 30))))
        x(_COUPON_EVENT, (cur.lastrowid, member, f"issue:signup:{member}", stamp))
    _conn.commit()
    cur.close()
    return card, points


@app.post("/wechat")
def wechat():
    msg = signed_message()
    card, points = _join(msg.source, f"evt:{msg.source}:{msg.time}:subscribe_scan", msg.scene_id)
    return Response(_REPLY.format(to=msg.source, frm=msg.target, t=int(msg.time), card=card,
                                  points=points), content_type="application/xml; charset=utf-8")


@app.get("/healthz")
def healthz():
    return "ok"
