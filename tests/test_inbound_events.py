"""wx_member.wechat.inbound: the XML WeChat sends (built by the sandbox's Simulator) →
one typed, frozen dataclass per kind; anything malformed → BadMessage, anything else we do
not act on → Unhandled. No database: the codec alone."""
from __future__ import annotations

import ast
import dataclasses
from datetime import datetime
from pathlib import Path

import pytest
import xmltodict
from wechatpy.crypto import WeChatCrypto

from conftest import random_aes_key
from wx_member.config import Config
from wx_member.sandbox import Simulator
from wx_member.wechat import inbound
from wx_member.wechat.inbound import (
    LinkViewed,
    MassSendFinished,
    MenuClicked,
    MessageReceived,
    Scanned,
    SubscribeChoice,
    Subscribed,
    SubscribeNoticeChanged,
    TemplateSendFinished,
    Unhandled,
    Unsubscribed,
)

ROOT = Path(__file__).resolve().parent.parent
CFG = Config(appid="wxinbound0000001", token="inbound-token")
T = 1_700_000_000
AT = datetime(2023, 11, 14, 22, 13, 20)  # T, naive UTC
SIM = Simulator("http://unused/wechat", token=CFG.token, appid=CFG.appid)


def event(name: str, openid: str = "oA", **fields) -> inbound.Inbound:
    """Decode the request WeChat would send for event `name`."""
    params, body = SIM.prepare_event(name, openid, create_time=T, **fields)
    return inbound.decode(CFG, params, body)


def message(msg_type: str, openid: str = "oA", msg_id: int = 24_000_000_000_000_001,
            **fields) -> inbound.Inbound:
    """A message from a follower, in WeChat's layout (MsgId last)."""
    xml = ("<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName>"
           f"<FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{T}</CreateTime>"
           f"<MsgType><![CDATA[{msg_type}]]></MsgType>"
           + "".join(f"<{k}><![CDATA[{v}]]></{k}>" for k, v in fields.items())
           + f"<MsgId>{msg_id}</MsgId></xml>")
    return decode_xml(xml)


def decode_xml(xml: str) -> inbound.Inbound:
    params, body = SIM.prepare(xml)
    return inbound.decode(CFG, params, body)


def evt_key(kind: str, openid: str = "oA") -> str:
    return f"evt:{openid}:{T}:{kind}"


# -- each kind ---------------------------------------------------------------------------
def test_plain_subscribe():
    assert event("subscribe", EventKey="").event == Subscribed(
        openid="oA", at=AT, dedup_key=evt_key("subscribe"), kind="subscribe",
        scene=None, ticket=None)


def test_subscribe_by_qr_code_carries_the_scene_without_its_prefix():
    assert event("subscribe", EventKey="qrscene_store_01", Ticket="gQticket").event == Subscribed(
        openid="oA", at=AT, dedup_key=evt_key("subscribe_scan"), kind="subscribe_scan",
        scene="store_01", ticket="gQticket")


def test_scan_by_a_follower_carries_the_raw_scene():
    assert event("SCAN", EventKey="store_01", Ticket="gQticket").event == Scanned(
        openid="oA", at=AT, dedup_key=evt_key("scan"), kind="scan",
        scene="store_01", ticket="gQticket")


def test_unsubscribe():
    assert event("unsubscribe", EventKey="").event == Unsubscribed(
        openid="oA", at=AT, dedup_key=evt_key("unsubscribe"), kind="unsubscribe")


def test_menu_click_and_view():
    assert event("CLICK", EventKey="POINTS").event == MenuClicked(
        openid="oA", at=AT, dedup_key=evt_key("click"), kind="click", key="POINTS")
    assert event("VIEW", EventKey="https://example.com/").event == LinkViewed(
        openid="oA", at=AT, dedup_key=evt_key("view"), kind="view", url="https://example.com/")


