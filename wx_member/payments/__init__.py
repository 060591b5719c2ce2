"""Payments: orders and money.

Owns purchases and refunds whatever pays them (`orders`), the stored-value ledger and
recharges (`stored_value`), paying from the balance (`balance_payments`), shipping and
delivery reported by the shop (`fulfilment`) and the till's member-code lookup
(`cashier_desk`). Money is integer fen.

Read model: `balance_view` (a member's stored value and its history).
"""
