"""`Sandbox`: a real HTTP server on loopback that answers like api.weixin.qq.com, so tests,
the demo and benchmarks drive the app's unchanged WeChat code over HTTP.

Point the app's `WX_API_BASE` (and `WX_MP_BASE`, for QR images) at `sandbox.url`. Tests
inspect and steer it through the `SandboxState` methods, or over `/_sandbox/*` from another
process (see `SandboxClient`).
"""
from __future__ import annotations

import io
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import segno

from wx_member.sandbox import phone, reach
from wx_member.sandbox.api import ROUTES as BASIC_ROUTES
from wx_member.sandbox.merchant import MerchantSandbox
from wx_member.sandbox.state import ApiError, SandboxState

log = logging.getLogger(__name__)

ROUTES = {**BASIC_ROUTES, **reach.ROUTES}  # mass sends, bizsend, user tags: sandbox/reach.py
ERRMSGS = {-1: "system error", 40001: "invalid credential, access_token is invalid or not latest",
           42001: "access_token expired", 45009: "reach max api daily quota limit",
           45011: "api minute-quota reach limit, must slower, retry next minute"}

Control = Callable[[SandboxState, dict[str, str], dict[str, Any]], Any]
CONTROL: dict[str, tuple[str, Control]] = {
    "sent": ("GET", lambda sb, q, b: sb.sent(q.get("kind") or None)),
    "stats": ("GET", lambda sb, q, b: sb.stats()),
    "menu": ("GET", lambda sb, q, b: {"menu": sb.menu}),
    "qrcodes": ("GET", lambda sb, q, b: sb.qrcodes),
    "reset": ("POST", lambda sb, q, b: sb.clear()),
    "inject": ("POST", lambda sb, q, b: sb.inject(**b)),
    "quota": ("POST", lambda sb, q, b: sb.quota(**b)),
    "expire-tokens": ("POST", lambda sb, q, b: sb.expire_tokens()),
    "follow": ("POST", lambda sb, q, b: sb.follow(**b)),
    "unfollow": ("POST", lambda sb, q, b: sb.unfollow(**b)),
    "interact": ("POST", lambda sb, q, b: sb.interact(**b)),
    "grant": ("POST", lambda sb, q, b: sb.grant_subscribe(**b)),
    "login-code": ("POST", lambda sb, q, b: {"code": sb.issue_login_code(**b)}),
    "phone-code": ("POST", lambda sb, q, b: {"code": sb.issue_phone_code(**b)}),
    # WeChat Pay (sandbox/merchant.py): the payer pays, fails, or the notify is lost.
    "pay": ("POST", lambda sb, q, b: _paid(sb.merchant.pay(**b))),
    "settle-refunds": ("POST", lambda sb, q, b: [_paid(r) for r in sb.merchant.settle_refunds()]),
    "note": ("POST", lambda sb, q, b: sb.note(**b)),
    "report-to": ("POST", lambda sb, q, b: sb.reach.report_to(**b)),
    "flush-reports": ("POST", lambda sb, q, b: {"posted": sb.reach.flush_reports()}),
}


def _paid(result) -> dict[str, Any]:
    return {"notified": result is not None,
            "answer": None if result is None else {"status": result.status, "body": result.body}}


Reply = tuple[int, str, bytes]  # HTTP status, content type, body
JSON_TYPE = "application/json; charset=utf-8"


def _json(data: Any, status: int = 200) -> Reply:
    return status, JSON_TYPE, json.dumps(data, ensure_ascii=False).encode("utf-8")


