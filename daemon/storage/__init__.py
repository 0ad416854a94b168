"""Storage: SQLAlchemy Core tables, the database handle and the migrations runner."""
