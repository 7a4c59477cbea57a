"""Pure domain: money, ids, ledger postings, references, errors, limits. No I/O, no clock."""
