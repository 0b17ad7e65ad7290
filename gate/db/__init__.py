"""Storage: SQLModel tables, engine/session, migrations (alembic, shipped in ``migrations/``), filing registry
writes and lookups, stored checks and the audit trail. SQLite by default, PostgreSQL in production."""
