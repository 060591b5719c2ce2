"""/wechat: the Official Account webhook. Authenticate and decode into a typed event, hand it
to its handler, reply.

Always answers within WeChat's 5 s budget with either a reply or 'success'; an event we do
not handle is logged and acknowledged, never an error page (WeChat would retry it).
"""
from __future__ import annotations

import logging
from flask import Blueprint, Response, abort, g, request

from handlers import Context, handler_for
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

    event = message.event
    EVENTS.labels(event.kind).inc()
    handler = handler_for(event)
    if handler is None:
        log.info("no handler for %s; acknowledged", event.kind)
        return _xml("success")
    ctx = Context(replies=rt.replies, tz=rt.config.tz)
    reply = events.process_once(g.db, event.dedup_key, event.kind, event.openid,
                                lambda session: handler(session, event, ctx))
    return _xml(inbound.encode_reply(message, reply))
