"""The ceiling for bench/webhook.py: a Flask endpoint that only checks WeChat's signature
and parses the XML (safely, as the real webhook does), then acknowledges."""
import os

from flask import Flask, abort, request
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

# The webhook's one safe parse (defusedxml), then wechatpy's message from that tree.
from wx_member.wechat.inbound import safe_xml

app = Flask(__name__)
TOKEN = os.environ["WX_TOKEN"]


def signed_message():
    """The request's WeChat message, its signature checked (403 if wrong) and its XML parsed
    once, safely, as the real webhook does (bench/floor_app.py starts the same way)."""
    a = request.args
    try:
        check_signature(TOKEN, a.get("signature", ""), a.get("timestamp", ""), a.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    return safe_xml.message(safe_xml.parse(request.get_data()))


@app.post("/wechat")
def wechat():
    signed_message()
    return "success"


@app.get("/healthz")
def healthz():
    return "ok"


# The ceiling for bench/api.py: the same bearer-token check (a JWT under the same key) and
# a JSON answer of the card's shape, without the database.
@app.get("/api/me/card")
def card():
    import jwt
    from flask import jsonify

    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    try:
        claims = jwt.decode(token, os.environ["WX_MEMBER_SECRET_KEY"], algorithms=["HS256"],
                            audience="wx-member-api")
    except jwt.InvalidTokenError:
        abort(401)
    return jsonify(card_no="8" + claims["sub"].zfill(9), tier="normal", tier_name="普通会员",
                   points=0, total_spend_fen=0, next_tier=None, expiring=[])


# The ceiling for bench/till.py: a till's Bearer key hashed (as the real check does, without
# the database lookup), the JSON body parsed, an order-shaped JSON answer.
@app.post("/till/v1/orders")
def till_order():
    import hashlib

    from flask import jsonify

    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        abort(401)
    hashlib.sha256(key.encode()).hexdigest()
    body = request.get_json()
    payable = sum(line["quantity"] * line["unit_price_fen"] for line in body["lines"])
    return jsonify(order_no=body["order_no"], payable_fen=payable, credited_fen=payable,
                   points_earned=payable // 100, points_balance=0, tier="normal",
                   tier_name="普通会员", balance_fen=0, replayed=False)
