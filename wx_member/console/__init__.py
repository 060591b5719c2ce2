"""Console: what operators do.

Owns operator accounts and their login limits (`operators`), the custom menu (`menus`) and
operators' work on members: search, profile, point adjustments, tags, export
(`member_admin`); preference tag rules and their daily job (`tag_rules`), listed with
their holders (`tag_rules_view`). The audit log operators read is written by every area: it is in platform
(`platform.audit`).
"""
