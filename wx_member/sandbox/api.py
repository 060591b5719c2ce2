"""The WeChat API endpoints the sandbox serves: same paths, parameters, JSON and errcodes as
https://api.weixin.qq.com/, validated as strictly as WeChat documents, so an app that works
against the sandbox sends requests WeChat accepts.

Each handler takes the state, the query and the decoded JSON body and returns the JSON
answer, or raises `ApiError` for an errcode answer.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from wx_member.sandbox.state import ApiError, SandboxState

MAX_TEMP_QR_SECONDS = 2_592_000
DEFAULT_TEMP_QR_SECONDS = 60
MAX_PERMANENT_SCENE_ID = 100_000
QR_ACTIONS = {"QR_SCENE": (False, "scene_id"), "QR_STR_SCENE": (False, "scene_str"),
              "QR_LIMIT_SCENE": (True, "scene_id"), "QR_LIMIT_STR_SCENE": (True, "scene_str")}
KEY_BUTTONS = {"click", "scancode_push", "scancode_waitmsg", "pic_sysphoto",
               "pic_photo_or_album", "pic_weixin", "location_select"}
# button type -> the fields it needs besides name
BUTTON_FIELDS = {**{t: ("key",) for t in KEY_BUTTONS}, "view": ("url",),
                 "miniprogram": ("url", "appid", "pagepath"), "media_id": ("media_id",),
                 "view_limited": ("media_id",), "article_id": ("article_id",),
                 "article_view_limited": ("article_id",)}
CUSTOM_SHAPES = {"text": "content", "image": "media_id", "news": "articles",
                 "miniprogrampage": "pagepath"}  # msgtype -> the field it must carry
OK: dict[str, Any] = {"errcode": 0, "errmsg": "ok"}

Handler = Callable[[SandboxState, Mapping[str, str], Any], dict[str, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    handler: Handler
    needs_token: bool = True
    mini: bool = False  # a mini-program API: its token must be the mini-program's


def _required(body: Any, *names: str) -> None:
    if not isinstance(body, dict):
        raise ApiError(47001, "data format error")
    for name in names:
        if not body.get(name):
            if name == "touser":
                raise ApiError(40003, "invalid openid")
            raise ApiError(47001, f"data format error: {name} missing")


def _utf8_len(value: Any) -> int:
    return len(str(value).encode("utf-8"))


# -- tokens and mini-program login --------------------------------------------------------
def token(state: SandboxState, args: Mapping[str, str], _body: Any) -> dict[str, Any]:
    if args.get("grant_type") != "client_credential":
        raise ApiError(40002, "invalid grant_type")
    if not args.get("appid"):
        raise ApiError(41002, "appid missing")
    if not args.get("secret"):
        raise ApiError(41004, "appsecret missing")
    return state.issue_token(args["appid"], args["secret"])


def jscode2session(state: SandboxState, args: Mapping[str, str], _body: Any) -> dict[str, Any]:
    if args.get("grant_type") != "authorization_code":
        raise ApiError(40002, "invalid grant_type")
    if args.get("appid") != state.mini_appid:
        raise ApiError(40013, "invalid appid")
    state.verify_credentials(args["appid"], args.get("secret", ""))
    found = state.take_login_code(args.get("js_code", ""))
    if found is None:
        raise ApiError(40029, "invalid code")
    openid, unionid = found
    answer = {"openid": openid, "session_key": secrets.token_urlsafe(16)}
    if unionid:
        answer["unionid"] = unionid
    return answer


def getuserphonenumber(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    _required(body, "code")
    info = state.take_phone_code(str(body["code"]))
    if info is None:
        raise ApiError(40029, "invalid code")
    return {**OK, "phone_info": {**info, "watermark": {"timestamp": int(time.time()),
                                                      "appid": state.mini_appid}}}


# -- QR codes -----------------------------------------------------------------------------
def qrcode_create(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    _required(body, "action_name", "action_info")
    if body["action_name"] not in QR_ACTIONS:
        raise ApiError(40053, f"invalid action info: action_name {body['action_name']!r}")
    permanent, field = QR_ACTIONS[body["action_name"]]
    info = body["action_info"]
    scene = info.get("scene") if isinstance(info, dict) else None
    value = scene.get(field) if isinstance(scene, dict) else None
    if field == "scene_str" and not (isinstance(value, str) and 1 <= len(value) <= 64):
        raise ApiError(40053, "invalid action info: scene_str must be 1-64 characters")
    if field == "scene_id":
        top = MAX_PERMANENT_SCENE_ID if permanent else 2**32 - 1
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= top:
            raise ApiError(40053, f"invalid action info: scene_id must be 1-{top}")
    expire = None
    if not permanent:
        expire = body.get("expire_seconds", DEFAULT_TEMP_QR_SECONDS)
        if (isinstance(expire, bool) or not isinstance(expire, int)
                or not 0 < expire <= MAX_TEMP_QR_SECONDS):
            raise ApiError(40053, f"invalid expire_seconds: 1-{MAX_TEMP_QR_SECONDS}")
    ticket = "gQ" + secrets.token_urlsafe(42)
    answer: dict[str, Any] = {"ticket": ticket,
                              "url": "http://weixin.qq.com/q/" + secrets.token_urlsafe(16)}
    if expire is not None:
        answer["expire_seconds"] = expire
    state.add_qrcode(ticket, {"scene": value, "permanent": permanent, "url": answer["url"],
                              "expires_at": None if expire is None else int(time.time()) + expire})
    state.record("qrcode", body)
    return answer


# -- menu ---------------------------------------------------------------------------------
def _check_button(button: Any, sub: bool) -> None:
    """Errcodes of WeChat's table: 4001x for top buttons, 4002x for sub buttons."""
    kind, name_size, key_size, url_size = (
        (40024, 40025, 40026, 40027) if sub else (40017, 40018, 40019, 40020))
    if not isinstance(button, dict):
        raise ApiError(kind, "invalid button type")
    name = button.get("name", "")
    if not name or _utf8_len(name) > (60 if sub else 16):
        raise ApiError(name_size, "invalid button name size")
    if not sub and "sub_button" in button and "type" not in button:
        subs = button["sub_button"]
        if not isinstance(subs, list) or not 1 <= len(subs) <= 5:
            raise ApiError(40023, "invalid sub button size")
        for child in subs:
            _check_button(child, sub=True)
        return
    if button.get("type") not in BUTTON_FIELDS:
        raise ApiError(kind, "invalid button type")
    for field in BUTTON_FIELDS[button["type"]]:
        if not button.get(field):
            raise ApiError(47001, f"data format error: {field} missing")
    if "key" in button and _utf8_len(button["key"]) > 128:
        raise ApiError(key_size, "invalid button key size")
    if "url" in button and _utf8_len(button["url"]) > 1024:
        raise ApiError(url_size, "invalid button url size")


