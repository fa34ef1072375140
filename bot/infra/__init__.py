"""Settings, secrets, logs, metrics and the JSON reader: what every layer leans on."""
