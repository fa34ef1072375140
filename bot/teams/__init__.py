"""The Teams transport: botbuilder and token checks."""
