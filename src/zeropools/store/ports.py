"""Narrow storage ports, one per aggregate; ``protocol.Tx`` is all of them at once.

Why narrow: a function that only reads settings, or only moves trades, can say so in its
signature (``tx: TradesPort``) and a test double needs only that port's methods. Services still
take the whole ``Tx`` where a transaction spans aggregates (a trade posts to the ledger), so
splitting the ports changes no call site. The SQL behind each port lives in the module of the
same name under ``store/sql/``.

Times are RFC 3339 UTC text (``domain.clock.to_rfc3339``) wherever a port takes or returns a
``str`` named ``*_at``, ``created_gte`` or ``created_lt``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from zeropools.domain.deliveries import DeliveryAttempt, Redelivery
from zeropools.domain.events import Event
from zeropools.domain.exports import RenderedRow
from zeropools.domain.ledger import (
    Balance,
    EntryFilter,
    EntryRow,
    LedgerEntry,
    LedgerHead,
    PlatformEntry,
    Posting,
)
from zeropools.domain.paging import Page
from zeropools.domain.partners import ApiKey, Partner
from zeropools.domain.payins import Payin, ReferenceOwner
from zeropools.domain.periods import Period, SigningKey
from zeropools.domain.quotes import Quote, StoredQuote
from zeropools.domain.reconciliation import Acknowledgement
from zeropools.domain.sessions import DashboardSession, SessionKey
from zeropools.domain.trades import Refusal, Trade
from zeropools.domain.verify import TradeFacts
from zeropools.domain.webhook_endpoints import WebhookEndpoint

# A keyset cursor for newest-first streams: rows strictly before ``(created_at, id)``.
Before = tuple[str, str]


@dataclass(frozen=True)
class LedgerState:
    head: LedgerHead
    balances: Mapping[str, Balance]
    # read with the head (same row): a trade needs it and need not read the partner again
    balance_model: str = ""


@dataclass(frozen=True)
class IdempotencyRecord:
    scope: str
    key: str
    fingerprint: str
    request_id: str
    status_code: int | None
    response_body: bytes | None
    created_at: str
    completed_at: str | None


class ClaimLost(Exception):
    """A write was asked for while this transaction's idempotency claim had lost (the key was
    there already): nothing was written; the caller answers from the key instead."""


class Claim:
    """An idempotency key's claim that rides with the transaction's next statement
    (``IdempotencyPort.claim_idempotency``): on PostgreSQL in that statement's round trip,
    so a command whose first step is a read pays no round trip of its own for its key.

    Until it is decided, and while it has lost, the transaction queues no write: a write
    decides it first and raises ``ClaimLost`` rather than be written. So a command run for a
    key that was already there changes nothing, as when the claim was answered at once.
    """

    __slots__ = ("_send", "_won", "released")

    def __init__(self, send: Callable[[], None]) -> None:
        self._send = send  # sends the statements held back, this claim's among them
        self._won: bool | None = None
        self.released = False

    def decided(self, won: bool) -> None:
        self._won = won

    def won(self) -> bool:
        """Whether the key was claimed, sending the claim now if nothing has yet."""
        if self._won is None:
            self._send()
        assert self._won is not None, "the claim was sent but not answered"
        return self._won

    def release(self) -> None:
        """The caller has answered a lost claim from the key: writes are no longer held back
        by it (a won claim holds nothing back once decided)."""
        self.released = True


class SettingsPort(Protocol):
    """Deployment-wide key/value settings (mode, pinned currency scales)."""

    def get_setting(self, key: str) -> str | None: ...
    def set_setting(self, key: str, value: str) -> None: ...


class PartnersPort(Protocol):
    """Partners with their currencies and funding references, and API keys."""

    def insert_partner(self, partner: Partner, head_hash: str) -> None: ...
    def get_partner(self, partner_id: str) -> Partner | None: ...
    def list_partners(self, page: Page) -> list[Partner]: ...
    def partner_ids(self) -> list[str]: ...
    def reference_owners(self, funding_references: Sequence[str]) -> dict[str, ReferenceOwner]: ...
    def insert_api_key(self, key: ApiKey) -> None: ...
    def get_api_key(self, key_id: str) -> ApiKey | None: ...
    def api_key_by_hash(self, secret_hash: str) -> ApiKey | None: ...
    def list_api_keys(self, partner_id: str) -> list[ApiKey]: ...
    def list_operator_keys(self) -> list[ApiKey]: ...
    def upgrade_api_key_hash(
        self, key_id: str, old_hash: str, new_hash: str, scheme: str
    ) -> None: ...
    def set_api_key_origin(self, key_id: str, origin: str | None) -> None: ...
    def note_api_key_use(self, key_id: str, used_at: str) -> None: ...
    def revoke_api_key(self, key_id: str, revoked_at: str) -> None: ...


class LedgerPort(Protocol):
    """A partner's hash-chained entries and balances, and the platform's own journal.

    ``iter_entries`` and ``stream_entries`` are lazy: they hold one batch of rows at a time
    (a server-side cursor on PostgreSQL), so they are only valid inside the transaction that
    made them; used after it ends they raise instead of yielding a truncated ledger.
    """

    def lock_ledger(self, partner_id: str) -> LedgerState: ...
    def holds_ledger(self, partner_id: str) -> bool:
        """Whether this transaction has locked the partner's ledger (``lock_ledger``) and knows
        it still holds it: what it reads of that partner no other transaction can change."""
        ...

    def ledger_state(self, partner_id: str) -> LedgerState: ...
    def ledger_head(self, partner_id: str) -> LedgerHead: ...
    def append(self, posting: Posting) -> None: ...
    def get_entry(self, partner_id: str | None, entry_id: str) -> LedgerEntry | None: ...
    def list_entries(
        self, partner_id: str, where: EntryFilter, page: Page
    ) -> list[LedgerEntry]: ...
    def iter_entries(self, partner_id: str) -> Iterator[LedgerEntry]: ...
    def stream_entries(
        self,
        partner_id: str,
        *,
        currency: str | None = None,
        created_gte: str | None = None,
        created_lt: str | None = None,
        after_sequence: int = 0,
    ) -> Iterator[LedgerEntry]: ...
    def stream_entry_rows(
        self,
        partner_id: str,
        *,
        currency: str | None = None,
        created_gte: str | None = None,
        created_lt: str | None = None,
        after_sequence: int = 0,
        through_sequence: int | None = None,
    ) -> Iterator[list[EntryRow]]:
        """``stream_entries`` for bulk readers: batches of plain rows (``ENTRY_ROW_FIELDS``
        order) in sequence order, lazy in the same way; up to ``through_sequence`` if given
        (``verify``'s ranges)."""
        ...

    def stream_entry_hashes(self, partner_id: str) -> Iterator[list[tuple[int, str]]]:
        """Each entry's (sequence, hash) in sequence order, in batches, lazy as
        ``stream_entry_rows``: what holding published heads against the chain needs."""
        ...

    def stream_rendered_rows(
        self, partner_id: str, currency: str, created_gte: str, created_lt: str, scale: int
    ) -> Iterator[list[RenderedRow]]:
        """The currency's entries created in ``[created_gte, created_lt)`` as CSV export rows
        the database rendered (``domain.exports.RenderedRow``, amounts at ``scale``), in
        sequence order, in batches; lazy as ``stream_entry_rows``. Nothing is checked here:
        ``ExportWriter.rendered`` checks and falls back (store/sql/export_csv.py)."""
        ...

    def unwinds_of(self, partner_id: str, entry_id: str) -> list[int]:
        """The sequences of the partner's entries that name ``entry_id`` as the entry they
        unwind (at most one, unless the database was written behind the domain's back)."""
        ...

    def last_entry_before(
        self, partner_id: str, currency: str, created_lt: str
    ) -> LedgerEntry | None:
        """The currency's entry of highest sequence created before ``created_lt``."""
        ...

    def entry_at(self, partner_id: str, sequence: int) -> LedgerEntry | None: ...
    def insert_platform_entry(self, entry: PlatformEntry) -> None: ...
    def suspense_totals(self) -> dict[str, tuple[int, int]]: ...
    def entries_of_request(
        self, request_id: str, partner_id: str | None, limit: int
    ) -> list[LedgerEntry]:
        """Entries written by one request (a partner's, or anyone's), oldest first."""
        ...

    def sequence_bounds(
        self, partner_id: str, currency: str, created_gte: str, created_lt: str
    ) -> tuple[int | None, int | None]:
        """The first sequence created at or after ``created_gte`` and the last created before
        ``created_lt``, among the partner's entries in ``currency`` (None: there is none)."""
        ...

    def balance_through(self, partner_id: str, currency: str, sequence: int) -> Balance:
        """The ``currency`` balance right after entry ``sequence`` (zero before any entry)."""
        ...


class PayinsPort(Protocol):
    """Bank credits, keyed by our id and unique by the bank's transaction id."""

    def insert_payin(self, payin: Payin) -> None: ...
    def insert_payins(self, payins: Sequence[Payin]) -> None: ...
    def payins_by_bank_ids(self, bank_transaction_ids: Sequence[str]) -> dict[str, Payin]: ...
    def update_payin(self, payin: Payin) -> None: ...
    def get_payin(self, payin_id: str) -> Payin | None: ...
    def list_payins(
        self, partner_id: str | None, status: str | None, page: Page, flagged: bool | None = None
    ) -> list[Payin]: ...
    def stream_payins(
        self,
        partner_id: str,
        *,
        created_gte: str | None = None,
        created_lt: str | None = None,
        newest_first: bool = False,
        before: Before | None = None,
    ) -> Iterator[Payin]:
        """A partner's pay-ins by ``(created_at, id)``, lazily (valid inside its transaction)."""
        ...

    def payin_entries(
        self, partner_id: str, payin_ids: Sequence[str]
    ) -> dict[str, list[LedgerEntry]]: ...
    def payins_of_reference(self, funding_reference: str, limit: int) -> list[Payin]:
        """Pay-ins attributed by ``funding_reference``, newest first."""
        ...

    def payins_of_request(self, request_id: str) -> list[Payin]: ...


class TradesPort(Protocol):
    """Quotes, the trades that execute them, and refused executions."""

    def insert_quote(self, quote: Quote, request_id: str) -> None: ...
    def get_quote(self, quote_id: str) -> StoredQuote | None: ...
    def insert_trade(self, trade: Trade, request_id: str) -> None: ...
    def update_trade(self, trade: Trade, from_status: str) -> None: ...
    def get_trade(self, trade_id: str) -> Trade | None: ...
    def trade_partners(self, trade_ids: Sequence[str]) -> dict[str, str]:
        """Each found trade's partner (a trade's partner never changes)."""
        ...

    def list_trades(
        self,
        partner_id: str | None,
        *,
        partner_order_id: str | None,
        status: str | None,
        limit: int,
        starting_after: str | None,
    ) -> list[Trade]: ...
    def quote_and_order_trades(
        self, quote_id: str, partner_id: str, partner_order_id: str, limit: int
    ) -> tuple[StoredQuote | None, list[Trade]]:
        """``get_quote`` and ``list_trades`` of one order (newest first), read together."""
        ...

    def open_trades_before(self, created_before: str, limit: int) -> list[Trade]: ...
    def pending_totals(self, partner_id: str) -> dict[str, int]: ...
    def pending_totals_of(self, partner_ids: Sequence[str]) -> dict[str, dict[str, int]]: ...
    def trade_entries(
        self, partner_id: str, trade_ids: Sequence[str]
    ) -> dict[str, list[LedgerEntry]]: ...
    def stream_trade_rows(
        self, partner_id: str
    ) -> Iterator[list[tuple[TradeFacts, list[EntryRow]]]]:
        """Every trade of the partner by ``(created_at, id)`` as ``TradeFacts``, each with its
        entries' rows in sequence order, a batch of trades at a time, lazily: ``verify``'s
        bulk read (``trade_rows_sound``), where objects per row cost more than the check."""
        ...

    def insert_refusal(self, refusal: Refusal) -> None: ...
    def list_refusals(
        self,
        partner_id: str,
        *,
        partner_order_id: str | None,
        limit: int,
        starting_after: str | None,
    ) -> list[Refusal]: ...
    def stream_trades(
        self,
        partner_id: str,
        *,
        created_gte: str | None = None,
        created_lt: str | None = None,
        pool_id: str | None = None,
        newest_first: bool = False,
        before: Before | None = None,
    ) -> Iterator[Trade]:
        """A partner's trades by ``(created_at, id)``, lazily (valid inside its transaction)."""
        ...

    def trade_of_quote(self, quote_id: str) -> Trade | None: ...
    def trades_of_order(self, partner_id: str, partner_order_id: str) -> list[Trade]:
        """Every trade of one partner order (a retry after a release or failure), oldest first."""
        ...

    def quotes_of_order(self, partner_id: str, partner_order_id: str) -> list[Quote]: ...
    def refusals_of(
        self, partner_id: str, partner_order_id: str | None, quote_ids: Sequence[str]
    ) -> list[Refusal]:
        """Refused executions of an order, or of any of ``quote_ids``, oldest first."""
        ...

    def trades_of_request(self, request_id: str) -> list[Trade]: ...
    def quotes_of_request(self, request_id: str) -> list[Quote]: ...
    def refusals_of_request(self, request_id: str) -> list[Refusal]: ...


class IdempotencyPort(Protocol):
    """Idempotency keys: claimed with the request's effect, completed with its response."""

    def get_idempotency(self, scope: str, key: str) -> IdempotencyRecord | None: ...
    def insert_idempotency(self, record: IdempotencyRecord) -> None: ...
    def claim_idempotency(self, record: IdempotencyRecord) -> Claim:
        """Insert ``record`` unless its key exists (one statement, ``ON CONFLICT DO NOTHING``),
        sent with the next statement (see ``Claim``); the caller releases a lost claim once it
        has answered from the key. On PostgreSQL a key claimed by a transaction still open makes
        it wait for that one, then claim (it rolled back) or not (it committed)."""
        ...

    def complete_idempotency(
        self, scope: str, key: str, status_code: int, body: bytes, completed_at: str
    ) -> None: ...
    def release_idempotency(self, scope: str, key: str) -> None:
        """Undo this transaction's claim of the key (still incomplete): the key stays free."""
        ...


class EventsPort(Protocol):
    """The outbox: events per stream (a partner id, or the platform's), gap-free sequences."""

    def reserve_event_sequences(self, stream: str, count: int) -> int:
        """Take the stream's next ``count`` sequences; returns the first. Serializes writers
        of one stream until commit, so sequences are gap-free and in commit order."""
        ...

    def insert_events(self, events: Sequence[Event]) -> None: ...
    def list_events(
        self, stream: str, after_sequence: int, types: Sequence[str], limit: int
    ) -> list[Event]: ...
    def get_event(self, event_id: str) -> Event | None: ...
    def stream_published_heads(self, stream: str) -> Iterator[list[tuple[str, Any, Any]]]:
        """The ledger head each event of ``stream`` published, in sequence order, in batches
        (lazy as ``stream_entry_rows``): (event id, ``ledger_head.sequence``,
        ``ledger_head.hash``) as the database's JSON functions read them from the body, not
        converted (None and None: the event has no head object). For ``verify``, which reads
        every event: a ``json.loads`` of each whole body costs several times the read."""
        ...

    def last_event_sequence(self, stream: str) -> int:
        """The stream's last committed sequence (0 before its first event); every event up to
        it is visible, because a stream's events commit in sequence order."""
        ...

    def events_of(
        self,
        stream: str | None,
        *,
        request_ids: Sequence[str] = (),
        subject_ids: Sequence[str] = (),
        limit: int,
    ) -> list[Event]:
        """Events (of ``stream``, or of any) written by one of ``request_ids`` or about one of
        ``subject_ids`` (the id of their ``data.object``), oldest first."""
        ...


class WebhooksPort(Protocol):
    """Webhook endpoints with their delivery state, the attempt log, redeliveries.

    ``lease_*`` take due rows for ``owner`` until ``lease_expires_at``, skipping rows another
    worker holds (``FOR NO KEY UPDATE SKIP LOCKED`` on PostgreSQL; SQLite's write lock already
    makes the claim exclusive), and write the lease before the transaction commits. ``release_*``
    change the row only while ``owner`` still holds it, and say whether it did.
    """

    def insert_webhook_endpoint(self, endpoint: WebhookEndpoint) -> None: ...
    def get_webhook_endpoint(self, endpoint_id: str) -> WebhookEndpoint | None: ...
    def list_webhook_endpoints(self, partner_id: str, page: Page) -> list[WebhookEndpoint]:
        """The partner's enabled endpoints, newest first."""
        ...

    def count_webhook_endpoints(self, partner_id: str) -> int:
        """The partner's enabled endpoints."""
        ...

    def update_webhook_endpoint(self, endpoint: WebhookEndpoint) -> None:
        """Its configuration: status, deleted_at and secrets (never its delivery state)."""
        ...

    def webhook_work_due(self, now: str) -> bool:
        """Whether any endpoint or redelivery could be leased at ``now`` (a cheap read, so an
        idle worker need not open a write transaction to find nothing)."""
        ...

    def lease_webhook_endpoints(
        self, now: str, owner: str, lease_expires_at: str, limit: int
    ) -> list[WebhookEndpoint]:
        """Enabled endpoints due at ``now``, not leased (or the lease expired), with events
        after their cursor; earliest due first."""
        ...

    def release_webhook_endpoint(
        self,
        endpoint_id: str,
        owner: str,
        *,
        delivered_sequence: int,
        attempt: int,
        next_attempt_at: str,
    ) -> bool: ...
    def insert_webhook_delivery(self, attempt: DeliveryAttempt) -> None: ...
    def list_webhook_deliveries(
        self, partner_id: str, endpoint_id: str, page: Page
    ) -> list[DeliveryAttempt]:
        """The endpoint's attempt log, newest first."""
        ...

    def webhook_deliveries_of_events(
        self, partner_id: str, event_ids: Sequence[str], limit: int
    ) -> list[DeliveryAttempt]:
        """The attempts of ``event_ids`` on any of the partner's endpoints, oldest first, at
        most ``limit`` (a support timeline's read)."""
        ...

    def insert_webhook_redeliveries(self, redeliveries: Sequence[Redelivery]) -> None: ...
    def lease_webhook_redeliveries(
        self, now: str, owner: str, lease_expires_at: str, limit: int
    ) -> list[Redelivery]: ...
    def release_webhook_redelivery(
        self,
        redelivery_id: str,
        owner: str,
        *,
        status: str,
        attempt: int,
        next_attempt_at: str,
    ) -> bool: ...
    def cancel_webhook_redeliveries(self, endpoint_id: str) -> int:
        """Cancel the endpoint's pending redeliveries; how many there were."""
        ...


class ReconciliationPort(Protocol):
    """Acknowledgements of failed and returned movements: one per item, never changed."""

    def insert_acknowledgement(self, acknowledgement: Acknowledgement) -> None: ...
    def acknowledgements(
        self, partner_id: str, item_ids: Sequence[str]
    ) -> dict[str, Acknowledgement]: ...


class PeriodsPort(Protocol):
    """Closed periods with their signed checkpoints, published signing keys, and the
    reconciliation acknowledgements the close rule reads."""

    def acknowledged_ids(self, partner_id: str, object_ids: Sequence[str]) -> set[str]:
        """Which of ``object_ids`` (trade or pay-in ids) the partner has acknowledged."""
        ...

    def get_period(self, partner_id: str, date: str) -> Period | None: ...
    def insert_period(self, period: Period, request_id: str) -> None: ...
    def list_periods(self, partner_id: str) -> list[Period]: ...
    def signing_keys(self) -> list[SigningKey]: ...
    def register_signing_key(self, key: SigningKey, now: str) -> None:
        """Publish ``key`` if new and retire every other key still current."""
        ...


class SessionsPort(Protocol):
    """Dashboard sign-in sessions, by the sha256 of their token (issue 12)."""

    def insert_dashboard_session(self, session: DashboardSession) -> None: ...
    def dashboard_session(self, token_hash: str) -> SessionKey | None: ...
    def touch_dashboard_session(self, token_hash: str, seen_at: str) -> None: ...
    def end_dashboard_session(self, token_hash: str, ended_at: str) -> None: ...
    def purge_dashboard_sessions(self, idle_before: str, expired_before: str) -> int:
        """Delete ended sessions and those past either expiry; answers how many went."""
        ...
