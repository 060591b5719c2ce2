"""Payments: orders and money.

Owns purchases whatever pays them (`orders`) and their refunds (`order_refunds`), the
stored-value ledger and recharges (`stored_value`), paying from the balance
(`balance_payments`), the WeChat Pay orders we create for the mini-program (`wxpay_orders`)
and what WeChat Pay says of them: notifies, queries, reconciliation (`wxpay_settlement`),
refunds of recharges the shop starts (`recharge_refunds`), 付费会员 products and the paid tier
bought through them (`paid_memberships`) and their refunds (`membership_refunds`), what a
notify may disagree with (`order_errors`) and the till's member-code lookup
(`cashier_desk`), the keys tills call /till/v1 with (`till_keys`). The till's member
benefits (`benefits`: tier discounts, member days; `price_lists`), what a basket costs a
member (`pricing`), the till's quote and purchases (`till_orders`, input checks in `basket`)
and refunds (`till_refunds`), a WeChat Pay transaction credited once by its notify or a
till's part (`wechat_parts`). Money is integer fen. Shipping and delivery, which plan the
order reminders, are in pushes (`pushes.fulfilment`).

Read models: `balance_view` (a member's stored value, its history and the recharge ladder),
`benefits_view` (the benefits configuration).
"""
