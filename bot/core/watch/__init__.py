"""Watching every integration: scheduled syncs and connection health checks, and what they tell
tenant admins when something breaks."""
