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
    SubscribeChoice,
    Subscribed,
    SubscribeNoticeChanged,
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


# The Official Account's subscribe-notice events: wechatpy does not know them (it makes an
# UnknownMessage), so they are recognised here by MsgType and Event, each with its list.
NOTICE_EVENTS = {"subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
                 "subscribe_msg_change_event": "SubscribeMsgChangeEvent"}
NOTICE_STATUSES = ("accept", "reject")
MAX_CHOICES = 20  # WeChat lists a handful of templates; more is not WeChat


def _choices(msg, container: str) -> tuple[SubscribeChoice, ...]:
    """The <List> items of a subscribe-notice event (one item: a dict, several: a list)."""
    outer = msg._data.get(container)
    items = outer.get("List") if isinstance(outer, dict) else None
    items = [items] if isinstance(items, dict) else items
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_CHOICES:
        raise BadMessage(f"{container} without its List")
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise BadMessage(f"{container}: a List item is not an element")
        template_id, status = item.get("TemplateId"), item.get("SubscribeStatusString")
        scene = item.get("PopupScene")
        if (not isinstance(template_id, str) or not 1 <= len(template_id) <= 64
                or status not in NOTICE_STATUSES
                or not (scene is None or (isinstance(scene, str) and scene.isdigit()))):
            raise BadMessage(f"{container}: bad List item")
        out.append(SubscribeChoice(template_id, status, int(scene) if scene else None))
    return tuple(out)


def _notice_builder(container: str) -> Callable[..., Event]:
    def build(msg, **common) -> Event:
        return SubscribeNoticeChanged(**common, choices=_choices(msg, container))
    return build


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
    **{kind: _notice_builder(container) for kind, container in NOTICE_EVENTS.items()},
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
    if kind == "unknown" and _text(msg, "MsgType") == "event":
        named = (_text(msg, "Event") or "").lower()
        if named in NOTICE_EVENTS:  # an event wechatpy has no class for
            is_event, kind = True, named
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
