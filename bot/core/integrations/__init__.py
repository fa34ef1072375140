"""Integrations, channels and routes: administration, syncs and health checks."""
