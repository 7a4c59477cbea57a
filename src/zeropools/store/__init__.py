"""Storage: the protocol services use (``protocol.Store``/``Tx``, made of the per-aggregate
``ports``), the SQL per aggregate (``sql``), and the SQLite and PostgreSQL stores."""
