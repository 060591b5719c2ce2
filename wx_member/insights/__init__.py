"""Insights: the programme's numbers, read only.

Owns the KPIs over a period of local days (`kpis`), push delivery rates per kind and
channel (`push_rates`), what each channel QR brought (`channel_view`), RFM scores (`rfm`),
segments as data and as SQL (`segments`, which campaigns target), push reach over time
(`reach_view`) and the member report (`reports`, and `profile_view`, its use case for the
CLI). Nothing here changes state.
"""
