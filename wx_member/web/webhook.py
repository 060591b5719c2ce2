"""/wechat: the Official Account webhook. Parse, authenticate, hand to one handler, reply.

Always answers within WeChat's 5 s budget with either a reply or 'success'; an event we do
not handle is logged and acknowledged, never an error page (WeChat would retry it).
"""
from __future__ import annotations

import logging
from flask import Blueprint, Response, abort, g, request

from handlers import Context, handler_for
from wx_member.clock import from_timestamp
from wx_member.extensions import runtime
from wx_member.metrics import EVENTS
from wx_member.platform import events
from wx_member.wechat import inbound

log = logging.getLogger(__name__)
bp = Blueprint("webhook", __name__)


def _xml(body: str) -> Response:
    return Response(body, content_type="application/xml; charset=utf-8")


@bp.get("/wechat")
def handshake():
    try:
        return Response(inbound.verify_handshake(runtime().config, request.args),
                        content_type="text/plain")
    except inbound.BadSignature:
        abort(403)


@bp.post("/wechat")
def receive():
    rt = runtime()
    limit = rt.config.max_body_bytes
    # WeChat always sends Content-Length; without it (chunked) we refuse rather than guess.
    if request.content_length is None or request.content_length > limit:
        abort(413 if request.content_length else 411)
    body = request.get_data(cache=False)
    try:
        message = inbound.decode(rt.config, request.args, body)
    except inbound.BadSignature as exc:
        log.warning("webhook refused: %s", exc)
        abort(403)
    except inbound.BadMessage as exc:
        log.warning("webhook bad body: %s", exc)
        abort(400)

    EVENTS.labels(message.kind).inc()
    handler = handler_for(message.kind)
    if handler is None:
        log.info("no handler for %s; acknowledged", message.kind)
        return _xml("success")
    at = from_timestamp(message.msg.time)
    ctx = Context(replies=rt.replies, tz=rt.config.tz, now=at)
    reply = events.process_once(g.db, message.dedup_key, message.kind, message.openid,
                                lambda session: handler(session, message.msg, ctx))
    return _xml(inbound.encode_reply(message, reply))
