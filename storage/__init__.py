"""Persistence: the schema, repositories returning `domain` records, and migrations."""
