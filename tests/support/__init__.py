"""Helpers shared by every test directory: one implementation of each.

How it is found: the test directories are not packages, and pytest (``prepend`` import mode)
puts the directory of every conftest and test module it imports at the front of ``sys.path``.
``tests/conftest.py`` sits in ``tests/``, so ``from support import ...`` works in any test or
helper module below it. The worker scripts (``services/payin_worker.py``,
``trading/trading_worker.py``) run outside pytest and put ``tests/`` on ``sys.path``
themselves.

Kept free of pytest at import time so those worker processes can import it too. Module names
must stay unique across ``tests/`` (hence ``support``, ``cli_support``, ``fuzz_support``...).
"""

from support.builders import (
    all_entries,
    balance_minor,
    entries_of,
    fund,
    new_partner_id,
    onboard,
    quote,
    reference_of,
    send_payin,
    spaced_lower,
    suspense,
    suspense_minor,
    typo,
)
from support.contexts import bearer, ctx_for, issue_operator_key, server_ctx
from support.databases import (
    PG_ADMIN_URL,
    open_test_store,
    opened_store,
    sqlite_url,
    throwaway_pg_database,
)
from support.fixtures import (
    all_files,
    bank_dir,
    camt_files,
    fixture_bytes,
    generate,
    mt940_files,
)
from support.http import (
    GENESIS_HASH,
    NO_KEY,
    PROBLEM_FIELDS,
    PROBLEM_JSON,
    Http,
    HttpPartner,
    Reader,
    app_client,
    assert_chained,
    assert_problem,
    assert_request_id,
    error_fields,
    post_partner,
    post_payin,
)

__all__ = [
    "GENESIS_HASH",
    "NO_KEY",
    "PG_ADMIN_URL",
    "PROBLEM_FIELDS",
    "PROBLEM_JSON",
    "Http",
    "HttpPartner",
    "Reader",
    "all_entries",
    "all_files",
    "app_client",
    "assert_chained",
    "assert_problem",
    "assert_request_id",
    "balance_minor",
    "bank_dir",
    "bearer",
    "camt_files",
    "ctx_for",
    "entries_of",
    "error_fields",
    "fixture_bytes",
    "fund",
    "generate",
    "issue_operator_key",
    "mt940_files",
    "new_partner_id",
    "onboard",
    "open_test_store",
    "opened_store",
    "post_partner",
    "post_payin",
    "quote",
    "reference_of",
    "send_payin",
    "server_ctx",
    "spaced_lower",
    "sqlite_url",
    "suspense",
    "suspense_minor",
    "throwaway_pg_database",
    "typo",
]
