"""The HTTP surface: REST, hooks, provider hooks, pages, ops; translation only."""
