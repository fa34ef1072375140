"""The chat-ops bot: alerts into Slack and Microsoft Teams, acted on from chat."""
