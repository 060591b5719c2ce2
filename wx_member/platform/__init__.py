"""Platform: what every area stands on.

Owns domain errors (`errors`), operator-changed settings (`settings`, read by
`settings_view`), the audit log every
area writes (`audit`), the ledger primitive under points and stored value and the member
row lock (`ledger`), leases that say which process may act (`leases`), inbound WeChat
events processed once (`events`), the mini-program's signed tokens (`access_tokens`),
keyset batches for jobs that walk a large table (`keyset`), cursor paging for what a member
reads page by page (`paging`), routine clean-up (`housekeeping`) and what a former card
number names, lost or merged (`card_numbers`). It imports no other area.
"""
