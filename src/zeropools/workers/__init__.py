"""Background work: the venue simulator for the demo (webhook delivery and sweeps come later)."""
