"""The service layer: the only part of bot/ (with bot/runtime, which wires it) that reaches the
database, the adapters and the scheduler. Transports call it with specs (`bot.core.specs`: what
a person asked for, parsed the same way on every surface) and get records back (the specs'
records, `bot.core.records`, `domain`), never a request's dict or a database row; every unit of
work, every configuration change and its audit row, happens here, and a configuration write
tells every process's caches when it commits (`Services.configuring`)."""
