"""`python -m bot` is the `chatops` command."""

from bot.cli.main import main

raise SystemExit(main())
