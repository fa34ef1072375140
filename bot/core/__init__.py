"""The service layer: the only part of bot/ that talks to the database and the adapters."""
