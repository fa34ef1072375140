"""Alerts out: the outbox worker, rate limits and delivery records."""
