"""Alembic migrations of the SQL adapters (shipped in the package)."""
