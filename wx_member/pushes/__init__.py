"""Pushes: every message we send a member without being asked.

Owns push kinds as data (`definitions`, from templates_msg/), the greeting calendar
(`calendar`), planners that decide who gets which kind on which occasion (`planners`,
`order_planners`, `notice_planners`: the service notices of payments, adjustments, tier
moves and the coming tier review; `balance_notices`: stored value recharged, paid, low)
and the fan-out machinery they share (`fanout`), the
channel chosen per member and the forecast (`reach`), deliveries, each a row before it is
an HTTP call (`deliveries`), mass sends by openid list with WeChat's clientmsgid
(`mass_sends`, by tag too; a send to a tag by name, checked, for the console's 群发:
`tag_sends`), the programme's tags and segments as WeChat user tags
(`wechat_tags`; who carries which: `segment_tags`), dry runs and previews (`dry_runs`), mini-program
subscribe-message grants (`subscriptions`), console campaigns (`campaigns`; planned at their
time and forecast: `campaign_runs`) and shipping and delivery reported by the shop (`fulfilment`: shipping plans the 发货提醒 in the same
transaction, delivery starts the usage guide's clock).

Read models: `status_view` (deliveries counted by kind and status), `mass_view` (the tags
at WeChat with their members, the latest mass sends with WeChat's report).
"""
