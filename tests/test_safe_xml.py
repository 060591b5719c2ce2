"""The webhook's one safe parse of a message gives wechatpy the same message its own
parse (xmltodict) did, for the events and messages the handlers answer."""
from __future__ import annotations

import pytest
import xmltodict
from wechatpy import parse_message

from wx_member.wechat.inbound import safe_xml

HEAD = ("<ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oAlice]]>"
        "</FromUserName><CreateTime>1764633600</CreateTime>")
BODIES = [
    f"<xml>{HEAD}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>"
    "<EventKey><![CDATA[qrscene_store_01]]></EventKey><Ticket><![CDATA[gQ1]]></Ticket></xml>",
    f"<xml>{HEAD}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event>"
    "<EventKey><![CDATA[store_01]]></EventKey><Ticket><![CDATA[gQ1]]></Ticket></xml>",
    f"<xml>{HEAD}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event>"
    "<EventKey><![CDATA[CHECKIN]]></EventKey></xml>",
    f"<xml>{HEAD}<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event>"
    "<EventKey></EventKey></xml>",
    f"<xml>{HEAD}<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ 积分 ]]></Content>"
    "<MsgId>1234567890123456</MsgId></xml>",
]


@pytest.mark.parametrize("body", BODIES)
def test_one_safe_parse_gives_the_message_wechatpy_would(body):
    ours = safe_xml.message(safe_xml.parse(body.encode()))
    theirs = parse_message(body)
    assert type(ours) is type(theirs)
    assert ours._data == theirs._data
    assert safe_xml.as_dict(safe_xml.parse(body.encode())) == xmltodict.parse(body)["xml"]


@pytest.mark.parametrize("body", [
    b"<xml><a>1</a>",  # malformed
    b'<!DOCTYPE x [<!ENTITY e "boom">]><xml><a>&e;</a></xml>',  # entities
    b"<html></html>",  # not a WeChat message
])
def test_malformed_or_hostile_xml_is_refused(body):
    with pytest.raises(safe_xml.UnsafeXML):
        safe_xml.parse(body)
