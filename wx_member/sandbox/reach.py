"""The sandbox's mass sends (群发), Official Account subscribe messages (bizsend) and user
tags, with WeChat's shapes, limits and errcodes, and the MASSSENDJOBFINISH report posted
back to the app's webhook as WeChat does (a few seconds after the call; at once on
`flush_reports`).

WeChat's rules kept here: message/mass/send takes 2–10,000 openids; a `clientmsgid` seen
in the last 24 hours answers 45065 with the earlier msg_id and sends nothing; a follower
receives at most `mass_limit` (4, a 服务号's) mass messages a calendar month, the rest are
filtered (FilterCount); tags: 100 per account (45056), names ≤ 30 bytes (45158) and unique
(45157), 50 openids per batchtagging call (40032), 20 tags per user (45059); a batch naming
an openid that does not follow the account is refused whole (40003 invalid openid).
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from wx_member.sandbox.api import Route, _check_template, _required
from wx_member.sandbox.state import ApiError

if TYPE_CHECKING:
    from wx_member.sandbox.state import SandboxState

log = logging.getLogger(__name__)

MAX_MASS_OPENIDS = 10_000
CLIENTMSGID_SECONDS = 24 * 3600
MASS_TYPES = {"text": "content", "image": "media_id", "mpnews": "media_id"}
MAX_TAGS, MAX_TAGS_PER_USER, MAX_BATCH = 100, 20, 50
MASS_HELPER = "oMassSendHelper"  # the FromUserName of MASSSENDJOBFINISH


def _month(at: float) -> str:
    return time.strftime("%Y-%m", time.localtime(at))


class ReachState:
    def __init__(self, state: SandboxState, mass_limit: int = 4):
        self.state = state
        self.mass_limit = mass_limit
        self._lock = threading.Lock()
        self._clientmsgids: dict[str, tuple[int, int, float]] = {}  # → msg_id, data id, at
        self._mass_counts: Counter[tuple[str, str]] = Counter()  # (openid, month) → received
        self._ids = itertools.count(int(time.time()) % 10**6 * 1000 + 1)
        self._tags: dict[int, str] = {}
        self._user_tags: dict[str, set[int]] = {}
        self._reports: list[dict[str, Any]] = []
        self._webhook: Any = None  # a Simulator posting to the app's webhook
        self._timer: threading.Timer | None = None
        self.report_delay = 2.0

    # -- mass sends -----------------------------------------------------------------------
    def mass(self, body: Any, openids: list[str] | None, tag_id: int | None,
             preview: bool = False) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise ApiError(47001, "data format error")
        msgtype = body.get("msgtype")
        if msgtype not in MASS_TYPES:
            raise ApiError(40008, "invalid message type")
        content = body.get(msgtype)
        if not isinstance(content, dict) or not content.get(MASS_TYPES[msgtype]):
            raise ApiError(44004 if msgtype == "text" else 40007, "empty content")
        if preview:
            self.state.record("preview", body)
            return {"errcode": 0, "errmsg": "preview success", "msg_id": next(self._ids)}
        key = body.get("clientmsgid")
        with self._lock:
            earlier = self._clientmsgids.get(key) if key else None
            if earlier and time.time() - earlier[2] < CLIENTMSGID_SECONDS:
                raise _Duplicate(earlier[0], earlier[1])
            if tag_id is not None:
                openids = [o for o, tags in self._user_tags.items() if tag_id in tags]
            assert openids is not None
            month = _month(time.time())
            sent, filtered = [], 0
            for openid in dict.fromkeys(openids):
                if not self.state.is_follower(openid) or (
                        self._mass_counts[(openid, month)] >= self.mass_limit):
                    filtered += 1
                    continue
                self._mass_counts[(openid, month)] += 1
                sent.append(openid)
            msg_id, data_id = next(self._ids), next(self._ids)
            if key:
                self._clientmsgids[key] = (msg_id, data_id, time.time())
            self._reports.append({"msg_id": msg_id, "total": len(openids),
                                  "filtered": filtered, "sent": len(sent)})
        self.state.record("mass", {**body, "touser": sent}, msg_id)
        self._schedule()
        return {"errcode": 0, "errmsg": "send job submission success", "msg_id": msg_id,
                "msg_data_id": data_id}

    def mass_received(self, openid: str) -> int:
        """Mass messages `openid` received this month."""
        return self._mass_counts[(openid, _month(time.time()))]

    # -- the MASSSENDJOBFINISH callback ---------------------------------------------------
    def report_to(self, url: str, token: str, appid: str, aes_key: str | None = None) -> None:
        """Post MASSSENDJOBFINISH reports to the app's webhook (as WeChat, signed)."""
        from wx_member.sandbox.simulator import Simulator

        # One simulator: its CreateTimes never repeat for the helper (events dedup on it).
        self._webhook = Simulator(url, token=token, appid=appid, encoding_aes_key=aes_key)

    def _schedule(self) -> None:
        if self._webhook is None or self.report_delay is None:
            return
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(self.report_delay, self.flush_reports)
                self._timer.daemon = True
                self._timer.start()

    def flush_reports(self) -> int:
        """Post every pending report now; returns how many were posted."""
        with self._lock:
            reports, self._reports = self._reports, []
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if self._webhook is None:
            return 0
        sim = self._webhook
        for r in reports:
            try:
                sim.mass_finished(MASS_HELPER, r["msg_id"], "send success", r["total"],
                                  r["filtered"], r["sent"], 0)
            except Exception:  # the app is down: WeChat would retry, the sandbox logs
                log.warning("sandbox: MASSSENDJOBFINISH for %s not delivered", r["msg_id"])
        return len(reports)

    # -- user tags ------------------------------------------------------------------------
    def tag_create(self, body: Any) -> dict[str, Any]:
        tag = body.get("tag") if isinstance(body, dict) else None
        name = tag.get("name") if isinstance(tag, dict) else None
        if not isinstance(name, str) or not name:
            raise ApiError(47001, "data format error: tag.name missing")
        if len(name.encode("utf-8")) > 30:
            raise ApiError(45158, "tag name too long")
        with self._lock:
            if name in self._tags.values():
                raise ApiError(45157, "invalid tag name")
            if len(self._tags) >= MAX_TAGS:
                raise ApiError(45056, "too many tags now, no need to add new")
            tag_id = 100 + len(self._tags)
            self._tags[tag_id] = name
        self.state.record("tags", body)
        return {"tag": {"id": tag_id, "name": name}}

    def tags(self) -> dict[str, Any]:
        with self._lock:
            counts = Counter(t for ts in self._user_tags.values() for t in ts)
            return {"tags": [{"id": i, "name": n, "count": counts[i]}
                             for i, n in self._tags.items()]}

    def batch(self, body: Any, tagging: bool) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("openid_list"), list):
            raise ApiError(40032, "invalid openid list")
        openids, tag_id = body["openid_list"], body.get("tagid")
        if not 1 <= len(openids) <= MAX_BATCH:
            raise ApiError(40032, "invalid openid list size: 1-50")
        if not all(self.state.is_follower(o) for o in openids):
            raise ApiError(40003, "invalid openid")
        with self._lock:
            if tag_id not in self._tags:
                raise ApiError(45159, "invalid tag id")
            if tagging and any(tag_id not in self._user_tags.get(o, set())
                               and len(self._user_tags.get(o, set())) >= MAX_TAGS_PER_USER
                               for o in openids):
                raise ApiError(45059, "has tagged too many tags")
            for openid in openids:
                tags = self._user_tags.setdefault(openid, set())
                (tags.add if tagging else tags.discard)(tag_id)
        self.state.record("tags", {**body, "untag": not tagging})
        return {"errcode": 0, "errmsg": "ok"}

    def user_tags(self, openid: str) -> list[int]:
        with self._lock:
            return sorted(self._user_tags.get(openid, set()))


