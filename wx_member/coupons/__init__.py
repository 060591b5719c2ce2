"""Coupons: templates and the coupons members hold.

Owns coupon templates (`templates`), where their coupons can be used (`store_scope`: some
stores or every store) and how many they may issue (`stock`), issuing, redeeming, expiring
and voiding a coupon (`wallet`, its refusals in `refusals`), issuing in bulk to a list or a
tier (`bulk_issue`) and giving coupons back when their order is refunded (`returns`).

Read models: `wallet_view` (a member's own coupons, as the mini-program shows them),
`templates_view` (templates as operators list them).
"""
