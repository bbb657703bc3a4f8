"""Database access: SQLite and PostgreSQL connections, SQL text helpers, and the derived tables
SQLite keeps by triggers."""
