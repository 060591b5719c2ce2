"""unsubscribe: keep the member and card, mark them unreachable (no reply is delivered)."""
from handlers.context import Context
from wx_member.members import joining
from wx_member.wechat.inbound import Unsubscribed


def handle(session, event: Unsubscribed, ctx: Context) -> None:
    joining.unsubscribe(session, event.openid, now=event.at)
    return None
