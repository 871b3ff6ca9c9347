"""SQL adapters on SQLAlchemy 2 Core: one schema, two dialects (SQLite, PostgreSQL)."""