def menu_create(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    _required(body)
    if not isinstance(body.get("button"), list) or not 1 <= len(body["button"]) <= 3:
        raise ApiError(40016, "invalid button size")
    for button in body["button"]:
        _check_button(button, sub=False)
    state.set_menu({"button": body["button"]})
    state.record("menu", body)
    return OK


def menu_get(state: SandboxState, _args: Mapping[str, str], _body: Any) -> dict[str, Any]:
    if state.menu is None:
        raise ApiError(46003, "menu no exist")
    return {"menu": state.menu}


def menu_delete(state: SandboxState, _args: Mapping[str, str], _body: Any) -> dict[str, Any]:
    state.set_menu(None)
    return OK


# -- messages -----------------------------------------------------------------------------
def _require_follower(state: SandboxState, openid: str) -> None:
    if not state.is_follower(openid):
        raise ApiError(43004, "require subscribe")


def _check_template(state: SandboxState, body: dict[str, Any]) -> None:
    template_id = body.get("template_id")
    if not template_id or (state.templates is not None and template_id not in state.templates):
        raise ApiError(40037, "invalid template_id")
    if not isinstance(body.get("data"), dict) or not body["data"]:
        raise ApiError(47003, "argument invalid! data is empty or not an object")


def template_send(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    _required(body, "touser")
    _check_template(state, body)
    _require_follower(state, body["touser"])
    msgid = state.next_msgid()
    state.record("template", body, msgid)
    return {**OK, "msgid": msgid}


def custom_send(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    _required(body, "touser", "msgtype")
    msgtype = body["msgtype"]
    if msgtype not in CUSTOM_SHAPES:
        raise ApiError(40008, "invalid message type")
    payload = body.get(msgtype)
    if not isinstance(payload, dict) or not payload.get(CUSTOM_SHAPES[msgtype]):
        raise ApiError(44004 if msgtype == "text" else 47001,
                       f"empty content: {msgtype}.{CUSTOM_SHAPES[msgtype]}")
    _require_follower(state, body["touser"])
    if not state.in_48h_window(body["touser"]):
        raise ApiError(45015, "response out of time limit or subscription is canceled")
    state.record("custom", body)
    return OK


def subscribe_send(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    _required(body, "touser")
    _check_template(state, body)
    if not state.take_grant(body["touser"], body["template_id"]):
        raise ApiError(43101, "user refuse to accept the msg")
    state.record("subscribe", body)
    return OK


ROUTES: dict[str, Route] = {
    "cgi-bin/token": Route("GET", token, needs_token=False),
    "sns/jscode2session": Route("GET", jscode2session, needs_token=False),
    "wxa/business/getuserphonenumber": Route("POST", getuserphonenumber, mini=True),
    "cgi-bin/qrcode/create": Route("POST", qrcode_create),
    "cgi-bin/menu/create": Route("POST", menu_create),
    "cgi-bin/menu/get": Route("GET", menu_get),
    "cgi-bin/menu/delete": Route("GET", menu_delete),
    "cgi-bin/message/template/send": Route("POST", template_send),
    "cgi-bin/message/custom/send": Route("POST", custom_send),
    "cgi-bin/message/subscribe/send": Route("POST", subscribe_send),
}
