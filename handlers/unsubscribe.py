"""unsubscribe: keep the member and card, mark them unreachable (no reply is delivered)."""
from handlers import Context
from wx_member.services import members


def handle(session, msg, ctx: Context) -> None:
    members.unsubscribe(session, msg.source, now=ctx.now)
    return None
