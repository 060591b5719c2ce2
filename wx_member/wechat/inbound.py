"""Inbound webhook codec: signature checks, safe-mode decryption, safe XML parsing, replies.

wechatpy parses with xmltodict/expat and does not catch parse errors, so every body is
first parsed by defusedxml (no DTDs, no entities, no external references): anything
hostile or malformed becomes `BadMessage` before wechatpy sees it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from xml.parsers.expat import ExpatError

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from wechatpy import create_reply, parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from wx_member.config import Config


class BadSignature(Exception):
    """The request does not come from WeChat (or from someone who knows our token)."""


class BadMessage(Exception):
    """The body is not a well-formed WeChat message."""


@dataclass
class Inbound:
    msg: object  # a wechatpy message or event
    crypto: WeChatCrypto | None
    nonce: str
    timestamp: str

    @property
    def kind(self) -> str:
        """'subscribe', 'subscribe_scan', 'scan', 'click', ... for events; 'text', ... otherwise."""
        return self.msg.event if self.msg.type == "event" else self.msg.type

    @property
    def openid(self) -> str:
        return self.msg.source

    @property
    def dedup_key(self) -> str:
        # WeChat's own advice: MsgId for messages, FromUserName + CreateTime for events.
        if self.msg.type != "event" and self.msg.id:
            return f"msg:{self.msg.id}"
        return f"evt:{self.msg.source}:{self.msg.time}:{self.kind}"


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


def _safe_parse(body: bytes | str) -> None:
    try:
        root = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise BadMessage(f"malformed or unsafe XML: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise BadMessage("root element is not <xml>")


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
    _safe_parse(body)
    try:
        msg = parse_message(body)
        msg.time, msg.id  # typed fields convert lazily: fail here, not mid-transaction
    except (ExpatError, KeyError, ValueError, TypeError, AttributeError) as exc:
        raise BadMessage(f"not a WeChat message: {type(exc).__name__}") from None
    if not msg.source or len(msg.source) > 64:
        raise BadMessage("message without FromUserName")
    return Inbound(msg=msg, crypto=crypto, nonce=nonce, timestamp=timestamp)


def encode_reply(inbound: Inbound, text: str | None) -> str:
    """A passive text reply, encrypted in safe mode; 'success' when there is nothing to say."""
    if not text:
        return "success"
    xml = create_reply(text, inbound.msg).render()
    if inbound.crypto is not None:
        return inbound.crypto.encrypt_message(xml, inbound.nonce, inbound.timestamp)
    return xml
