"""The ceiling for bench/webhook.py: a Flask endpoint that only checks WeChat's signature
and parses the XML (safely, as the real webhook does), then acknowledges."""
import os

import defusedxml.ElementTree as SafeET
from flask import Flask, abort, request
from wechatpy import parse_message
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.utils import check_signature

app = Flask(__name__)
TOKEN = os.environ["WX_TOKEN"]


@app.post("/wechat")
def wechat():
    a = request.args
    try:
        check_signature(TOKEN, a.get("signature", ""), a.get("timestamp", ""), a.get("nonce", ""))
    except InvalidSignatureException:
        abort(403)
    body = request.get_data()
    SafeET.fromstring(body)
    parse_message(body)
    return "success"


@app.get("/healthz")
def healthz():
    return "ok"
