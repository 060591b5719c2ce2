"""WeChat event → service call. One module per event kind, registered here, in one place.

A handler takes the open session, the typed event (`wx_member.wechat.inbound.events`:
never a wechatpy object) and a `Context`, calls one service and returns the reply text
(or None), or a function that makes it, which is called after the commit so that
rendering holds no lock. It never commits: the transaction belongs to
`platform.events.process_once`.
"""
from __future__ import annotations

from wx_member.wechat.inbound import (
    Event,
    LinkViewed,
    MassSendFinished,
    MenuClicked,
    MessageReceived,
    Scanned,
    SubscribeNoticeChanged,
    Subscribed,
    TemplateSendFinished,
    Unsubscribed,
)

# One module per event kind; `Context` is re-exported for the webhook.
from handlers import (click, mass_finished, message, scan, subscribe, template_finished,
                      unsubscribe, view)
from handlers import subscribe_notice
from handlers.context import Context, Handler  # noqa: F401

HANDLERS: dict[type[Event], Handler] = {
    Subscribed: subscribe.handle,  # plain, and by a channel's QR code
    Scanned: scan.handle,
    Unsubscribed: unsubscribe.handle,
    MenuClicked: click.handle,
    TemplateSendFinished: template_finished.handle,
    MessageReceived: message.handle,  # text, image, voice, video, location, link
    LinkViewed: view.handle,
    MassSendFinished: mass_finished.handle,
    SubscribeNoticeChanged: subscribe_notice.handle,  # the account's subscribe notices
}


def handler_for(event: Event) -> Handler | None:
    """The handler of the event's type; None for kinds we only acknowledge."""
    return HANDLERS.get(type(event))
