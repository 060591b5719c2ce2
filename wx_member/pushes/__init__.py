"""Push kinds as data (definitions) and the Chinese holiday calendar."""
