"""VIEW: a tap on a link button of the menu. Nothing to reply (WeChat opens the page);
recorded once and counted for activity by `process_once`."""
from handlers.context import Context
from wx_member.wechat.inbound import LinkViewed


def handle(session, event: LinkViewed, ctx: Context) -> None:
    return None
