"""The sandbox's memory of one WeChat account: tokens, followers, grants, login codes, QR
codes, the menu, what was sent, and the failures a test asked for.

Everything sits behind one lock and every method is short, so the HTTP server can run one
thread per connection. The control methods here are what tests call directly on a `Sandbox`
and what `/_sandbox/*` exposes to other processes.
"""
from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from typing import Any

TOKEN_TTL = 7200
WINDOW_48H = 48 * 3600
SENT_KINDS = ("template", "custom", "subscribe", "menu", "qrcode", "mass", "preview",
              "bizsend", "tags")


class ApiError(Exception):
    """A WeChat errcode answer (HTTP 200, JSON body), as the real API gives."""

    def __init__(self, errcode: int, errmsg: str):
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg


@dataclass
class Injection:
    """One queued failure: answer an errcode or an HTTP status, or only sleep first."""

    errcode: int | None
    http_status: int | None
    delay: float
    remaining: int


def _path(path: str) -> str:
    return path.strip("/")


class SandboxState:
    def __init__(self, appid: str, secret: str, mini_appid: str | None = None,
                 mini_secret: str | None = None, enforce_48h: bool = True,
                 templates: list[str] | None = None, max_sent: int | None = None):
        """`templates`: the template ids the account owns (None: any non-empty id).
        `max_sent`: keep only the latest records (a long benchmark); counts stay complete."""
        if mini_secret and not mini_appid:
            raise ValueError("mini_secret needs mini_appid")
        self.mini_appid = mini_appid or appid
        self.credentials = {appid: secret, self.mini_appid: mini_secret or secret}
        self.enforce_48h = enforce_48h
        self.templates = set(templates) if templates is not None else None
        self._lock = threading.Lock()
        self._max_sent = max_sent
        self._tokens: dict[str, float] = {}  # token -> expiry (unix time)
        self._token_owner: dict[str, str] = {}  # token -> the appid it was issued to
        self._latest: dict[str, deque[str]] = defaultdict(lambda: deque(maxlen=2))
        self._token_fetches = 0
        self._unfollowed: set[str] = set()
        self._interactions: dict[str, float] = {}
        self._grants: Counter[tuple[str, str]] = Counter()
        self._login_codes: dict[str, tuple[str, str | None]] = {}
        self._phone_codes: dict[str, dict[str, str]] = {}
        self._qrcodes: dict[str, dict[str, Any]] = {}
        self._menu: dict[str, Any] | None = None
        self._msgids = itertools.count(int(time.time()) * 1000)
        self._reset_log()

    def _reset_log(self) -> None:
        self._sent: deque[dict[str, Any]] = deque(maxlen=self._max_sent)
        # What followers did and were answered (Simulator(sandbox=…)): the root page's.
        self._notes: deque[dict[str, Any]] = deque(maxlen=self._max_sent)
        self._seq = itertools.count(1)
        self._sent_counts: Counter[str] = Counter()
        self._calls: Counter[str] = Counter()
        self._injections: dict[str, deque[Injection]] = defaultdict(deque)
        self._quotas: dict[str, int] = {}

    # -- access tokens --------------------------------------------------------------------
    def verify_credentials(self, appid: str, secret: str) -> None:
        if appid not in self.credentials:
            raise ApiError(40013, "invalid appid")
        if not secrets.compare_digest(self.credentials[appid].encode(), secret.encode()):
            raise ApiError(40125, "invalid appsecret")

    def issue_token(self, appid: str, secret: str) -> dict[str, Any]:
        """The previous token stays valid until the next issue: WeChat's overlap window.
        The mini-program's credentials get tokens too; the sandbox does not tell them apart."""
        self.verify_credentials(appid, secret)
        token = secrets.token_urlsafe(96)
        with self._lock:
            self._tokens[token] = time.time() + TOKEN_TTL
            self._token_owner[token] = appid
            latest = self._latest[appid]
            if len(latest) == latest.maxlen:
                self._tokens.pop(latest[0], None)  # retired: now unknown, i.e. 40001
                self._token_owner.pop(latest[0], None)
            latest.append(token)
            self._token_fetches += 1
        return {"access_token": token, "expires_in": TOKEN_TTL}

    def check_token(self, token: str, appid: str | None = None) -> None:
        """`appid`: the API belongs to that account (the mini-program's wxa/ APIs): another
        account's token is refused as WeChat does."""
        if not token:
            raise ApiError(41001, "access_token missing")
        expiry = self._tokens.get(token)
        if expiry is None:
            raise ApiError(40001, "invalid credential, access_token is invalid or not latest")
        if time.time() >= expiry:
            raise ApiError(42001, "access_token expired")
        if appid is not None and self._token_owner.get(token) != appid:
            raise ApiError(48001, "api unauthorized")

    def expire_tokens(self) -> None:
        with self._lock:
            for token in self._tokens:
                self._tokens[token] = 0.0

    @property
    def token_fetches(self) -> int:
        return self._token_fetches

    # -- failure injection and quotas -----------------------------------------------------
    def inject(self, path: str, errcode: int | None = None, http_status: int | None = None,
               delay: float = 0.0, times: int = 1) -> None:
        """The next `times` calls to `path` fail (or are slow). With a delay only, the call
        then succeeds: as at WeChat, a client that timed out may still have sent."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._injections[_path(path)].append(
                Injection(errcode, http_status, float(delay), int(times)))

    def take_injection(self, path: str) -> Injection | None:
        if not self._injections:  # the common case, without the lock
            return None
        with self._lock:
            queue = self._injections.get(path)
            if not queue:
                return None
            injection = queue[0]
            injection.remaining -= 1
            if injection.remaining == 0:
                queue.popleft()
                if not queue:
                    del self._injections[path]
            return injection

    def quota(self, path: str, limit: int) -> None:
        """After `limit` more calls, `path` answers 45009 (daily quota reached)."""
        with self._lock:
            path = _path(path)
            self._quotas[path] = self._calls[path] + int(limit)

    def count_call(self, path: str) -> None:
        with self._lock:
            self._calls[path] += 1
            over = path in self._quotas and self._calls[path] > self._quotas[path]
        if over:
            raise ApiError(45009, "reach max api daily quota limit")

    def clear(self) -> None:
        """Forget what was sent, call counts, injected failures and quotas. Tokens, users,
        QR codes and the menu stay: they are WeChat's state, not the test's."""
        with self._lock:
            self._reset_log()

    # -- users ----------------------------------------------------------------------------
    def follow(self, openid: str) -> None:
        with self._lock:
            self._unfollowed.discard(openid)

    def unfollow(self, openid: str) -> None:
        with self._lock:
            self._unfollowed.add(openid)

    def is_follower(self, openid: str) -> bool:
        """Anyone follows unless marked otherwise: tests need not register their users."""
        return openid not in self._unfollowed

    def interact(self, openid: str, at: float | None = None) -> None:
        """The user wrote to the account at `at`: opens the 48 h customer-service window."""
        with self._lock:
            self._interactions[openid] = time.time() if at is None else float(at)

    def in_48h_window(self, openid: str) -> bool:
        if not self.enforce_48h:
            return True
        at = self._interactions.get(openid)
        return at is not None and time.time() - at <= WINDOW_48H

    def grant_subscribe(self, openid: str, template_id: str, count: int = 1) -> None:
        """The user accepted `count` one-time subscribe messages of this template."""
        with self._lock:
            self._grants[(openid, template_id)] += int(count)

    def take_grant(self, openid: str, template_id: str) -> bool:
        with self._lock:
            if self._grants[(openid, template_id)] <= 0:
                return False
            self._grants[(openid, template_id)] -= 1
            return True

    def issue_login_code(self, openid: str, unionid: str | None = None) -> str:
        """A code as wx.login() gives the mini-program; jscode2session maps it to openid."""
        code = secrets.token_hex(16)
        with self._lock:
            self._login_codes[code] = (openid, unionid)
        return code

    def take_login_code(self, code: str) -> tuple[str, str | None] | None:
        with self._lock:
            return self._login_codes.pop(code, None)

    def issue_phone_code(self, phone: str, country_code: str = "86") -> str:
        """A code as the mini-program's getPhoneNumber button gives it (single use)."""
        if not phone.isdigit():
            raise ValueError("phone must be digits, without the country code")
        code = secrets.token_hex(16)
        full = phone if country_code == "86" else f"+{country_code}{phone}"
        with self._lock:
            self._phone_codes[code] = {"phoneNumber": full, "purePhoneNumber": phone,
                                       "countryCode": country_code}
        return code

    def take_phone_code(self, code: str) -> dict[str, str] | None:
        with self._lock:
            return self._phone_codes.pop(code, None)

    # -- QR codes, menu, sent log ---------------------------------------------------------
    def add_qrcode(self, ticket: str, info: dict[str, Any]) -> None:
        with self._lock:
            self._qrcodes[ticket] = info

    def qrcode(self, ticket: str) -> dict[str, Any] | None:
        return self._qrcodes.get(ticket)

    @property
    def qrcodes(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._qrcodes)

    @property
    def menu(self) -> dict[str, Any] | None:
        return self._menu

    def set_menu(self, menu: dict[str, Any] | None) -> None:
        with self._lock:
            self._menu = menu

    def next_msgid(self) -> int:
        with self._lock:
            return next(self._msgids)

    def record(self, kind: str, request: dict[str, Any], msgid: int | None = None) -> None:
        entry: dict[str, Any] = {"kind": kind, "request": request, "at": int(time.time())}
        if msgid is not None:
            entry["msgid"] = msgid
        with self._lock:
            entry["seq"] = next(self._seq)
            self._sent.append(entry)
            self._sent_counts[kind] += 1

    def note(self, openid: str, who: str, kind: str, text: str) -> None:
        """A follower's message or event (`who` user) or the account's passive reply
        (`who` account, kind `reply`), for the conversation page."""
        with self._lock:
            self._notes.append({"openid": openid, "who": who, "kind": kind, "text": text,
                                "seq": next(self._seq)})

    def notes(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._notes)

    def sent(self, kind: str | None = None) -> list[dict[str, Any]]:
        if kind is not None and kind not in SENT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(SENT_KINDS)}")
        with self._lock:
            return [e for e in self._sent if kind is None or e["kind"] == kind]

    def stats(self) -> dict[str, Any]:
        """Counts that stay cheap after a million sends (`sent()` would not)."""
        with self._lock:
            return {"sent": dict(self._sent_counts), "calls": dict(self._calls),
                    "token_fetches": self._token_fetches}
