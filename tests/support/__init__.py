"""Helpers shared by every test directory: one implementation of each, one home for each.

Layout (import any of these names from ``support`` itself; the modules only organise them):

- ``databases``: SQLite file URLs, throwaway PostgreSQL databases (empty, or migrated clones of a
  per-process template), opened (migrated) stores.
- ``contexts``: service-layer contexts per role (``ctx_for``, ``server_ctx``), operator keys,
  ``bearer`` headers.
- ``builders``: the service layer without HTTP: onboard, send pay-ins, fund, quote; read back
  ledgers, balances and the suspense account; the references people mistype.
- ``http``: the app client, response checks (``assert_problem``, ``assert_request_id``,
  ``error_fields``, ``assert_chained``), the bare calls ``post_partner``/``post_payin``, the
  partner value ``HttpPartner`` and the one HTTP driver ``Http``.
- ``soak``: the ``ZEROPOOLS_SOAK=1`` knob: ``sized(quick, soak)`` for loop sizes and examples.
- ``fixtures``: bank statements: the real samples in ``../shared/fixtures/bank`` and the camt
  generator.
- ``processes`` (imported as ``support.processes``, not re-exported here): the installed
  ``zeropools`` command as one-shot runs and as ``serve``/``worker`` daemons a test can SIGKILL
  and start again (the CLI tests and ``tests/reliability`` use it).

What stays beside the tests is one area's own machinery: ``cli/cli_support.py`` (the CLI
tests' names for ``support.processes``, and ``mismatch_lines``), ``api/fuzz_support.py`` (the
fuzzer's world and response contract), ``client/client_support.py`` (a scripted fake API for
the Python client), ``reliability/reliability_support.py`` (the bank workload and its checker).

How it is found: the test directories are not packages, and pytest (``prepend`` import mode)
puts the directory of every conftest and test module it imports at the front of ``sys.path``.
``tests/conftest.py`` sits in ``tests/``, so ``from support import ...`` works in any test or
helper module below it. The worker scripts (``services/payin_worker.py``,
``trading/trading_worker.py``) run outside pytest and put ``tests/`` on ``sys.path``
themselves.

Kept free of pytest at import time so those worker processes can import it too (only
``throwaway_pg_database`` imports pytest, to skip when ``ZEROPOOLS_SKIP_PG=1``). Module names
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
    counted_pipelining,
    drop_templates,
    migrated_pg_database,
    migrated_sqlite_url,
    open_test_store,
    opened_store,
    recorded_calls,
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
    live_server,
    post_partner,
    post_payin,
)
from support.soak import SOAK, sized

__all__ = [
    "GENESIS_HASH",
    "NO_KEY",
    "PG_ADMIN_URL",
    "PROBLEM_FIELDS",
    "PROBLEM_JSON",
    "SOAK",
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
    "counted_pipelining",
    "ctx_for",
    "drop_templates",
    "entries_of",
    "error_fields",
    "fixture_bytes",
    "fund",
    "generate",
    "issue_operator_key",
    "live_server",
    "migrated_pg_database",
    "migrated_sqlite_url",
    "mt940_files",
    "new_partner_id",
    "onboard",
    "open_test_store",
    "opened_store",
    "post_partner",
    "post_payin",
    "quote",
    "recorded_calls",
    "reference_of",
    "send_payin",
    "server_ctx",
    "sized",
    "spaced_lower",
    "sqlite_url",
    "suspense",
    "suspense_minor",
    "throwaway_pg_database",
    "typo",
]
