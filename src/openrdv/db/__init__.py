"""Database access: connections for SQLite and PostgreSQL, schema, migrations."""
