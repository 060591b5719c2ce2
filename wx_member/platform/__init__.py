"""Platform: what every area stands on.

Owns domain errors (`errors`), operator-changed settings (`settings`), leases that say which
process may act (`leases`), inbound WeChat events processed once (`events`), the
mini-program's signed tokens (`access_tokens`), cursor paging (`paging`), routine clean-up
(`housekeeping`) and data-rights requests (`privacy`).
"""
