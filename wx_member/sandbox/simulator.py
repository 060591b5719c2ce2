"""`Simulator`: posts events to the app's webhook as WeChat's servers do: the same XML,
query signature, safe-mode (AES) envelope and retry behaviour, so the webhook is tested
exactly as WeChat will call it."""
from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from xml.parsers.expat import ExpatError

import requests
import xmltodict
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import WeChatSigner, to_text


class ReplyError(Exception):
    """The webhook's reply is not what WeChat would accept (bad XML, signature or crypto)."""


@dataclass(frozen=True)
class SimResult:
    status: int
    body: str  # the raw response text
    reply: dict[str, Any] | None  # the reply's XML fields (decrypted); None for "success"/empty
    create_time: int | None
    xml: str  # the plaintext message XML that was sent
    openid: str | None = None


def _sign(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _cdata(value: str) -> str:
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _to_xml(fields: list[tuple[str, str | int]]) -> str:
    """WeChat's flat message XML: integers bare, strings in CDATA."""
    inner = "".join(f"<{name}>{value if isinstance(value, int) else _cdata(value)}</{name}>"
                    for name, value in fields)
    return f"<xml>{inner}</xml>"


class Simulator:
    def __init__(self, webhook_url: str, token: str, appid: str = "wxsandbox",
                 encoding_aes_key: str | None = None, account: str = "gh_sandbox",
                 session: requests.Session | None = None, timeout: float = 10.0,
                 sandbox: Any = None):
        """`encoding_aes_key` (43 characters) switches to safe mode; None or "" is plain.
        `sandbox` (a Sandbox or SandboxClient): each message and its reply is noted there,
        for the sandbox's conversation page."""
        self.sandbox = sandbox
        self.webhook_url = webhook_url
        self.token = token
        self.appid = appid
        self.account = account
        self.http = session or requests.Session()
        self.timeout = timeout
        self.crypto = WeChatCrypto(token, encoding_aes_key, appid) if encoding_aes_key else None
        self._lock = threading.Lock()
        self._last_time: dict[str, int] = {}
        self._msg_ids = itertools.count(time.time_ns() // 1000)  # unique across runs too

    @property
    def safe_mode(self) -> bool:
        return self.crypto is not None

    # -- events ---------------------------------------------------------------------------
    def subscribe(self, openid: str, scene: str | None = None, ticket: str | None = None,
                  create_time: int | None = None) -> SimResult:
        """With a scene: a follow by scanning a QR code (EventKey qrscene_<scene>, Ticket)."""
        if scene is None:
            return self._event(openid, "subscribe", create_time, EventKey="")
        return self._event(openid, "subscribe", create_time, EventKey=f"qrscene_{scene}",
                           Ticket=ticket or self._ticket())

    def scan(self, openid: str, scene: str, ticket: str | None = None,
             create_time: int | None = None) -> SimResult:
        """A follower scans a QR code: EventKey is the raw scene."""
        return self._event(openid, "SCAN", create_time, EventKey=scene,
                           Ticket=ticket or self._ticket())

    def unsubscribe(self, openid: str, create_time: int | None = None) -> SimResult:
        return self._event(openid, "unsubscribe", create_time, EventKey="")

    def click(self, openid: str, key: str, create_time: int | None = None) -> SimResult:
        return self._event(openid, "CLICK", create_time, EventKey=key)

    def view(self, openid: str, url: str, create_time: int | None = None) -> SimResult:
        return self._event(openid, "VIEW", create_time, EventKey=url)

    def template_finished(self, openid: str, msgid: int, status: str = "success",
                          create_time: int | None = None) -> SimResult:
        """WeChat's delivery report for a template message (note the capital ID)."""
        return self._event(openid, "TEMPLATESENDJOBFINISH", create_time, MsgID=int(msgid),
                           Status=status)

    def mass_finished(self, openid: str, msgid: int, status: str = "send success",
                      total: int = 0, filtered: int = 0, sent: int = 0, errors: int = 0,
                      create_time: int | None = None) -> SimResult:
        """WeChat's report on a mass send (MASSSENDJOBFINISH, MsgID with a capital ID)."""
        return self._event(openid, "MASSSENDJOBFINISH", create_time, MsgID=int(msgid),
                           Status=status, TotalCount=int(total), FilterCount=int(filtered),
                           SentCount=int(sent), ErrorCount=int(errors))

    def subscribe_notice(self, openid: str, answers: dict[str, str], scene: int = 0,
                         changed: bool = False, create_time: int | None = None) -> SimResult:
        """The follower answers the account's subscribe-notice pop-up ({template id: accept |
        reject}; PopupScene 0 profile page, 1 a message, 2 a web page), or with `changed`
        turns notices on or off in the settings: WeChat's subscribe_msg_popup_event
        (subscribe_msg_change_event) with a <List> per template. An accepted pop-up is
        also a grant at the sandbox, as WeChat keeps it for bizsend."""
        event, container = (("subscribe_msg_change_event", "SubscribeMsgChangeEvent")
                            if changed else ("subscribe_msg_popup_event", "SubscribeMsgPopupEvent"))
        items = "".join(
            "<List>" + f"<TemplateId>{_cdata(t)}</TemplateId>"
            f"<SubscribeStatusString>{_cdata(a)}</SubscribeStatusString>"
            + ("" if changed else f"<PopupScene>{int(scene)}</PopupScene>") + "</List>"
            for t, a in answers.items())
        at = self._create_time(openid, create_time)
        xml = self._event_xml(openid, event, at)[:-len("</xml>")] + (
            f"<{container}>{items}</{container}></xml>")
        result = self.post_xml(xml, create_time=at, openid=openid)
        if self.sandbox is not None and not changed and result.status == 200:
            for template_id, answer in answers.items():
                if answer == "accept":
                    self.sandbox.grant_subscribe(openid, template_id)
        return result

    def text(self, openid: str, content: str, msg_id: int | None = None,
             create_time: int | None = None) -> SimResult:
        """A text message; messages are deduplicated by MsgId, unique unless given."""
        return self.message(openid, "text", msg_id, create_time, Content=content)

    def message(self, openid: str, msg_type: str, msg_id: int | None = None,
                create_time: int | None = None, **fields: str | int) -> SimResult:
        """Any message a follower sends, in WeChat's layout (MsgId last), e.g.
        message("o1", "location", Location_X="31.23", Location_Y="121.47", Scale=15,
        Label="上海"), message("o1", "link", Title=…, Description=…, Url=…)."""
        at = self._create_time(openid, create_time)
        xml = _to_xml([("ToUserName", self.account), ("FromUserName", openid), ("CreateTime", at),
                       ("MsgType", msg_type), *fields.items(),
                       ("MsgId", msg_id if msg_id is not None else next(self._msg_ids))])
        return self.post_xml(xml, create_time=at, openid=openid)

    def image(self, openid: str, media_id: str = "m-image", **kw) -> SimResult:
        return self.message(openid, "image", PicUrl="http://mmbiz.qpic.cn/sandbox.jpg",
                            MediaId=media_id, **kw)

    def voice(self, openid: str, media_id: str = "m-voice", **kw) -> SimResult:
        return self.message(openid, "voice", MediaId=media_id, Format="amr", **kw)

    def video(self, openid: str, media_id: str = "m-video", **kw) -> SimResult:
        return self.message(openid, "video", MediaId=media_id, ThumbMediaId="m-thumb", **kw)

    def location(self, openid: str, x: str = "31.23", y: str = "121.47",
                 label: str = "上海", **kw) -> SimResult:
        return self.message(openid, "location", Location_X=x, Location_Y=y, Scale=15,
                            Label=label, **kw)

    def link(self, openid: str, url: str, title: str = "链接", **kw) -> SimResult:
        return self.message(openid, "link", Title=title, Description=title, Url=url, **kw)

    def replay(self, result: SimResult) -> SimResult:
        """WeChat's retry: the same message and CreateTime, a fresh timestamp and nonce."""
        return self.post_xml(result.xml, create_time=result.create_time, openid=result.openid)

    # -- raw access -----------------------------------------------------------------------
    def post_xml(self, xml: str, create_time: int | None = None, sign: bool = True,
                 signature: str | None = None, encrypt: bool | None = None,
                 openid: str | None = None) -> SimResult:
        """Post any XML, for hostile tests: `sign=False` sends no query at all, `signature`
        overrides the query signature, `encrypt` overrides the simulator's mode."""
        params, body = self.prepare(xml, sign=sign, signature=signature, encrypt=encrypt,
                                    openid=openid)
        res = self.http.post(self.webhook_url, params=params, data=body,
                             headers={"Content-Type": "text/xml"}, timeout=self.timeout)
        text = res.content.decode("utf-8", "replace")
        reply = self._decode_reply(text) if res.status_code == 200 else None
        if self.sandbox is not None and openid:
            self._note(openid, xml, reply)
        return SimResult(res.status_code, text, reply, create_time, xml, openid)

    def _note(self, openid: str, xml: str, reply: dict[str, Any] | None) -> None:
        fields = dict(xmltodict.parse(xml)["xml"])
        kind = fields.get("MsgType", "")
        if kind == "event":
            kind = str(fields.get("Event", "")).lower()
            if kind.endswith("jobfinish"):
                return  # WeChat's reports: nothing the follower sees
            said = {"subscribe": "[关注公众号]", "unsubscribe": "[取消关注]", "scan": "[扫码]",
                    "click": f"[点击菜单 {fields.get('EventKey', '')}]",
                    "view": f"[打开链接 {fields.get('EventKey', '')}]"}.get(kind, f"[{kind}]")
        else:
            said = fields.get("Content") or fields.get("Url") or f"[{kind}]"
        self.sandbox.note(openid, "user", kind, str(said))
        if reply and reply.get("Content"):
            self.sandbox.note(openid, "account", "reply", str(reply["Content"]))

    def prepare(self, xml: str, sign: bool = True, signature: str | None = None,
                encrypt: bool | None = None, openid: str | None = None) -> tuple[dict, bytes]:
        """The query and body WeChat would send for `xml`, without sending (benchmarks build
        their requests before the clock starts)."""
        encrypt = self.safe_mode if encrypt is None else encrypt
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
        body, params = xml, {}
        if encrypt:
            if self.crypto is None:
                raise ValueError("encrypt=True needs an encoding_aes_key")
            encrypted = to_text(PrpCrypto(self.crypto.key).encrypt(xml, self.appid))
            body = _to_xml([("ToUserName", self.account), ("Encrypt", encrypted)])
        if sign:
            params = {"signature": signature or _sign(self.token, timestamp, nonce),
                      "timestamp": timestamp, "nonce": nonce}
            if openid:
                params["openid"] = openid
            if encrypt:
                params.update(encrypt_type="aes",
                              msg_signature=_sign(self.token, timestamp, nonce, encrypted))
        return params, body.encode("utf-8")

    def prepare_event(self, event: str, openid: str, create_time: int | None = None,
                      **fields: str | int) -> tuple[dict, bytes]:
        """A signed event request, e.g. prepare_event("subscribe", "o1", EventKey="qrscene_s")."""
        return self.prepare(self._event_xml(openid, event, self._create_time(openid, create_time),
                                            **fields), openid=openid)

    def handshake(self, echostr: str = "sandbox-echo",
                  signature: str | None = None) -> requests.Response:
        """The GET WeChat sends when the webhook URL is configured: echostr must come back."""
        timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
        params = {"signature": signature or _sign(self.token, timestamp, nonce),
                  "timestamp": timestamp, "nonce": nonce, "echostr": echostr}
        return self.http.get(self.webhook_url, params=params, timeout=self.timeout)

    # -- helpers --------------------------------------------------------------------------
    def _create_time(self, openid: str, create_time: int | None) -> int:
        """Now, but never the same second twice for one user: events are deduplicated by
        FromUserName + CreateTime, so two quick clicks must not look like a retry."""
        if create_time is not None:
            return int(create_time)
        with self._lock:
            at = max(int(time.time()), self._last_time.get(openid, 0) + 1)
            self._last_time[openid] = at
        return at

    def _event_xml(self, openid: str, event: str, at: int, **fields: str | int) -> str:
        return _to_xml([("ToUserName", self.account), ("FromUserName", openid), ("CreateTime", at),
                        ("MsgType", "event"), ("Event", event), *fields.items()])

    def _event(self, openid: str, event: str, create_time: int | None,
               **fields: str | int) -> SimResult:
        at = self._create_time(openid, create_time)
        return self.post_xml(self._event_xml(openid, event, at, **fields), create_time=at,
                             openid=openid)

    @staticmethod
    def _ticket() -> str:
        return "gQ" + secrets.token_urlsafe(30)

    def _decode_reply(self, text: str) -> dict[str, Any] | None:
        if not text.lstrip().startswith("<"):
            return None  # "success" or empty: no reply
        try:
            fields = dict(xmltodict.parse(text)["xml"])
            if self.crypto is None:
                return fields
            if "Encrypt" not in fields:
                raise ReplyError("safe mode: the reply is not encrypted")
            plain = self.crypto.decrypt_message(fields, fields.get("MsgSignature"),
                                                fields.get("TimeStamp"), fields.get("Nonce"))
            return dict(xmltodict.parse(plain)["xml"])
        except (InvalidSignatureException, InvalidAppIdException) as exc:
            raise ReplyError(f"reply fails verification: {type(exc).__name__}") from exc
        except (ExpatError, ValueError, KeyError, TypeError) as exc:
            raise ReplyError(f"unreadable reply: {text[:200]!r}") from exc
