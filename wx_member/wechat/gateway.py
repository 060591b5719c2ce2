"""The one module that calls WeChat's API. Its base URL is configuration (`WX_API_BASE`):
the sandbox in tests and the demo, https://api.weixin.qq.com/ in production.

The gateway refreshes the token once on 40001/40014/42001 and retries the call once
(wechatpy's own `auto_retry` recurses without a bound); the client beneath it, with the
hosts fixed, and GatewayError, the one exception its calls leave with, are in
wechat/api_client.py.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import Any

import requests
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.session.memorystorage import MemoryStorage

from wx_member.config import Config
from wx_member.wechat.api_client import TOKEN_ERRORS, GatewayError, _Client, _failure, _not_sent
from wx_member.wechat.http import PooledSession
from wx_member.wechat.tokens import TokenRefreshTimeout

log = logging.getLogger(__name__)

MAX_TEMP_QR_SECONDS = 2_592_000  # 30 days, WeChat's limit


@dataclass(frozen=True)
class QrCode:
    ticket: str
    url: str  # the content encoded in the QR image
    expire_seconds: int | None  # None: permanent
    image_url: str


@dataclass(frozen=True)
class MiniSession:
    openid: str
    session_key: str
    unionid: str | None


@dataclass(frozen=True)
class PhoneNumber:
    phone: str  # with the country code for numbers outside China, as WeChat gives it
    pure_phone: str
    country_code: str


class WeChatGateway:
    def __init__(self, config: Config, storage: SessionStorage | None = None,
                 timeout: float = 5.0):
        self.config = config
        # Keep-alive across calls, one connection per fan-out thread. requests looks up proxy
        # variables and .netrc on every call when trust_env is on: they are read once here.
        self.http = PooledSession(
            pool_maxsize=32, verify=os.environ.get("REQUESTS_CA_BUNDLE") or True,
            proxies=requests.utils.get_environ_proxies(config.api_base))
        storage = storage or MemoryStorage()
        self.client = _Client(config.api_base, config.appid, config.secret,
                              storage, self.http, timeout)
        # wxa/ calls take the mini-program's own access token (its appid keys it in the
        # shared storage); without mini-program credentials there is no such client.
        self.mini_client = (_Client(config.api_base, config.mini_appid, config.mini_secret,
                                    storage, self.http, timeout)
                            if config.mini_appid and config.mini_secret else None)
        self.timeout = timeout

    # -- plumbing -------------------------------------------------------------------------
    def _call(self, method: str, endpoint: str, client: _Client | None = None,
              **kwargs) -> dict[str, Any]:
        client = client or self.client
        params = dict(kwargs.pop("params", None) or {})
        fresh = None  # the token a refresh produced: used as is, never re-read from a cache
        for attempt in (1, 2):
            token = None
            try:
                # The token is passed explicitly, so a refresh knows which one WeChat refused.
                token = fresh or client.access_token
                return client._request(method, endpoint,
                                            params={**params, "access_token": token},
                                            **dict(kwargs))
            except WeChatClientException as exc:
                if exc.errcode in TOKEN_ERRORS and attempt == 1:
                    log.info("access token rejected (%s), refreshing once", exc.errcode)
                    fresh = self._refresh(client, token)
                    continue
                raise _failure(exc) from exc
            except requests.RequestException as exc:
                raise _failure(exc, maybe_sent=not _not_sent(exc)) from exc
            except TokenRefreshTimeout as exc:  # another process is fetching, for too long
                raise _failure(exc) from exc
        raise AssertionError("unreachable")

    @staticmethod
    def _refresh(client: _Client, rejected: str | None) -> str | None:
        """A new token after WeChat refused `rejected`. The refused call was not carried
        out, so a failure here means nothing was sent (maybe_sent stays False)."""
        try:
            return (client.refresh_token(rejected=rejected) or {}).get("access_token")
        except (WeChatClientException, requests.RequestException, TokenRefreshTimeout) as exc:
            raise _failure(exc) from exc

    # -- QR codes -------------------------------------------------------------------------
    def create_qrcode(self, scene: str | int, permanent: bool = False,
                      expire_seconds: int = MAX_TEMP_QR_SECONDS) -> QrCode:
        is_int = isinstance(scene, int)
        action = ("QR_LIMIT_SCENE" if is_int else "QR_LIMIT_STR_SCENE") if permanent else (
            "QR_SCENE" if is_int else "QR_STR_SCENE")
        body: dict[str, Any] = {
            "action_name": action,
            "action_info": {"scene": {"scene_id" if is_int else "scene_str": scene}},
        }
        if not permanent:
            body["expire_seconds"] = min(int(expire_seconds), MAX_TEMP_QR_SECONDS)
        res = self._call("post", "qrcode/create", data=body)
        return QrCode(ticket=res["ticket"], url=res["url"],
                      expire_seconds=res.get("expire_seconds"),
                      image_url=self.qrcode_image_url(res["ticket"]))

    def qrcode_image_url(self, ticket: str) -> str:
        return requests.Request("GET", self.config.mp_base + "cgi-bin/showqrcode",
                                params={"ticket": ticket}).prepare().url

    def qrcode_image(self, ticket: str) -> bytes:
        """The QR code's PNG (showqrcode needs no access token), for the console's download."""
        try:
            res = self.http.get(self.qrcode_image_url(ticket), timeout=self.timeout)
            res.raise_for_status()
        except requests.RequestException as exc:
            raise _failure(exc) from exc
        return res.content

    # -- menu -----------------------------------------------------------------------------
    def create_menu(self, menu: dict[str, Any]) -> None:
        self._call("post", "menu/create", data=menu)

    def get_menu(self) -> dict[str, Any] | None:
        try:
            return self._call("get", "menu/get")["menu"]
        except GatewayError as exc:
            if exc.errcode == 46003:  # no menu yet
                return None
            raise

    def delete_menu(self) -> None:
        self._call("get", "menu/delete")

    # -- messages -------------------------------------------------------------------------
    def send_template(self, openid: str, template_id: str, data: dict[str, Any],
                      url: str | None = None, miniprogram: dict | None = None) -> int:
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if url:
            body["url"] = url
        if miniprogram:
            body["miniprogram"] = miniprogram
        return int(self._call("post", "message/template/send", data=body)["msgid"])

    def send_subscribe(self, openid: str, template_id: str, data: dict[str, Any],
                       page: str | None = None) -> None:
        """A mini-program subscribe message: uses one of the member's grants."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if page:
            body["page"] = page
        self._call("post", "message/subscribe/send", data=body)

    def send_bizsend(self, openid: str, template_id: str, data: dict[str, Any],
                     page: str | None = None, miniprogram: dict | None = None) -> None:
        """An Official Account subscribe message (message/subscribe/bizsend): uses one of
        the follower's one-time grants; `page` is a web link, `miniprogram` a page."""
        body: dict[str, Any] = {"touser": openid, "template_id": template_id, "data": data}
        if page:
            body["page"] = page
        if miniprogram:
            body["miniprogram"] = miniprogram
        self._call("post", "message/subscribe/bizsend", data=body)

    def send_text(self, openid: str, content: str) -> None:
        self._call("post", "message/custom/send",
                   data={"touser": openid, "msgtype": "text", "text": {"content": content}})

    # -- mass sends (群发) -----------------------------------------------------------------
    MASS_DUPLICATE = 45065  # the clientmsgid was used in the last 24 hours

    def mass_send(self, content: dict[str, Any], clientmsgid: str, openids: list[str] | None = None,
                  tag_id: int | None = None) -> tuple[int, int | None]:
        """A mass message (`content`: {"msgtype": "text", "text": {"content": …}} or an
        image's {"msgtype": "image", "image": {"media_id": …}}) to 2–10,000 openids
        (message/mass/send) or to everyone with a user tag (message/mass/sendall).
        `clientmsgid` makes a retried call safe: WeChat answers 45065 with the msg_id of
        the call it already has, returned here as if sent now. → (msg_id, msg_data_id)."""
        body: dict[str, Any] = {**content, "clientmsgid": clientmsgid}
        if openids is not None:
            body["touser"] = list(openids)
            endpoint = "message/mass/send"
        else:
            body["filter"] = {"is_to_all": False, "tag_id": int(tag_id or 0)}
            endpoint = "message/mass/sendall"
        body.setdefault("send_ignore_reprint", 0)
        try:
            res = self._call("post", endpoint, data=body)
        except GatewayError as exc:
            if exc.errcode == self.MASS_DUPLICATE and exc.data.get("msg_id"):
                log.info("mass send %s already at WeChat as %s", clientmsgid, exc.data["msg_id"])
                res = exc.data
            else:
                raise
        data_id = res.get("msg_data_id")
        return int(res["msg_id"]), int(data_id) if data_id else None

    def mass_preview(self, openid: str, content: dict[str, Any]) -> int | None:
        """message/mass/preview: the mass message to one follower only (a test)."""
        res = self._call("post", "message/mass/preview", data={**content, "touser": openid})
        return int(res["msg_id"]) if res.get("msg_id") else None

    # -- user tags ------------------------------------------------------------------------
    def create_tag(self, name: str) -> int:
        """tags/create → the tag's id (45157: the name exists; 45056: 100 tags already)."""
        return int(self._call("post", "tags/create", data={"tag": {"name": name}})["tag"]["id"])

    def get_tags(self) -> dict[str, int]:
        """The account's tags, name → id."""
        return {t["name"]: int(t["id"]) for t in self._call("get", "tags/get").get("tags", [])}

    def tag_users(self, tag_id: int, openids: list[str], untag: bool = False) -> None:
        """tags/members/batchtagging (or batchuntagging): at most 50 openids a call."""
        self._call("post", f"tags/members/{'batchuntagging' if untag else 'batchtagging'}",
                   data={"openid_list": list(openids), "tagid": int(tag_id)})

    # -- mini-program ---------------------------------------------------------------------
    def code_to_session(self, js_code: str, appid: str, secret: str) -> MiniSession:
        """jscode2session takes the mini-program's own credentials, not an access token."""
        try:
            res = self.http.get(self.config.api_base + "sns/jscode2session", timeout=self.timeout,
                                params={"appid": appid, "secret": secret, "js_code": js_code,
                                        "grant_type": "authorization_code"})
            res.raise_for_status()
            data = res.json()
        except (requests.RequestException, ValueError) as exc:
            raise _failure(exc) from exc
        if data.get("errcode"):
            raise GatewayError(int(data["errcode"]), data.get("errmsg", ""))
        return MiniSession(data["openid"], data["session_key"], data.get("unionid"))

    def user_phone_number(self, code: str) -> PhoneNumber:
        """The phone number behind a `getPhoneNumber` button's code (single use, 5 minutes),
        with the mini-program's access token."""
        if self.mini_client is None:
            raise GatewayError(None, "mini-program credentials (WX_MINI_APPID, WX_MINI_SECRET) missing")
        res = self._call("post", self.config.api_base + "wxa/business/getuserphonenumber",
                         client=self.mini_client, data={"code": code})
        info = res.get("phone_info") or {}
        return PhoneNumber(str(info.get("phoneNumber", "")), str(info.get("purePhoneNumber", "")),
                           str(info.get("countryCode", "")))
