"""Storage: SQLAlchemy Core tables, engines, the one writer, and Alembic migrations."""
