"""Console: what operators do.

Owns operator accounts and their login limits (`operators`), the audit log (`audit`), the
custom menu (`menus`) and operators' work on members: search, profile, point adjustments,
tags, export (`member_admin`).
"""
