"""Inbound webhook codec: signature checks, safe-mode decryption, safe XML parsing, replies.

wechatpy parses with xmltodict/expat and does not catch parse errors, so every body is
parsed by defusedxml (no DTDs, no entities, no external references): anything hostile or
malformed becomes `BadMessage`, and wechatpy's message is made from that tree (safe_xml.py).
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from xml.parsers.expat import ExpatError

from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from wx_member.config import Config
from wx_member.wechat.inbound import safe_xml
from wx_member.wechat.inbound.events import Event
from wx_member.wechat.inbound.kinds import BadMessage, to_event


class BadSignature(Exception):
    """The request does not come from WeChat (or from someone who knows our token)."""


@dataclass(frozen=True)
class Inbound:
    """A verified message: its typed `event`, and what a passive reply to it needs."""
    event: Event
    account: str | None  # ToUserName: our account, the reply's sender
    crypto: WeChatCrypto | None
    nonce: str
    timestamp: str


def _check_plain(cfg: Config, args: Mapping[str, str]) -> None:
    try:
        check_signature(cfg.token, args.get("signature", ""), args.get("timestamp", ""),
                        args.get("nonce", ""))
    except InvalidSignatureException:
        raise BadSignature("bad or missing signature") from None


def verify_handshake(cfg: Config, args: Mapping[str, str]) -> str:
    """GET /wechat: WeChat checks that we know the token; answer echostr unchanged."""
    _check_plain(cfg, args)
    return args.get("echostr", "")


def _safe_parse(body: bytes | str):
    try:
        return safe_xml.parse(body)
    except safe_xml.UnsafeXML as exc:
        raise BadMessage(str(exc)) from None


def decode(cfg: Config, args: Mapping[str, str], body: bytes) -> Inbound:
    """Verify and parse a POSTed message. Raises BadSignature or BadMessage."""
    _check_plain(cfg, args)  # WeChat signs the query in both modes
    nonce, timestamp = args.get("nonce", ""), args.get("timestamp", "")
    crypto = None
    if cfg.safe_mode:
        if args.get("encrypt_type") != "aes":
            raise BadSignature("safe mode is on: unencrypted message refused")
        _safe_parse(body)
        crypto = WeChatCrypto(cfg.token, cfg.encoding_aes_key, cfg.appid)
        try:
            body = crypto.decrypt_message(body, args.get("msg_signature", ""), timestamp, nonce)
        except (InvalidSignatureException, InvalidAppIdException):
            raise BadSignature("bad msg_signature or appid") from None
        except Exception as exc:  # bad base64/padding from a forger: not our bug
            raise BadMessage(f"cannot decrypt: {type(exc).__name__}") from None
    elif args.get("encrypt_type") == "aes":
        raise BadMessage("encrypted message but WX_ENCODING_AES_KEY is not configured")
    root = _safe_parse(body)
    try:
        msg = safe_xml.message(root)
        account = msg.target
    except (ExpatError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise BadMessage(f"not a WeChat message: {type(exc).__name__}") from None
    # Every field is read and checked here: fail now, not mid-transaction.
    return Inbound(to_event(msg), account, crypto, nonce, timestamp)


# wechatpy's TextReply(...).render(), character for character, as one format string: its
# fields' descriptors and converters cost more than the rest of the reply.
_TEXT_REPLY = ("<xml>\n<MsgType><![CDATA[text]]></MsgType>\n"
               "<Content><![CDATA[{content}]]></Content>\n"
               "<FromUserName><![CDATA[{source}]]></FromUserName>\n"
               "<ToUserName><![CDATA[{target}]]></ToUserName>\n"
               "<CreateTime>{time}</CreateTime>\n</xml>")


def _cdata(text: str) -> str:
    """`text` inside a CDATA section: a "]]>" in it would end the section early."""
    return text.replace("]]>", "]]]]><![CDATA[>")


def encode_reply(inbound: Inbound, text: str | None) -> str:
    """A passive text reply, encrypted in safe mode; 'success' when there is nothing to say."""
    if not text:
        return "success"
    reply = _TEXT_REPLY.format(content=_cdata(text), source=inbound.account,
                               target=inbound.event.openid, time=int(time.time()))
    if inbound.crypto is not None:
        return inbound.crypto.encrypt_message(reply, inbound.nonce, inbound.timestamp)
    return reply
