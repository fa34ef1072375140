"""`python -m bot` is the `chatops` command."""

from bot.cli import main

raise SystemExit(main())
