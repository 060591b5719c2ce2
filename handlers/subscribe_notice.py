"""subscribe_msg_popup_event / subscribe_msg_change_event: a follower answered the Official
Account's subscribe-notice pop-up, or changed it in the notice settings; the grants bizsend
spends are counted (pushes/subscriptions.py). No reply: WeChat shows none."""
from handlers.context import Context
from wx_member.pushes import subscriptions
from wx_member.wechat.inbound import SubscribeNoticeChanged


def handle(session, event: SubscribeNoticeChanged, ctx: Context) -> None:
    subscriptions.oa_choices(session, event.openid, event.choices,
                             withdrawable=event.kind == "subscribe_msg_change_event")
    return None
