"""Background jobs: one `job` table on both backends, run by procrastinate workers on PostgreSQL
and by an in-process worker on SQLite (tracker.jobs.workers). Imports only access."""
