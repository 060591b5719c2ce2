"""Loyalty: points and tiers.

Owns the points ledger (`points`, the only way a points balance changes), lots and their
expiry (`points_expiry`; the daily run from its last mark, `expiry_run`), tiers and what a
payment earns (`tiers`), dated earn rules such as double-points days (`earn_rules`), the
yearly tier review (`tier_review`), birthday points (`birthday_bonus`) and spending points:
what every redemption shares and cash off an order (`redemption`), the gift catalogue and
redeeming a gift (`gift_catalogue`).

Read models: `redemptions_view` (the mini-program's gift catalogue and a member's
redemptions), `catalogue_view` and `earn_rules_view` (what operators list).
"""
