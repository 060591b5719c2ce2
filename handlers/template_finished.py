"""TEMPLATESENDJOBFINISH: WeChat's delivery report for a template message we sent."""
from handlers.context import Context
from wx_member.pushes import deliveries
from wx_member.wechat.inbound import TemplateSendFinished


def handle(session, event: TemplateSendFinished, ctx: Context) -> None:
    deliveries.template_finished(session, event.openid, event.msgid, event.status, event.at)
    return None
