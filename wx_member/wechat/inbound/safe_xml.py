"""A WeChat message's XML, parsed once and safely.

wechatpy's `parse_message` parses with xmltodict/expat (no protection against entities),
so the body used to be parsed twice: by defusedxml to refuse anything hostile, then by
wechatpy. Here defusedxml's tree is turned into the dict xmltodict would have made (text
stripped, an empty element None, a repeated element a list, attributes as "@name") and
wechatpy's message class is chosen from it as `parse_message` does: one parse a request.
"""
from __future__ import annotations

from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from wechatpy.events import EVENT_TYPES
from wechatpy.messages import MESSAGE_TYPES, UnknownMessage


class UnsafeXML(Exception):
    """Malformed or hostile XML (a DTD, entities, external references), or not <xml>."""


def parse(body: bytes | str) -> Element:
    try:
        root = SafeET.fromstring(body)
    except (SafeET.ParseError, DefusedXmlException, ValueError) as exc:
        raise UnsafeXML(f"malformed or unsafe XML: {type(exc).__name__}") from None
    if root.tag != "xml":
        raise UnsafeXML("root element is not <xml>")
    return root


def as_dict(elem: Element):
    """`elem` as xmltodict.parse shapes it (its defaults)."""
    text = None if len(elem) else (elem.text or "").strip()
    if not len(elem) and not elem.attrib:
        return text or None
    out: dict = {f"@{k}": v for k, v in elem.attrib.items()}
    for child in elem:
        value = as_dict(child)
        if child.tag in out:
            held = out[child.tag]
            out[child.tag] = held + [value] if isinstance(held, list) else [held, value]
        else:
            out[child.tag] = value
    if len(elem):
        # xmltodict keeps only the element's own text, between its children
        own = "".join(filter(None, [elem.text, *(c.tail for c in elem)])).strip()
        if own:
            out["#text"] = own
    elif text:
        out["#text"] = text
    return out


def message(root: Element):
    """wechatpy's message object for a parsed <xml> root: `parse_message`'s choice of
    class (and its renaming of a scan-to-subscribe's event and key), without its parse."""
    data = as_dict(root)  # (None for an empty <xml/>: a TypeError below, as in wechatpy)
    message_type = data["MsgType"].lower()  # KeyError, AttributeError: as wechatpy raises
    if message_type == "event" or message_type.startswith("device_"):
        event_type = data["Event"].lower() if "Event" in data else None
        if event_type is None and message_type.startswith("device_"):
            event_type = message_type
        elif message_type.startswith("device_"):
            event_type = f"device_{event_type}"
        key = data.get("EventKey")
        if event_type == "subscribe" and key:
            if key.startswith(("scanbarcode|", "scanimage|")):
                event_type = data["Event"] = "subscribe_scan_product"
            elif key.startswith("qrscene_"):
                event_type = data["Event"] = "subscribe_scan"
                data["EventKey"] = key[len("qrscene_"):]
        return EVENT_TYPES.get(event_type, UnknownMessage)(data)
    return MESSAGE_TYPES.get(message_type, UnknownMessage)(data)
