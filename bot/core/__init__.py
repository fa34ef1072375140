"""The service layer: the only part of bot/ (with bot/runtime, which wires it) that reaches the
database, the adapters and the scheduler. Transports call it and get plain records back;
every unit of work, every configuration change and its audit row, happens here."""
