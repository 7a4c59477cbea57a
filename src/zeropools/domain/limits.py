"""Every limit in one place, named with its unit last."""

from __future__ import annotations

# HTTP
REQUEST_BODY_BYTES_MAX = 1_048_576
IMPORT_FILE_BYTES_MAX = 20 * 1_048_576
PAGE_SIZE_DEFAULT = 100
PAGE_SIZE_MAX = 1000
# a request body must have arrived this long after the app first reads it (else 408): a client
# trickling bytes cannot hold a connection and a worker forever; 20 MiB imports need ~3 Mbit/s
REQUEST_BODY_TIMEOUT_S = 60.0
# a connection must deliver its request line and headers within this (else it is closed)
REQUEST_HEADER_TIMEOUT_S = 10.0
API_KEY_USE_RESOLUTION_S = 60  # last_used_at is written at most this often per key
# Dashboard sessions (issue 12): ended after this long without a request, and this long after
# sign-in whatever happens; last_seen_at is written at most once per resolution
DASHBOARD_SESSION_IDLE_S = 30 * 60
DASHBOARD_SESSION_ABSOLUTE_S = 12 * 3600
DASHBOARD_SESSION_TOUCH_RESOLUTION_S = 60
DASHBOARD_LEDGER_PAGE_ROWS = 100  # ledger rows per dashboard page
DASHBOARD_CHART_ENTRIES_MAX = 500  # entries the balance chart reads (the latest ones)
# trades of one partner_order_id looked at before another execution (all but released/failed
# ones refuse it, so more than a handful means retries after failures)
TRADES_PER_ORDER_MAX = 1000
# a sequence number past every stream's (and within a signed 64-bit column): a cursor beyond it
# is refused as invalid instead of overflowing the database driver
SEQUENCE_MAX = 2**62
EVENT_TYPE_FILTERS_MAX = 20  # ?type=a,b,... on GET /v1/events
IDEMPOTENCY_KEY_CHARS_MAX = 255

# Money: 10^15 minor units is 10 trillion EUR; far above any funded program, far below 2^63.
AMOUNT_MINOR_MAX = 10**15
# the most a balance account may hold, in minor units: far below the 64-bit columns (9.2 x 10^18),
# so no sum of a partner's accounts can overflow them; a posting past it is refused
BALANCE_MINOR_MAX = 10**16
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
# verify and the export read plain rows in batches of this many: fewer round trips on a
# server-side cursor, a few MB held at most
BULK_READ_BATCH_ROWS = 5000

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

# Reconciliation, support and balance changes (issue 9)
# A partner's order file: 100k rows of CSV are ~12 MB, of JSON lines ~25 MB; room for wide rows.
RECONCILIATION_FILE_BYTES_MAX = 64 * 1_048_576
RECONCILIATION_FILE_ROWS_MAX = 1_000_000  # data rows of one file; beyond it the file is refused
# a file is held on disk while matched (read twice): this much of it stays in memory first
RECONCILIATION_SPOOL_MEMORY_BYTES = 1_048_576
MATCH_TOLERANCE_DEFAULT_S = 300  # amount + time matching: how far apart the two times may be
MATCH_TOLERANCE_MAX_S = 7 * 24 * 3600
MATCH_ERRORS_LISTED_MAX = 1000  # bad rows listed in a JSON answer (counted beyond; x-ndjson: all)
RECONCILIATION_DAYS_MAX = 31  # days one file (or request) may span; more: ask with ?date=
# days asked for or spanned: within these years a day, and a week either side, has UTC bounds
DAY_YEAR_MIN = 1970
DAY_YEAR_MAX = 9998
RECONCILIATION_READ_BATCH_ROWS = 500  # day rows whose entries and acknowledgements load at once
ACKNOWLEDGEMENT_NOTE_CHARS_MAX = 500
SUPPORT_PACKET_PAYINS_MAX = 100  # pay-ins of one funding reference in a packet, newest first
SUPPORT_PACKET_ENTRIES_MAX = 1000  # entries of one story; a trade's story has two or three
BALANCE_CHANGES_WINDOW_DAYS_MAX = 366
# commands sharing one transaction: one partner's, or (PostgreSQL, merged) several partners'
GROUP_COMMIT_COMMANDS_MAX = 64
# commands waiting behind one partner's running batch; beyond it a request fails fast with 503
# (a queue this deep already waits ~GROUP_COMMIT_QUEUE_MAX / GROUP_COMMIT_COMMANDS_MAX commits)
GROUP_COMMIT_QUEUE_MAX = 1024
OVERLOADED_RETRY_AFTER_S = 1  # what a 503 overloaded tells the caller to wait
# threads that drive the lanes the API's event loop feeds (PostgreSQL: the merged writers, and
# the lanes of a merged batch that gave up a lock wait, each on its own; SQLite has one, its
# single writer); each holds a pooled connection while it commits
GROUP_COMMIT_WRITER_THREADS = 8
# merged batches (PostgreSQL: several partners' commands in one transaction) running at once
# in one process
GROUP_COMMIT_MERGED_WRITERS = 1
# how long a merged batch waits for a lock held outside it (another process's batch, an
# operator's transaction) before it is undone and each of its lanes runs on its own, so that
# only the blocked partner waits on; longer than a batch holds a partner's lock (a few ms to
# tens of ms), short enough that the other partners barely notice
GROUP_COMMIT_MERGED_LOCK_WAIT_MS = 500
# an authenticated API key is trusted from the process's cache this long; a revocation made
# in this process is seen at once, one made by another process within this time
API_KEY_CACHE_TTL_S = 2.0
SERVE_WORKER_HEALTHCHECK_S = 60  # serve --workers: how long a worker may take to answer
API_KEY_CACHE_SIZE_MAX = 10_000  # keys remembered per process; beyond it the cache starts over

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
# Workers: each process runs this many attempts at once, one per leased endpoint, so a slow
# endpoint holds one thread for at most WEBHOOK_TOTAL_TIMEOUT_S and never the others.
WEBHOOK_WORKER_THREADS = 8
WEBHOOK_POLL_INTERVAL_S = 1.0  # an idle worker looks for due work this often
WEBHOOK_TICK_ATTEMPTS_MAX = 100  # attempts one deliver_once call makes at most
WEBHOOK_WORKER_STOP_WAIT_S = WEBHOOK_TOTAL_TIMEOUT_S + 5  # in-flight attempts end within this
# Secrets and endpoints
WEBHOOK_SECRET_BYTES = 32  # random bytes in the secrets we generate
WEBHOOK_SECRET_BYTES_MIN = 24  # Standard Webhooks: secrets are 24 to 64 bytes
WEBHOOK_SECRET_BYTES_MAX = 64
WEBHOOK_ROTATION_OVERLAP_DEFAULT_S = 24 * 3600  # both secrets sign this long after a rotation
WEBHOOK_ROTATION_OVERLAP_MAX_S = 7 * 24 * 3600
WEBHOOK_URL_CHARS_MAX = 2048  # what browsers and most servers accept in a request line
WEBHOOK_ENDPOINTS_PER_PARTNER_MAX = 16  # enabled ones; each is a delivery queue of its own
WEBHOOK_DESCRIPTION_CHARS_MAX = 500

# Finance close
TZ_NAME_CHARS_MAX = 64  # IANA names are at most ~32 characters
EXPORT_CHUNK_BYTES = 65_536  # rows gathered per chunk a streamed export sends
OPEN_ITEMS_SHOWN_MAX = 100  # open items listed in a period_has_open_items refusal
