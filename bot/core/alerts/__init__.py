"""Alerts in: normalising, ingest, routing, defaults, preferences, actions, notices."""
