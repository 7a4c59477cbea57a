"""The world the OpenAPI fuzz test runs against, and the checks it applies to every response.

Built through ``zeropools.services`` (no HTTP), on one SQLite database: an operator key, a funded
debit-model partner whose ``partner_server`` key is the second caller, a reserve-model partner
whose ``partner_server`` key is the third (``owned`` lists each partner's ids, which the other's
key must never be shown),
pay-ins in each status, quotes, trades in several states and their ledger entries, a webhook
endpoint with its events queued. The ids are offered to the fuzzer (see ``KNOWN`` and the hooks
in ``test_fuzz_openapi.py``) so generated requests reach past ``not_found`` into the handlers'
real paths.

``statement_files`` adds one valid MT940, camt.053 and camt.054 file, which the import hook
sends whole or cut short. ``problem_violations`` is the response contract the fuzz test checks.
Free of pytest and schemathesis, so it reads as plain setup code.
"""

from __future__ import annotations

import json
import secrets
import shutil
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from support.fixtures import generate
from support.http import PROBLEM_FIELDS, PROBLEM_JSON
from zeropools.bankfiles import parse_statement
from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids
from zeropools.domain.ledger import LedgerEntry
from zeropools.domain.paging import Page
from zeropools.services import events, partners, trading, webhook_endpoints
from zeropools.services import payins as payin_service
from zeropools.services.context import Actor, Ctx, Deployment
from zeropools.store.open import open_store

# The funded partner keeps this much even if the fuzzer returns the one funding pay-in it sees.
HIDDEN_FUNDING_EUR = "250000.00"
VISIBLE_FUNDING_EUR = "1000.00"


@dataclass
class World:
    dep: Deployment
    operator_secret: str
    server_secret: str  # partner_server key of the funded partner
    funded_partner_id: str
    other_server_secret: str = ""  # partner_server key of the reserve partner: the second tenant
    # partner id -> the ids of its objects (and its funding references): what the other
    # partner's key must never be shown
    owned: dict[str, frozenset[str]] = field(default_factory=dict)
    # field name (path, query or JSON body) -> real values the fuzzer may substitute
    known: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # valid bank statement files (MT940, camt.053, camt.054) crediting the seeded partners
    statements: tuple[bytes, ...] = ()
    # the seeded database as built, before any request: what ``replica`` starts from
    seed: Path | None = None
    settings: Settings | None = None

    def close(self) -> None:
        self.dep.store.close()

    def replica(self, directory: Path) -> tuple[Deployment, Path]:
        """A deployment on a fresh copy of the seeded database: the same ids and keys, none of
        what earlier requests did. Stateful chains each start from one, so hypothesis replays
        a failing chain against the state it first ran on (a shared, mutated world made the
        replay take other branches: ``FlakyStrategyDefinition`` hid the first failure)."""
        assert self.seed is not None and self.settings is not None
        db = directory / f"replica-{secrets.token_hex(6)}.db"
        shutil.copyfile(self.seed, db)
        settings = replace(self.settings, db_url=f"sqlite:///{db}")
        return deployment(settings, open_store(settings.db_url)), db


def statement_files(funded_ref: str, reserve_ref: str) -> tuple[bytes, ...]:
    """One small valid file per format, each with credits the importer attributes."""
    mt940 = "\n".join(
        [
            ":20:FUZZSTMT",
            ":25:DE89370400440532013000",
            ":28C:00042/001",
            ":60F:C240501EUR0,00",
            ":61:2405020502C25,00NTRFNONREF//FUZZ-MT-1",
            f":86:166?00GUTSCHRIFT?20SVWZ+{funded_ref}",
            ":61:2405020502D5,00NTRFNONREF//FUZZ-MT-2",
            ":62F:C240502EUR20,00",
            "-",
            "",
        ]
    ).encode()
    entry, detail = generate.Entry, generate.Detail
    camt053 = generate.camt053(
        [
            entry(
                amount="30.00",
                details=(detail(end_to_end_id="FUZZ-CAMT-1", reference=funded_ref),),
            ),
            entry(
                amount="7.00",
                status="PDNG",
                details=(detail(end_to_end_id="FUZZ-CAMT-2", reference=reserve_ref),),
            ),
        ]
    )
    camt054 = generate.camt054(
        [
            entry(
                amount="11.00",
                details=(
                    detail(end_to_end_id="FUZZ-CAMT-3", unstructured=(f"top-up {reserve_ref}",)),
                ),
            )
        ]
    )
    files = (mt940, camt053, camt054)
    for data in files:
        assert parse_statement(data).credits, data[:80]
    return files


def _ctx(role: str, partner_id: str | None = None, key_id: str | None = None) -> Ctx:
    return Ctx(
        request_id=ids.new_id(ids.REQUEST),
        now=datetime.now(UTC),
        actor=Actor(key_id=key_id or ids.new_id(ids.API_KEY), role=role, partner_id=partner_id),
    )


