"""zeropools: prefunded partner balances on an immutable, hash-chained ledger."""

__version__ = "0.1.0"
