"""Alembic migration scripts (run by gate.db.migrate; there is no env.py)."""
