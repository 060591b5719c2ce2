"""Coupons: templates and the coupons members hold.

Owns coupon templates (`templates`), where their coupons can be used (`store_scope`: some
stores or every store) and how many they may issue (`stock`), issuing a coupon (`wallet`),
redeeming, expiring and voiding one (`redeeming`; the refusals in `refusals`), issuing in bulk
to a list or a tier (`bulk_issue`) and giving coupons back when their order is refunded
(`returns`).

Read models: `wallet_view` (a member's own coupons, as the mini-program shows them),
`templates_view` (templates as operators list them).
"""
