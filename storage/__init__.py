"""Persistence: the schema, repositories returning `bot.model` objects, and migrations."""