def test_template_send_job_finish_reads_msgid_with_the_capital_id():
    assert event("TEMPLATESENDJOBFINISH", MsgID=2_000_123, Status="failed:user block").event \
        == TemplateSendFinished(openid="oA", at=AT, dedup_key=evt_key("templatesendjobfinish"),
                                kind="templatesendjobfinish", msgid=2_000_123,
                                status="failed:user block")


def test_text_message_is_deduplicated_by_its_msgid():
    assert message("text", Content="你好").event == MessageReceived(
        openid="oA", at=AT, dedup_key="msg:24000000000000001", kind="text",
        msgid=24_000_000_000_000_001, content="你好", media_id="")


@pytest.mark.parametrize("kind, fields", [
    ("image", {"PicUrl": "http://mmbiz/p.jpg", "MediaId": "m-image"}),
    ("voice", {"MediaId": "m-voice", "Format": "amr"}),
    ("video", {"MediaId": "m-video", "ThumbMediaId": "m-thumb"}),
    ("location", {"Location_X": "31.23", "Location_Y": "121.47", "Scale": "15",
                  "Label": "上海"}),
])
def test_media_and_location_messages_are_one_type_with_their_kind(kind, fields):
    got = message(kind, msg_id=7, **fields).event
    assert got == MessageReceived(openid="oA", at=AT, dedup_key="msg:7", kind=kind, msgid=7,
                                  content="", media_id=fields.get("MediaId", ""))


def test_mass_send_job_finish_carries_its_counts():
    got = event("MASSSENDJOBFINISH", MsgID=5, Status="send success", TotalCount=10,
                FilterCount=2, SentCount=8, ErrorCount=0).event
    assert got == MassSendFinished(openid="oA", at=AT,
                                   dedup_key=evt_key("masssendjobfinish") + ":5",
                                   kind="masssendjobfinish", msgid=5, status="send success",
                                   total=10, filtered=2, sent=8, errors=0)


def test_a_scan_code_menu_button_is_a_menu_click():
    got = event("scancode_waitmsg", EventKey="SCAN1").event
    assert got == MenuClicked(openid="oA", at=AT, dedup_key=evt_key("scancode_waitmsg"),
                              kind="scancode_waitmsg", key="SCAN1")


def test_a_link_message_carries_its_url():
    got = message("link", msg_id=8, Title="t", Description="d", Url="https://x.cn/a").event
    assert got == MessageReceived(openid="oA", at=AT, dedup_key="msg:8", kind="link", msgid=8,
                                  content="https://x.cn/a", media_id="")


def test_the_accounts_subscribe_notice_popup_lists_each_template_and_answer():
    """subscribe_msg_popup_event as WeChat documents it (wechatpy has no class for it)."""
    xml = EVENT.format(who=OA, t=T, rest=(
        "<Event><![CDATA[subscribe_msg_popup_event]]></Event><SubscribeMsgPopupEvent>"
        "<List><TemplateId><![CDATA[VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[accept]]></SubscribeStatusString>"
        "<PopupScene>2</PopupScene></List>"
        "<List><TemplateId><![CDATA[9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI]]></TemplateId>"
        "<SubscribeStatusString><![CDATA[reject]]></SubscribeStatusString>"
        "<PopupScene>2</PopupScene></List></SubscribeMsgPopupEvent>"))
    assert decode_xml(xml).event == SubscribeNoticeChanged(
        openid="oA", at=AT, dedup_key=evt_key("subscribe_msg_popup_event"),
        kind="subscribe_msg_popup_event", choices=(
            SubscribeChoice("VRR0UEO9VJOLs0MHlU0OilqX6MVFDwH3_3gz3Oc0NIc", "accept", 2),
            SubscribeChoice("9nLIlbOQZC5Y89AZteFEux3WCXRRRG5Wfzkpssu4bLI", "reject", 2)))
    params, body = SIM.prepare(SIM._event_xml("oA", "subscribe_msg_change_event", T)[:-6]
                               + "<SubscribeMsgChangeEvent><List><TemplateId>TPL</TemplateId>"
                               "<SubscribeStatusString>reject</SubscribeStatusString></List>"
                               "</SubscribeMsgChangeEvent></xml>")
    changed = inbound.decode(CFG, params, body).event
    assert (changed.kind, changed.choices) == ("subscribe_msg_change_event",
                                               (SubscribeChoice("TPL", "reject", None),))


