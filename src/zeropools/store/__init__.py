"""Storage: one protocol (``protocol.Store``), SQLite and PostgreSQL implementations."""