def _payin(
    dep: Deployment,
    ctx: Ctx,
    amount: str,
    *,
    reference: str | None,
    booking_status: str = "booked",
    remittance_info: str | None = None,
) -> payin_service.Recorded:
    note = payin_service.notification(
        dep,
        bank_transaction_id=f"fuzz-bank-{secrets.token_hex(6)}",
        amount=amount,
        currency="EUR",
        booking_status=booking_status,
        reference=reference,
        remittance_info=remittance_info,
        debtor_name="Fuzz Debtor GmbH",
    )
    return payin_service.record_payin(dep, ctx, note)


def _trade(dep: Deployment, partner_id: str, amount: str, order_id: str) -> trading.TradeView:
    ctx = _ctx("partner_server", partner_id)
    quote = trading.create_quote(
        dep, ctx, pool_id="EUR-USDT", source_amount=amount, partner_order_id=order_id
    )
    return trading.execute_trade(dep, ctx, quote_id=quote.quote.id, partner_order_id=order_id)


def _entries(dep: Deployment, partner_id: str) -> list[LedgerEntry]:
    return dep.store.read(lambda tx: list(tx.iter_entries(partner_id)))


def build_world(db_url: str, seed: Path | None = None) -> World:
    """The seeded world on ``db_url`` (SQLite); with ``seed``, also a copy of it as built, for
    ``World.replica``."""
    store = open_store(db_url)
    initialize(store, "test")
    # a pepper of its own, so a replica of the file (elsewhere) reads the same key hashes
    settings = Settings(db_url=db_url, key_pepper=secrets.token_urlsafe(32))
    dep = deployment(settings, store)
    operator_key = partners.new_operator_key(dep, _ctx("operator"))
    op = _ctx("operator", key_id=operator_key.key.id)

    funded = partners.create_partner(
        dep, op, name="Fuzz Funded Wallet", balance_model="debit", currencies=["EUR"]
    )
    reserve = partners.create_partner(
        dep, op, name="Fuzz Reserve Exchange", balance_model="reserve", currencies=["EUR", "GBP"]
    )
    funded_id, reserve_id = funded.partner.id, reserve.partner.id
    server = next(k for k in funded.keys if k.key.role == "partner_server")
    other_server = next(k for k in reserve.keys if k.key.role == "partner_server")
    funded_ref = funded.partner.currency("EUR").funding_reference  # type: ignore[union-attr]
    reserve_ref = reserve.partner.currency("EUR").funding_reference  # type: ignore[union-attr]

    # an endpoint before the activity, so its events are queued to it (no worker runs here)
    endpoint = webhook_endpoints.create_endpoint(
        dep, op, url="http://127.0.0.1:9/hooks", partner_id=funded_id
    )
    _payin(dep, op, HIDDEN_FUNDING_EUR, reference=funded_ref)
    credited = _payin(dep, op, VISIBLE_FUNDING_EUR, reference=funded_ref)
    reserve_funding = _payin(dep, op, "5000.00", reference=reserve_ref)
    review = _payin(dep, op, "42.00", reference=None, remittance_info="no reference at all")
    pending = _payin(dep, op, "17.50", reference=funded_ref, booking_status="pending")
    assert credited.payin.status == "credited", credited
    assert review.payin.status == "needs_review", review
    assert pending.payin.status == "pending_confirmation", pending

    debited = _trade(dep, funded_id, "100.00", "fuzz-order-debited")
    settled = _trade(dep, funded_id, "120.00", "fuzz-order-settled")
    released = _trade(dep, funded_id, "130.00", "fuzz-order-released")
    reserved = _trade(dep, reserve_id, "140.00", "fuzz-order-reserved")
    trading.move_trade(dep, op, settled.trade.id, "settled")
    trading.move_trade(
        dep, _ctx("partner_server", funded_id), released.trade.id, "released", reason="fuzz"
    )
    open_quote = trading.create_quote(
        dep,
        _ctx("partner_server", funded_id),
        pool_id="EUR-USDT",
        source_amount="50.00",
        partner_order_id="fuzz-order-open-quote",
    )

    # Keys the fuzzer may revoke: never the two it authenticates with.
    spare_keys = [
        partners.issue_api_key(dep, op, pid, role).key.id
        for pid, role in ((funded_id, "partner_admin"), (reserve_id, "partner_server"))
    ]
    entries = [entry.id for pid in (funded_id, reserve_id) for entry in _entries(dep, pid)]
    trade_ids = tuple(t.trade.id for t in (debited, settled, released, reserved))
    quote_ids = (open_quote.quote.id, debited.trade.quote_id, reserved.trade.quote_id)
    event_ids = tuple(
        e.id
        for e in events.list_events(
            dep, op, partner_id=funded_id, after_sequence=0, types=[], page=Page.of(3)
        )
    )

    def stream(partner_id: str) -> set[str]:
        found = events.list_events(
            dep, op, partner_id=partner_id, after_sequence=0, types=[], page=Page.of(1000)
        )
        return {e.id for e in found}

    owned = {
        funded_id: frozenset(
            {funded_id, funded_ref, endpoint.endpoint.id, open_quote.quote.id, spare_keys[0]}
            | {p.payin.id for p in (credited, pending)}
            | {t.trade.id for t in (debited, settled, released)}
            | {t.trade.quote_id for t in (debited, settled, released)}
            | {entry.id for entry in _entries(dep, funded_id)}
            | stream(funded_id)
        ),
        reserve_id: frozenset(
            {reserve_id, reserve_ref, spare_keys[1], reserve_funding.payin.id}
            | {pc.funding_reference for pc in reserve.partner.currencies}
            | {reserved.trade.id, reserved.trade.quote_id}
            | {entry.id for entry in _entries(dep, reserve_id)}
            | stream(reserve_id)
        ),
    }
    known: dict[str, tuple[str, ...]] = {
        "partner_id": (funded_id, reserve_id),
        "endpoint_id": (endpoint.endpoint.id,),
        "event_id": event_ids,
        "url": ("http://127.0.0.1:9/hooks", "https://hooks.example.com/zeropools"),
        "key_id": tuple(spare_keys),
        "payin_id": (credited.payin.id, review.payin.id, pending.payin.id),
        "trade_id": trade_ids,
        "quote_id": quote_ids,
        "entry_id": tuple(entries[:6]),
        "currency": ("EUR", "GBP", "USDT", "JPY"),
        "pool_id": ("EUR-USDT", "EUR-USDC"),
        "partner_order_id": ("fuzz-order-debited", "fuzz-order-new"),
        "reference": (funded_ref, reserve_ref),
        "amount": ("10.00", "100", "0.5"),
        "source_amount": ("10.00", "75.5", "250"),
        "delivered_amount": ("1.000000", "10"),
        "balance_model": ("debit", "reserve"),
        "booking_status": ("booked", "pending"),
        "role": ("partner_admin", "partner_server"),
        "status": ("needs_review", "credited", "debited", "settled"),
        "type": ("payin_credit", "buy_debit"),
    }
    if seed is not None:
        # a consistent copy while the store stays open
        source = sqlite3.connect(db_url.removeprefix("sqlite:///"))
        with closing(source), closing(sqlite3.connect(seed)) as target:
            source.backup(target)
    return World(
        seed=seed,
        settings=settings,
        statements=statement_files(funded_ref, reserve_ref),
        dep=dep,
        operator_secret=operator_key.secret,
        server_secret=server.secret,
        funded_partner_id=funded_id,
        other_server_secret=other_server.secret,
        owned=owned,
        known=known,
    )


