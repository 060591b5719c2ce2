"""Insights: the programme's numbers, read only.

Owns the KPIs over a period of local days (`kpis`), RFM scores (`rfm`), segments as data and
as SQL (`segments`, which campaigns target) and the member report the CLI prints
(`reports`). Nothing here changes state.
"""
