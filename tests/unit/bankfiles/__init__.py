"""Tests of zeropools.bankfiles (a package, so its modules can share the camt generator)."""
