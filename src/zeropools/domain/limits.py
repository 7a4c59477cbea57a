"""Every limit in one place, named with its unit last."""

from __future__ import annotations

# HTTP
REQUEST_BODY_BYTES_MAX = 1_048_576
IMPORT_FILE_BYTES_MAX = 20 * 1_048_576
PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 1000
IDEMPOTENCY_KEY_CHARS_MAX = 255

# Money: 10^15 minor units is 10 trillion EUR; far above any funded program, far below 2^63.
AMOUNT_MINOR_MAX = 10**15
CURRENCY_SCALE_MAX = 18
AMOUNT_TEXT_CHARS_MAX = 40  # far more than 10^15 with 18 decimals needs

# Text fields
ID_CHARS_MAX = 64  # our ids are a prefix and 26 characters; room for pool ids and growth
IBAN_TEXT_CHARS_MAX = 42  # ISO 13616: 34 characters, printed with a space every four
PAYMENT_REFERENCE_CHARS_MAX = 140  # a SEPA remittance field
DEBTOR_NAME_CHARS_MAX = 200
PARTNER_NAME_CHARS_MAX = 200
REMITTANCE_INFO_CHARS_MAX = 1000
BANK_TRANSACTION_ID_CHARS_MAX = 200
REASON_CHARS_MAX = 500
CURRENCIES_PER_PARTNER_MAX = 20

# Storage
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECTION_POOL_SIZE_MAX = 20
# the one connection attempt made before a PostgreSQL pool is opened: an unreachable server is
# one clear error after this long, not a pool retrying (and warning) for half a minute
PG_CONNECT_PROBE_TIMEOUT_S = 5
TRANSACTION_RETRIES_MAX = 5
TRANSACTION_RETRY_BACKOFF_S = 0.005  # times the attempt number, between retries of a conflict
IN_LIST_VALUES_MAX = 500  # SQLite allows 32766 parameters, PostgreSQL 65535: far below both
ENTRY_READ_BATCH_ROWS = 1000  # verify streams a ledger in batches of this many entries

# Trading
QUOTE_TTL_S = 30
# how far a venue's delivered amount may be from the quoted target and still settle (100 bps =
# 1 %); beyond it a settle is refused as a mistyped or wrong report. Overridden by
# ZEROPOOLS_DELIVERY_TOLERANCE_BPS.
DELIVERY_TOLERANCE_BPS = 100
BPS_PER_UNIT = 10_000
RATE_DECIMALS_MAX = 12
VENUE_SIMULATOR_DELAY_S = 5
VENUE_SIMULATOR_INTERVAL_S = 1.0
VENUE_SIMULATOR_BATCH_MAX = 100
PARTNER_ORDER_ID_CHARS_MAX = 200
DESTINATION_CHARS_MAX = 200
TX_HASH_CHARS_MAX = 200
IMPORT_CHUNK_CREDITS = 500
GROUP_COMMIT_COMMANDS_MAX = 64  # commands of one partner sharing one transaction
# commands waiting behind one partner's running batch; beyond it a request fails fast with 503
# (a queue this deep already waits ~GROUP_COMMIT_QUEUE_MAX / GROUP_COMMIT_COMMANDS_MAX commits)
GROUP_COMMIT_QUEUE_MAX = 1024
OVERLOADED_RETRY_AFTER_S = 1  # what a 503 overloaded tells the caller to wait
