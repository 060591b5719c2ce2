"""Everything that speaks WeChat: the outbound API gateway and the inbound message codec."""