def _error(errcode: int, errmsg: str) -> Reply:
    return _json({"errcode": errcode, "errmsg": errmsg})


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive (werkzeug's dev server closes every connection): a benchmark
    sends a million requests. No access log; Nagle off, or keep-alive stalls 40 ms."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: _Server

    def _serve(self) -> None:
        if self.headers.get("Transfer-Encoding"):  # unread, it would corrupt the next request
            self.send_error(411, "send a Content-Length")
            return
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path.startswith("/v3/"):  # WeChat Pay's merchant API: signed both ways
            self._answer(*self.server.sandbox.merchant.handle(
                self.command, self.path, dict(self.headers.items()), body))
            return
        try:
            status, content_type, payload = self.server.sandbox.handle(
                self.command, url.path.strip("/"), dict(parse_qsl(url.query)), body)
        except Exception:  # a sandbox bug: answer 500 as a server would, keep serving
            log.exception("sandbox failed on %s %s", self.command, self.path)
            status, content_type, payload = 500, "text/plain", b"sandbox internal error"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _serve

    def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def log_message(self, format: str, *args: Any) -> None:  # errors, to logging not stderr
        log.warning("sandbox HTTP: " + format, *args)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # socketserver's 5 stalls a burst of new connections

    def __init__(self, address: tuple[str, int], sandbox: Sandbox):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
        self.sandbox = sandbox

    def handle_error(self, request, client_address) -> None:
        # A client that hung up before its answer (a timed-out or killed sender) is what
        # WeChat sees too: not worth socketserver's traceback on stderr.
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            log.info("sandbox HTTP: %s hung up before the answer", client_address)
            return
        super().handle_error(request, client_address)


class Sandbox(SandboxState):
    def __init__(self, appid: str = "wxsandbox", secret: str = "s3cret",
                 host: str = "127.0.0.1", port: int = 0, mini_appid: str | None = None,
                 mini_secret: str | None = None, enforce_48h: bool = True,
                 templates: Iterable[str] | None = None, max_sent: int | None = None):
        """port 0: an ephemeral port, read it back from `url` after `start()`."""
        super().__init__(appid, secret, mini_appid, mini_secret, enforce_48h,
                         list(templates) if templates is not None else None, max_sent)
        self.host = host
        self.port = port
        self._server: _Server | None = None
        self.merchant = MerchantSandbox()  # WeChat Pay's /v3/... once enabled
        self.reach = reach.ReachState(self)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> Sandbox:
        self._server = _Server((self.host, self.port), self)
        self.port = self._server.server_address[1]
        # A short poll interval: stop() waits for it, and tests start and stop many sandboxes.
        threading.Thread(target=self._server.serve_forever, args=(0.05,),
                         name="wechat-sandbox", daemon=True).start()
        return self

    def stop(self) -> None:
        self.reach.report_delay = None  # no MASSSENDJOBFINISH after the sandbox stopped
        if self.reach._timer is not None:
            self.reach._timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    # -- HTTP -----------------------------------------------------------------------------
    def handle(self, method: str, path: str, args: dict[str, str], body: bytes) -> Reply:
        """One request, already parsed; `path` has no leading or trailing slash."""
        if path.startswith("_sandbox/"):
            return self._control(method, path.removeprefix("_sandbox/"), args, body)
        if path == "cgi-bin/showqrcode":
            return self._show_qrcode(args)
        if path == "" and method == "GET":  # what each follower's WeChat shows
            html = phone.page(self.sent(), self.notes(), args.get("openid"))
            return 200, "text/html; charset=utf-8", html.encode("utf-8")
        return self._api(method, path, args, body)

    def _api(self, method: str, path: str, args: dict[str, str], body: bytes) -> Reply:
        route = ROUTES.get(path)
        if route is None:
            return _json({"errcode": 404, "errmsg": f"sandbox: no API at /{path}"}, 404)
        injection = self.take_injection(path)
        if injection is not None:
            time.sleep(injection.delay)
            if injection.http_status:
                return (injection.http_status, "text/plain",
                        f"injected HTTP {injection.http_status}".encode())
            if injection.errcode is not None:
                return _error(injection.errcode,
                              ERRMSGS.get(injection.errcode, "sandbox: injected error"))
        try:
            if method != route.method:
                code = 43001 if route.method == "GET" else 43002
                raise ApiError(code, f"require {route.method} method")
            if route.needs_token:
                self.check_token(args.get("access_token", ""),
                                 appid=self.mini_appid if route.mini else None)
            self.count_call(path)
            data = None
            if method == "POST":
                try:
                    data = json.loads(body)
                except ValueError:
                    raise ApiError(47001, "data format error: body is not JSON") from None
            return _json(route.handler(self, args, data))
        except ApiError as exc:
            extra = getattr(exc, "extra", None)  # 45065's earlier msg_id
            if extra:
                return _json({"errcode": exc.errcode, "errmsg": exc.errmsg, **extra})
            return _error(exc.errcode, exc.errmsg)

    def _show_qrcode(self, args: dict[str, str]) -> Reply:
        """WeChat serves this from mp.weixin.qq.com, without an access token."""
        info = self.qrcode(args.get("ticket", ""))
        if info is None:
            return 404, "text/plain", b"no such ticket"
        image = io.BytesIO()
        segno.make_qr(info["url"]).save(image, kind="png", scale=10, border=2)
        return 200, "image/png", image.getvalue()

    def _control(self, method: str, name: str, args: dict[str, str], body: bytes) -> Reply:
        if name not in CONTROL:
            return _json({"error": f"no control endpoint {name!r}"}, 404)
        expected, action = CONTROL[name]
        if method != expected:
            return _json({"error": f"use {expected}"}, 405)
        try:
            data = json.loads(body or b"{}") if method == "POST" else {}
            if not isinstance(data, dict):
                raise TypeError("the body must be a JSON object")
            result = action(self, args, data)
        except (TypeError, ValueError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"ok": True} if result is None else result)