def problem_violations(
    status: int, headers: Mapping[str, Sequence[str]], content: bytes
) -> list[str]:
    """What is wrong with a response under the API's error and request-id contract.

    ``headers``: lower-case names to every value sent under that name.
    """
    wrong: list[str] = []
    ids_sent = list(headers.get("x-request-id", ()))
    request_id = ids_sent[0] if len(ids_sent) == 1 else ""
    if not request_id.startswith("req_"):
        wrong.append(f"X-Request-Id {ids_sent!r}: want exactly one value starting with 'req_'")
    if status < 400:
        return wrong
    content_type = ",".join(headers.get("content-type", ()))
    if not content_type.startswith(PROBLEM_JSON):
        wrong.append(f"error content-type {content_type!r} is not {PROBLEM_JSON}")
    try:
        body = json.loads(content)
    except ValueError:
        return [*wrong, f"error body is not JSON: {content[:200]!r}"]
    if not isinstance(body, dict):
        return [*wrong, f"error body is not an object: {body!r}"]
    missing = [name for name in PROBLEM_FIELDS if name not in body]
    if missing:
        wrong.append(f"problem document lacks {missing}: {body}")
    if body.get("status") != status:
        wrong.append(f"problem status {body.get('status')!r} != HTTP status {status}")
    code = body.get("code")
    if not (isinstance(code, str) and code):
        wrong.append(f"problem code {code!r} is not a non-empty string")
    elif body.get("type") != f"/errors/{code}":
        wrong.append(f"problem type {body.get('type')!r} != '/errors/{code}'")
    for name in ("title", "detail"):
        if not (isinstance(body.get(name), str) and body.get(name)):
            wrong.append(f"problem {name} {body.get(name)!r} is not a non-empty string")
    if body.get("request_id") != request_id:
        wrong.append(f"problem request_id {body.get('request_id')!r} != header {request_id!r}")
    return wrong


def foreign_ids(owned_by_others: frozenset[str], sent: str, content: bytes) -> list[str]:
    """Ids of another partner's objects in an answer that the request did not carry itself
    (an order file or a query may echo what it sent; that is no leak)."""
    text = content.decode("utf-8", "replace")
    return sorted(i for i in owned_by_others if i in text and i not in sent)


def owned_by(partner_id: str | None, content: bytes) -> list[dict[str, object]]:
    """Every object in a JSON answer whose ``partner_id`` is ``partner_id``, at any depth
    (no answer to one partner's key may hold an object of the other, whatever its ids)."""
    try:
        body = json.loads(content)
    except ValueError:
        return []  # an export file, a CSV: the id checks cover those
    found: list[dict[str, object]] = []
    pending = [body]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            if partner_id is not None and value.get("partner_id") == partner_id:
                found.append(value)
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return found
