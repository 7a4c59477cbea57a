"""Every limit in one place, named with its unit last."""

from __future__ import annotations

# HTTP
REQUEST_BODY_BYTES_MAX = 1_048_576
IMPORT_FILE_BYTES_MAX = 20 * 1_048_576
PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 1000
API_KEY_USE_RESOLUTION_S = 60  # last_used_at is written at most this often per key
# trades of one partner_order_id looked at before another execution (all but released/failed
# ones refuse it, so more than a handful means retries after failures)
TRADES_PER_ORDER_MAX = 1000
EVENT_TYPE_FILTERS_MAX = 20  # ?type=a,b,... on GET /v1/events
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
TRANSACTION_RETRIES_MAX = 5
TRANSACTION_RETRY_BACKOFF_S = 0.005  # times the attempt number, between retries of a conflict
IN_LIST_VALUES_MAX = 500  # SQLite allows 32766 parameters, PostgreSQL 65535: far below both
ENTRY_READ_BATCH_ROWS = 1000  # verify streams a ledger in batches of this many entries

# Trading
QUOTE_TTL_S = 30
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

# Read transactions (store.reading): each pins a connection until its stream is done
SQLITE_READ_CONNECTIONS_MAX = 20  # open at once, as PG_CONNECTION_POOL_SIZE_MAX on PostgreSQL
SQLITE_READ_CONNECTION_WAIT_S = 30.0  # then TimeoutError, as psycopg_pool's own default wait

# webhooks
# Retries: backoff doubles from the base up to the cap; the jitter takes off up to a fraction of
# each delay, and the attempt count is chosen so that even the shortest jitters keep retrying
# for the whole window (API.md: "for at least 24 hours"); webhooks.retry_span_min_s() checks it.
WEBHOOK_ATTEMPTS_MAX = 39  # attempts per event and endpoint, the first one included
WEBHOOK_BACKOFF_BASE_S = 10  # the delay after the first failed attempt, before jitter
WEBHOOK_BACKOFF_CAP_S = 3600  # no delay between two attempts is longer than this
WEBHOOK_BACKOFF_JITTER_FRACTION = 0.2  # jitter shortens a delay by up to this fraction of it
WEBHOOK_RETRY_WINDOW_S = 24 * 3600  # attempts keep going at least this long before `failed`
# One attempt: a slow receiver must not hold a worker, and a trickling one not either.
WEBHOOK_CONNECT_TIMEOUT_S = 5.0
WEBHOOK_READ_TIMEOUT_S = 10.0  # per read (and per write) of the socket
WEBHOOK_TOTAL_TIMEOUT_S = 30.0  # the whole exchange, from connect to the last byte kept
WEBHOOK_RESPONSE_BODY_BYTES_MAX = 1024  # of the receiver's answer, kept for the delivery log
WEBHOOK_ERROR_CHARS_MAX = 300  # of the readable reason a failed attempt carries
WEBHOOK_LEASE_S = 60  # a worker's claim on a delivery; longer than one attempt can take
WEBHOOK_CONNECTIONS_MAX = 100  # attempts in flight through one sender client at once
# Secrets and endpoints
WEBHOOK_SECRET_BYTES = 32  # random bytes in the secrets we generate
WEBHOOK_SECRET_BYTES_MIN = 24  # Standard Webhooks: secrets are 24 to 64 bytes
WEBHOOK_SECRET_BYTES_MAX = 64
WEBHOOK_ROTATION_OVERLAP_DEFAULT_S = 24 * 3600  # both secrets sign this long after a rotation
WEBHOOK_ROTATION_OVERLAP_MAX_S = 7 * 24 * 3600
WEBHOOK_URL_CHARS_MAX = 2048  # what browsers and most servers accept in a request line

# Finance close
TZ_NAME_CHARS_MAX = 64  # IANA names are at most ~32 characters
EXPORT_CHUNK_BYTES = 65_536  # rows gathered per chunk a streamed export sends
OPEN_ITEMS_SHOWN_MAX = 100  # open items listed in a period_has_open_items refusal
