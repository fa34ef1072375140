"""The Slack transport: Bolt, request checks, OAuth install."""
