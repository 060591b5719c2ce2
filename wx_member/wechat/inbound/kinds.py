"""A wechatpy message → the app's typed event (`events`): the only code that reads
wechatpy's message objects.

wechatpy converts its fields lazily and returns whatever xmltodict made of an element (a
dict for nested XML, a list for a repeated one), so every field is read here, once, and
checked: anything malformed raises `BadMessage` before a handler or a transaction starts.
"""
from __future__ import annotations

from collections.abc import Callable

from wx_member.clock import from_timestamp
from wx_member.wechat.inbound.events import (
    MESSAGE_KINDS,
    Event,
    LinkViewed,
    MassSendFinished,
    MenuClicked,
    MessageReceived,
    Scanned,
    Subscribed,
    TemplateSendFinished,
    Unhandled,
    Unsubscribed,
)

MAX_OPENID = 64


class BadMessage(Exception):
    """The body is not a well-formed WeChat message."""


def _text(msg, field: str) -> str | None:
    """A string field (None when absent or empty); nested or repeated XML is malformed."""
    value = msg._data.get(field)
    if value is None or isinstance(value, str):
        return value or None
    raise BadMessage(f"{field} is not text")


def _int(msg, field: str) -> int:
    """An integer field, 0 when absent."""
    value = _text(msg, field)
    try:
        return int(value) if value is not None else 0
    except ValueError:
        raise BadMessage(f"{field} is not a number") from None


def _required_int(msg, field: str) -> int:
    if _text(msg, field) is None:
        raise BadMessage(f"{field} missing")
    return _int(msg, field)


# kind → builder of the kind's own fields (the common ones are added by `to_event`).
_BUILDERS: dict[str, Callable[..., Event]] = {
    # wechatpy has already stripped `qrscene_` from a subscribe_scan's EventKey
    "subscribe": lambda msg, **c: Subscribed(**c, scene=None, ticket=None),
    "subscribe_scan": lambda msg, **c: Subscribed(**c, scene=_text(msg, "EventKey"),
                                                  ticket=_text(msg, "Ticket")),
    "scan": lambda msg, **c: Scanned(**c, scene=_text(msg, "EventKey"),
                                     ticket=_text(msg, "Ticket")),
    "unsubscribe": lambda msg, **c: Unsubscribed(**c),
    "click": lambda msg, **c: MenuClicked(**c, key=_text(msg, "EventKey") or ""),
    "view": lambda msg, **c: LinkViewed(**c, url=_text(msg, "EventKey") or ""),
    # Scan-code menu buttons: clicks WeChat counts for the customer-service window.
    "scancode_push": lambda msg, **c: MenuClicked(**c, key=_text(msg, "EventKey") or ""),
    "scancode_waitmsg": lambda msg, **c: MenuClicked(**c, key=_text(msg, "EventKey") or ""),
    # MsgID with a capital ID here, unlike a message's MsgId
    "templatesendjobfinish": lambda msg, **c: TemplateSendFinished(
        **c, msgid=_required_int(msg, "MsgID"), status=_text(msg, "Status") or ""),
    "masssendjobfinish": lambda msg, **c: MassSendFinished(
        **c, msgid=_required_int(msg, "MsgID"), status=_text(msg, "Status") or "",
        total=_int(msg, "TotalCount"), filtered=_int(msg, "FilterCount"),
        sent=_int(msg, "SentCount"), errors=_int(msg, "ErrorCount")),
}


def _message(msg, **common) -> MessageReceived:
    content = {"text": "Content", "link": "Url"}.get(common["kind"])
    return MessageReceived(**common, msgid=_int(msg, "MsgId"),
                           content=(_text(msg, content) or "") if content else "",
                           media_id=_text(msg, "MediaId") or "")


def to_event(msg) -> Event:
    """The typed event of a parsed wechatpy message. Raises BadMessage."""
    openid = _text(msg, "FromUserName")
    if not openid or len(openid) > MAX_OPENID:
        raise BadMessage("message without FromUserName")
    created = _required_int(msg, "CreateTime")
    try:
        at = from_timestamp(created)
    except (ValueError, OverflowError, OSError):
        raise BadMessage(f"CreateTime out of range: {created}") from None
    is_event = msg.type == "event"
    kind = msg.event if is_event else msg.type  # wechatpy's names; "unknown" if it has none
    msgid = _int(msg, "MsgId")
    # WeChat's own advice: MsgId for messages, FromUserName + CreateTime for events.
    dedup_key = f"msg:{msgid}" if not is_event and msgid else f"evt:{openid}:{created}:{kind}"
    if kind == "masssendjobfinish":  # several jobs may finish in one second: by MsgID too
        dedup_key += f":{_int(msg, 'MsgID')}"
    common = {"openid": openid, "at": at, "dedup_key": dedup_key, "kind": kind}
    if not is_event and kind in MESSAGE_KINDS:
        return _message(msg, **common)
    build = _BUILDERS.get(kind) if is_event else None
    return build(msg, **common) if build else Unhandled(**common)
