"""Payments: orders and money.

Owns purchases and refunds whatever pays them (`orders`), the stored-value ledger and
recharges (`stored_value`), paying from the balance (`balance_payments`), the WeChat Pay
orders we create for the mini-program and their reconciliation (`wxpay_orders`), refunds of
recharges the shop starts (`recharge_refunds`), what a notify may disagree with
(`order_errors`) and the till's
member-code lookup (`cashier_desk`). Money is integer fen. Shipping and delivery, which
plan the order reminders, are in pushes (`pushes.fulfilment`).

Read model: `balance_view` (a member's stored value, its history and the recharge ladder).
"""
