"""APScheduler wiring and job functions whose arguments are ids."""