class _Duplicate(ApiError):
    """45065: WeChat's answer carries the earlier call's msg_id."""

    def __init__(self, msg_id: int, data_id: int):
        super().__init__(45065, "clientmsgid exist")
        self.extra = {"msg_id": msg_id, "msg_data_id": data_id}


# -- the API routes (sandbox/api.py lists them) ---------------------------------------------
def _reach(state: SandboxState) -> ReachState:
    return state.reach  # type: ignore[attr-defined]


def mass_send(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    touser = body.get("touser") if isinstance(body, dict) else None
    if not isinstance(touser, list) or not 2 <= len(touser) <= MAX_MASS_OPENIDS:
        raise ApiError(40130, "invalid openid list size, at least two openid")
    return _reach(state).mass(body, [str(o) for o in touser], None)


def mass_sendall(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    filt = body.get("filter") if isinstance(body, dict) else None
    if not isinstance(filt, dict):
        raise ApiError(47001, "data format error: filter missing")
    if filt.get("is_to_all"):
        raise ApiError(48001, "sandbox: is_to_all is not offered, send by tag")
    if filt.get("tag_id") not in _reach(state)._tags:
        raise ApiError(40050, "invalid tag id")
    return _reach(state).mass(body, None, int(filt["tag_id"]))


def mass_preview(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not body.get("touser"):
        raise ApiError(40003, "invalid openid")
    if not state.is_follower(body["touser"]):
        raise ApiError(43004, "require subscribe")
    return _reach(state).mass(body, None, None, preview=True)


def bizsend(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    """The Official Account's subscribe message: a grant of the template used per send."""
    _required(body, "touser")
    _check_template(state, body)
    if not state.is_follower(body["touser"]):
        raise ApiError(43004, "require subscribe")
    if not state.take_grant(body["touser"], body["template_id"]):
        raise ApiError(43101, "user refuse to accept the msg")
    state.record("bizsend", body)
    return {"errcode": 0, "errmsg": "ok"}


def tags_create(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    return _reach(state).tag_create(body)


def tags_get(state: SandboxState, _args: Mapping[str, str], _body: Any) -> dict[str, Any]:
    return _reach(state).tags()


def batchtagging(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    return _reach(state).batch(body, tagging=True)


def batchuntagging(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    return _reach(state).batch(body, tagging=False)


def user_tag_get(state: SandboxState, _args: Mapping[str, str], body: Any) -> dict[str, Any]:
    if not isinstance(body, dict) or not body.get("tagid"):
        raise ApiError(47001, "data format error: tagid missing")
    with _reach(state)._lock:
        openids = [o for o, t in _reach(state)._user_tags.items() if body["tagid"] in t]
    return {"count": len(openids), "data": {"openid": openids}, "next_openid": ""}


ROUTES: dict[str, Route] = {
    "cgi-bin/message/mass/send": Route("POST", mass_send),
    "cgi-bin/message/mass/sendall": Route("POST", mass_sendall),
    "cgi-bin/message/mass/preview": Route("POST", mass_preview),
    "cgi-bin/message/subscribe/bizsend": Route("POST", bizsend),
    "cgi-bin/tags/create": Route("POST", tags_create),
    "cgi-bin/tags/get": Route("GET", tags_get),
    "cgi-bin/tags/members/batchtagging": Route("POST", batchtagging),
    "cgi-bin/tags/members/batchuntagging": Route("POST", batchuntagging),
    "cgi-bin/user/tag/get": Route("POST", user_tag_get),
}
