"""Alembic environment and versions. Run with ``paywatch db upgrade``; no alembic.ini."""
