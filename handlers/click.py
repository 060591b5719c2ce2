"""CLICK on a custom-menu button. Keys are the contract with the menu definition."""
from handlers.context import Context
from wx_member.labels import tier_name
from wx_member.members import checkin
from wx_member.members import membership
from wx_member.wechat.inbound import MenuClicked

POINTS, CARD, CHECKIN = "POINTS", "CARD", "CHECKIN"
KEYS = (CHECKIN, POINTS, CARD)  # what the console's menu editor offers (labels.MENU_CLICK_KEYS)


def handle(session, event: MenuClicked, ctx: Context) -> str | None:
    if event.key not in (POINTS, CARD, CHECKIN):
        return None
    member = membership.require(session, event.openid)
    if event.key == POINTS:
        return ctx.replies.render("points", points=member.points_balance, tier=tier_name(member.tier))
    if event.key == CARD:
        return ctx.replies.render("card", card_no=member.card_no, tier=tier_name(member.tier))
    result = checkin.check_in(session, member, event.at, ctx.tz)
    if result.awarded:
        return ctx.replies.render("checkin_ok", awarded=result.awarded, points=result.balance)
    if result.already:
        return ctx.replies.render("checkin_again", points=result.balance)
    return ctx.replies.render("checkin_closed")
