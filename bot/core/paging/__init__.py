"""Paging people: escalation policies, how each person is reached, and the running policies."""