def test_events_are_frozen():
    got = event("CLICK", EventKey="CARD").event
    with pytest.raises(dataclasses.FrozenInstanceError):
        got.key = "POINTS"


# -- what we do not act on ---------------------------------------------------------------
def test_other_events_and_messages_are_unhandled_with_a_bounded_kind():
    photo = event("pic_sysphoto", EventKey="PHOTO").event
    assert photo == Unhandled(openid="oA", at=AT, dedup_key=evt_key("pic_sysphoto"),
                              kind="pic_sysphoto")
    assert event("LOCATION", Latitude="31.2", Longitude="121.4").event.kind == "location"
    assert isinstance(event("LOCATION").event, Unhandled)  # the event, not a message
    # Names wechatpy does not know are never echoed (the kind labels a metric).
    assert event("NO_SUCH_EVENT_" + "x" * 50).event.kind == "unknown"
    made_up = message("hologram", msg_id=9).event
    assert (type(made_up), made_up.kind, made_up.dedup_key) == (Unhandled, "unknown", "msg:9")


# -- malformed ---------------------------------------------------------------------------
EVENT = ("<xml><ToUserName><![CDATA[gh_x]]></ToUserName>{who}<CreateTime>{t}</CreateTime>"
         "<MsgType><![CDATA[event]]></MsgType>{rest}</xml>")
OA = "<FromUserName><![CDATA[oA]]></FromUserName>"


@pytest.mark.parametrize("xml", [
    "hello",
    "<xml><FromUserName>oA</FromUserName><MsgType>event",
    "<foo><MsgType>event</MsgType></foo>",
    f"<xml>{OA}<CreateTime>{T}</CreateTime></xml>",  # no MsgType
    EVENT.format(who="", t=T, rest="<Event>subscribe</Event>"),  # no FromUserName
    EVENT.format(who="<FromUserName></FromUserName>", t=T, rest="<Event>subscribe</Event>"),
    EVENT.format(who=f"<FromUserName>{'o' * 65}</FromUserName>", t=T,
                 rest="<Event>subscribe</Event>"),
    EVENT.format(who="<FromUserName><a>oA</a></FromUserName>", t=T,
                 rest="<Event>subscribe</Event>"),  # nested: not text
    EVENT.format(who=OA + OA, t=T, rest="<Event>subscribe</Event>"),  # repeated
    EVENT.format(who=OA, t="yesterday", rest="<Event>subscribe</Event>"),
    EVENT.format(who=OA, t=10**20, rest="<Event>subscribe</Event>"),  # past year 9999
    f"<xml>{OA}<MsgType>event</MsgType><Event>subscribe</Event></xml>",  # no CreateTime
    EVENT.format(who=OA, t=T, rest="<Event>SCAN</Event><EventKey><s>1</s></EventKey>"),
    EVENT.format(who=OA, t=T, rest="<Event>TEMPLATESENDJOBFINISH</Event><Status>success</Status>"),
    EVENT.format(who=OA, t=T, rest="<Event>TEMPLATESENDJOBFINISH</Event><MsgID>x1</MsgID>"),
    f"<xml>{OA}<CreateTime>{T}</CreateTime><MsgType>text</MsgType><MsgId>abc</MsgId></xml>",
    EVENT.format(who=OA, t=T, rest="<Event>subscribe_msg_popup_event</Event>"),  # no List
    EVENT.format(who=OA, t=T, rest="<Event>subscribe_msg_popup_event</Event><SubscribeMsgPopupEvent>"
                 "<List><TemplateId>T1</TemplateId><SubscribeStatusString>maybe"
                 "</SubscribeStatusString></List></SubscribeMsgPopupEvent>"),
    EVENT.format(who=OA, t=T, rest="<Event>subscribe_msg_change_event</Event><SubscribeMsgChangeEvent>"
                 "<List><SubscribeStatusString>reject</SubscribeStatusString></List>"
                 "</SubscribeMsgChangeEvent>"),  # no TemplateId
], ids=lambda xml: xml[:90])
def test_malformed_input_is_a_bad_message(xml):
    with pytest.raises(inbound.BadMessage):
        decode_xml(xml)


