"""MASSSENDJOBFINISH: WeChat's report on a mass send (群发) we made."""
from handlers.context import Context
from wx_member.pushes import mass_sends
from wx_member.wechat.inbound import MassSendFinished


def handle(session, event: MassSendFinished, ctx: Context) -> None:
    mass_sends.finished(session, event.msgid, event.status, event.total, event.filtered,
                        event.sent, event.errors, event.at)
    return None
