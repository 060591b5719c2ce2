"""Payments: orders and money.

Owns purchases and refunds whatever pays them (`orders`), the stored-value ledger and
recharges (`stored_value`), paying from the balance (`balance_payments`), what a notify may disagree with
(`order_errors`) and the till's
member-code lookup (`cashier_desk`), the keys tills call /till/v1 with (`till_keys`). Money is integer fen. Shipping and delivery, which
plan the order reminders, are in pushes (`pushes.fulfilment`).

Read models: `balance_view` (a member's stored value, its history and the recharge ladder),
`benefits_view` (the benefits configuration).
"""
