"""The command grammar Slack and Teams share, its commands and forms."""
