"""Alembic migration scripts (run by gate.store.migrate; there is no env.py)."""
