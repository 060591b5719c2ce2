"""Members: who belongs to the programme and how they got in.

Owns the member row, its card number and finding a member (`membership`), joining by
subscribe or QR scan and leaving (`joining`), channel QR codes and their statistics
(`channels`), the chain's stores and a member's home store (`stores`), referrals and a member's own referral code (`referrals`, `referral_codes`),
daily check-in (`checkin`), the mini-program login and profile (`miniapp`), the dynamic
member code shown at the till, single use (`member_codes`), CSV import (`member_import`),
what a phone, openid or tag looks like (`formats`), data-rights requests, export and
erasure, also in the audit log (`privacy`, `privacy_export`, `privacy_audit`), card loss and
reissue (`cards`), and one person, one member: merging duplicates, automatically or by an
operator, and undoing a merge (`merging`, `auto_merging`, `unmerging`).

Read models: `card_view` (what a member sees of their own card), `lookup_view` (a member by
openid or card number), `channels_view` (what each channel brought), `duplicates_view` (the
members who look like the same person as one member: same phone, unionid, or name and
birthday).
"""