def test_a_bad_signature_is_refused_before_parsing():
    params, body = SIM.prepare("<xml>not even read</xml>", signature="0" * 40)
    with pytest.raises(inbound.BadSignature):
        inbound.decode(CFG, params, body)


# -- replies -----------------------------------------------------------------------------
def test_reply_goes_back_to_the_follower_from_our_account():
    got = event("CLICK", openid="oReply", EventKey="POINTS")
    assert inbound.encode_reply(got, None) == "success"
    reply = xmltodict.parse(inbound.encode_reply(got, "积分 10"))["xml"]
    assert (reply["ToUserName"], reply["FromUserName"], reply["MsgType"], reply["Content"]) \
        == ("oReply", "gh_sandbox", "text", "积分 10")


def test_safe_mode_decodes_the_same_event_and_encrypts_the_reply():
    cfg = Config(appid=CFG.appid, token=CFG.token, encoding_aes_key=random_aes_key())
    sim = Simulator("http://unused/wechat", token=cfg.token, appid=cfg.appid,
                    encoding_aes_key=cfg.encoding_aes_key)
    params, body = sim.prepare_event("subscribe", "oSafe", create_time=T,
                                     EventKey="qrscene_store_01", Ticket="gQ")
    got = inbound.decode(cfg, params, body)
    assert got.event == Subscribed(openid="oSafe", at=AT, dedup_key=evt_key("subscribe_scan", "oSafe"),
                                   kind="subscribe_scan", scene="store_01", ticket="gQ")
    wire = inbound.encode_reply(got, "欢迎")
    assert "<Encrypt>" in wire and "欢迎" not in wire
    fields = xmltodict.parse(wire)["xml"]
    crypto = WeChatCrypto(cfg.token, cfg.encoding_aes_key, cfg.appid)
    plain = crypto.decrypt_message(fields, fields["MsgSignature"], fields["TimeStamp"],
                                   fields["Nonce"])
    assert xmltodict.parse(plain)["xml"]["ToUserName"] == "oSafe"


# -- the boundary ------------------------------------------------------------------------
WECHATPY_MESSAGES = {"wechatpy.messages", "wechatpy.events", "wechatpy.parser",
                     "wechatpy.replies", "wechatpy.fields"}


def _python_files():
    for top in ("wx_member", "handlers"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if ROOT / "wx_member" / "wechat" not in path.parents:
                yield path


def test_only_wx_member_wechat_touches_wechatpy_messages():
    """Handlers and services get the dataclasses; wechatpy's message classes, parser and
    replies (and their raw `_data`) stay inside wx_member/wechat/."""
    offenders = []
    for path in _python_files():
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = {a.name for a in node.names}
                if node.module in WECHATPY_MESSAGES or (
                        node.module == "wechatpy"
                        and names & {"parse_message", "create_reply", "messages", "events",
                                     "parser", "replies"}):
                    offenders.append(f"{path.relative_to(ROOT)}: from {node.module}")
            elif isinstance(node, ast.Import):
                offenders += [f"{path.relative_to(ROOT)}: import {a.name}" for a in node.names
                              if a.name in WECHATPY_MESSAGES]
            elif isinstance(node, ast.Attribute) and node.attr == "_data":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: ._data")
    assert offenders == []
