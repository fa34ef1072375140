"""Assembling and running one process: the app factory and its lifecycle (migrations, the
shared-key check, workers, listeners), the scheduler's leader loop, and the server with its
request deadlines and body pools."""
