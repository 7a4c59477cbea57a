"""File formats at the edges, pure on bytes: partner order files in (``orders``).

Nothing here knows money, time or the ledger: a format module turns bytes into text fields with
line numbers and says which lines it could not read; the domain types the fields.
"""
