"""Hostile and broken input: refused with a clear status, nothing written."""
from __future__ import annotations

import time

import pytest
import requests
from wechatpy.utils import WeChatSigner

from helpers import counts, member

EVENT = ("<xml><ToUserName><![CDATA[gh_x]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
         "</FromUserName><CreateTime>{t}</CreateTime><MsgType><![CDATA[event]]></MsgType>"
         "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey></xml>")


def signed_query(token: str, **extra) -> dict:
    ts, nonce = str(int(time.time())), "n0nce"
    signer = WeChatSigner()
    signer.add_data(token, ts, nonce)
    return {"signature": signer.signature, "timestamp": ts, "nonce": nonce, **extra}


def test_handshake_echoes_only_for_the_right_token(live, sim):
    assert sim.handshake(echostr="hello123").text == "hello123"
    bad = requests.get(live.webhook, params={"signature": "0" * 40, "timestamp": "1",
                                             "nonce": "2", "echostr": "x"})
    assert bad.status_code == 403


@pytest.mark.parametrize("query", [{}, {"signature": "0" * 40, "timestamp": "1", "nonce": "2"}])
def test_unsigned_or_badly_signed_event_is_refused_and_writes_nothing(live, query):
    r = requests.post(live.webhook, params=query, data=EVENT.format(openid="oEvil", t=1700000000))
    assert r.status_code == 403
    assert counts(live) == (0, 0, 0)


def test_signature_for_another_token_is_refused(live, sim):
    r = sim.post_xml(EVENT.format(openid="oEvil", t=1700000000), signature="f" * 40)
    assert r.status == 403 and member(live, "oEvil") is None


HOSTILE = {
    "malformed": "<xml><FromUserName>oX</FromUserName><MsgType>event",
    "not_xml": "hello",
    "empty": "",
    "wrong_root": "<foo><MsgType>event</MsgType></foo>",
    "no_msgtype": "<xml><FromUserName>oX</FromUserName></xml>",
    "bad_createtime": EVENT.format(openid="oX", t="yesterday"),
    "billion_laughs": ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                       '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
                       '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
                       "<xml><FromUserName>&lol3;</FromUserName><MsgType>event</MsgType></xml>"),
    "external_entity": ('<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                        "<xml><FromUserName>&xxe;</FromUserName><MsgType>event</MsgType>"
                        "<Event>subscribe</Event><CreateTime>1</CreateTime></xml>"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_malformed_or_hostile_xml_gets_400_and_writes_nothing(live, name):
    r = requests.post(live.webhook, params=signed_query(live.config.token),
                      data=HOSTILE[name].encode())
    assert r.status_code == 400
    assert counts(live) == (0, 0, 0)


def test_oversized_body_is_refused(live):
    big = EVENT.format(openid="oBig", t=1).replace("gh_x", "g" * 100_000)
    r = requests.post(live.webhook, params=signed_query(live.config.token), data=big)
    assert r.status_code == 413 and counts(live) == (0, 0, 0)


def test_unhandled_events_and_messages_are_acknowledged(live, sim):
    sim.subscribe("oA")
    assert sim.text("oA", "你好").body == "success"
    assert sim.view("oA", "https://example.com/").body == "success"
    assert sim.click("oA", "NO_SUCH_KEY").body == "success"


def test_encrypted_event_in_safe_mode_joins_and_gets_encrypted_reply(live_aes):
    sim = live_aes.simulator()
    r = sim.subscribe("oSecret", scene="store_01")
    assert r.status == 200
    assert "<Encrypt>" in r.body and "oSecret" not in r.body  # nothing readable on the wire
    card = member(live_aes, "oSecret").card_no
    assert card in r.reply["Content"]
    assert sim.replay(r).body == "success" and counts(live_aes) == (1, 1, 1)


def test_safe_mode_refuses_plaintext_and_bad_msg_signature(live_aes):
    plain = requests.post(live_aes.webhook, params=signed_query(live_aes.config.token),
                          data=EVENT.format(openid="oPlain", t=1700000000))
    assert plain.status_code == 403
    sim = live_aes.simulator()
    forged = live_aes.simulator(encoding_aes_key="A" * 43)  # right token, wrong key
    assert forged.subscribe("oForged").status in (400, 403)
    assert counts(live_aes) == (0, 0, 0)
    assert sim.subscribe("oGood").status == 200
