"""One module per external system, behind the small protocol in `adapters.base`."""
