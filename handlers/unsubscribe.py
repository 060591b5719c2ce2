"""unsubscribe: keep the member and card, mark them unreachable (no reply is delivered)."""
from handlers import Context
from wx_member.members import joining


def handle(session, msg, ctx: Context) -> None:
    joining.unsubscribe(session, msg.source, now=ctx.now)
    return None
