"""The CSV export the database renders is byte for byte the reference writer's, on both stores.

Goal (issue 13): the export's entry rows are rendered and their roll-forward inputs worked out
by the SELECT (``store/sql/export_csv.py``), checked on whole columns by
``ExportWriter.rendered``; a batch it cannot vouch for goes to ``ExportWriter.rows``, the
reference. Neither the bytes nor what is refused may depend on which path a batch took.

Method: a ledger built by the domain (``ledger.append``) over three days in three currencies
of 2, 0 and 6 decimals: odd, large and negative amounts, a reserve and its release, link texts
that need CSV quoting (comma, quote, line break) and others that are only unicode, the
currencies interleaved in one chain (so links are checked row by row). Batches of two rows,
so some take the database's rendering and some fall back. Each export (every currency, every
day) is held to the reference writer over the stored rows; a spy proves both paths ran.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest

from support.tamper import drop_append_only_triggers, raw
from zeropools.domain import ids, ledger, limits, references
from zeropools.domain.exports import (
    CSV,
    ExportWriter,
    RenderedRow,
    RollForwardBroken,
    day_window,
)
from zeropools.domain.ledger import (
    ADJUSTMENT,
    AVAILABLE,
    BUY_DEBIT,
    GENESIS_HASH,
    PLATFORM_ADJUSTMENTS,
    PLATFORM_VENUE,
    RESERVED,
    TRADE_RELEASE,
    TRADE_RESERVE,
    Balance,
    EntryDraft,
    LedgerHead,
    Line,
    Links,
)
from zeropools.domain.partners import Partner, PartnerCurrency
from zeropools.services import exports
from zeropools.services.context import Deployment
from zeropools.services.exports import ExportRequest
from zeropools.store.protocol import Tx

DAY = datetime(2026, 11, 20, tzinfo=UTC)
CURRENCIES = ("EUR", "JPY", "USDT")
QUOTED = ('order "7", été', "a,b", "line\nbreak", "cr\rhere")
UNICODE = ("日本語", "ünïcødé", "emoji 🙂")


def day_drafts(day: int) -> list[EntryDraft]:
    """One day's drafts: every currency, odd amounts, quoting and unicode in the links."""
    drafts = [
        ledger.payin_credit("EUR", 100_001 + day, f"pin_e{day}", f"RF18,{day}"),
        ledger.payin_credit("JPY", 12_345, f"pin_j{day}", UNICODE[day]),
        ledger.payin_credit("USDT", 1_000_000_007, f"pin_u{day}", None),
        EntryDraft(
            ADJUSTMENT,
            "EUR",
            (Line(AVAILABLE, -1), Line(PLATFORM_ADJUSTMENTS, 1)),
            reason="odd cent",
        ),
        EntryDraft(
            BUY_DEBIT,
            "USDT",
            (Line(AVAILABLE, -999_999), Line(PLATFORM_VENUE, 999_999)),
            Links(trade_id=f"pt_u{day}", quote_id=f"pq_u{day}", partner_order_id=QUOTED[day]),
        ),
        EntryDraft(
            BUY_DEBIT,
            "JPY",
            (Line(AVAILABLE, -1), Line(PLATFORM_VENUE, 1)),
            Links(trade_id=f"pt_j{day}", partner_order_id=UNICODE[day]),
        ),
        EntryDraft(
            BUY_DEBIT,
            "EUR",
            (Line(AVAILABLE, -99), Line(PLATFORM_VENUE, 99)),
            Links(trade_id=f"pt_e{day}", partner_order_id=f"plain-{day}"),
        ),
        EntryDraft(
            TRADE_RESERVE,
            "EUR",
            (Line(AVAILABLE, -5_001), Line(RESERVED, 5_001)),
            Links(trade_id=f"pt_r{day}"),
        ),
        EntryDraft(
            ADJUSTMENT,
            "USDT",
            (Line(AVAILABLE, -123_456_789), Line(PLATFORM_ADJUSTMENTS, 123_456_789)),
            reason="negative, six decimals",
        ),
    ]
    return drafts


@pytest.fixture
def partner_id(dep: Deployment) -> str:
    """A partner with three days of entries (the day before, the day, the day after)."""
    partner_id = ids.new_id(ids.PARTNER)
    created = (DAY - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    currencies = tuple(
        PartnerCurrency(partner_id, c, references.new_creditor_reference(), None, Balance())
        for c in CURRENCIES
    )

    def post(tx: Tx) -> None:
        tx.insert_partner(
            Partner(partner_id, "Rendered", "debit", created, currencies), GENESIS_HASH
        )
        head, balances = LedgerHead(partner_id, 0, GENESIS_HASH), dict[str, Balance]()
        for day in range(3):
            drafts = day_drafts(day)
            first = ledger.append(
                head,
                balances,
                drafts,
                currencies=dep.currencies,
                request_id=f"req_{day}",
                now=DAY + timedelta(days=day - 1, hours=9),
            )
            reserve = first.entries[-2]
            release = EntryDraft(
                TRADE_RELEASE,
                "EUR",
                (Line(RESERVED, -5_001), Line(AVAILABLE, 5_001)),
                Links(trade_id=reserve.links.trade_id, related_entry_id=reserve.id),
            )
            second = ledger.append(
                first.head,
                first.balances,
                [release],
                currencies=dep.currencies,
                request_id=f"req_{day}b",
                now=DAY + timedelta(days=day - 1, hours=10),
            )
            tx.append(first)
            tx.append(second)
            head, balances = second.head, dict(second.balances)

    dep.store.write(post)  # type: ignore[arg-type]
    return partner_id


def reference(dep: Deployment, request: ExportRequest) -> bytes:
    """The export as ``ExportWriter.rows`` writes it from the stored rows."""
    with dep.store.reading() as tx:
        window = request.window
        writer = ExportWriter(
            partner_id=request.partner_id,
            currency=request.currency,
            window=window,
            opening=exports.opening_mark(tx, request.partner_id, request.currency, window),
            currencies=dep.currencies,
            fmt=CSV,
        )
        out = [writer.opening()]
        for rows in tx.stream_entry_rows(
            request.partner_id,
            currency=request.currency,
            created_gte=window.starts_at,
            created_lt=window.ends_at,
        ):
            out.append(writer.rows(rows))
        out.append(writer.closing(None))
    return b"".join(out)


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Small batches, and a record of each batch's path (True: the database's rendering)."""
    monkeypatch.setattr(limits, "BULK_READ_BATCH_ROWS", 2)
    taken: list[bool] = []
    rendered = ExportWriter.rendered

    def spy(self: ExportWriter, batch: list[RenderedRow]) -> bytes | None:
        block = rendered(self, batch)
        taken.append(block is not None)
        return block

    monkeypatch.setattr(ExportWriter, "rendered", spy)
    yield taken


def test_every_export_of_a_varied_ledger_is_the_reference_bytes(
    dep: Deployment, partner_id: str, paths: list[bool]
) -> None:
    for day in range(-1, 3):
        date = (DAY + timedelta(days=day)).date().isoformat()
        for currency in CURRENCIES:
            request = ExportRequest(partner_id, day_window(date, None), currency, CSV)
            expected = reference(dep, request)
            out = io.BytesIO()
            sha256, closed = exports.write_export(dep, request, out)
            assert out.getvalue() == expected, (date, currency)
            assert (sha256, closed) == (hashlib.sha256(expected).hexdigest(), False)
            opened = exports.open_export(dep, request)
            assert b"".join(opened.chunks) == expected
            assert opened.sha256 == sha256
    assert any(paths) and not all(paths), "both the rendered and the reference path must run"
    the_day_before = (DAY - timedelta(days=1)).date().isoformat()
    text = reference(
        dep, ExportRequest(partner_id, day_window(the_day_before, None), "USDT", CSV)
    ).decode()
    assert '"order ""7"", été"' in text and "-123.456789" in text  # the ledger is varied


def test_a_tampered_balance_is_refused_at_its_entry_whichever_path_reads_it(
    dep: Deployment, partner_id: str, paths: list[bool]
) -> None:
    drop_append_only_triggers(dep)
    date = DAY.date().isoformat()
    request = ExportRequest(partner_id, day_window(date, None), "EUR", CSV)
    with dep.store.reading() as tx:
        rows = [
            row
            for batch in tx.stream_entry_rows(partner_id, currency="EUR")
            for row in batch
            if row[17].startswith(date)
        ]
    target = rows[-1][1]  # the day's last EUR entry: its batch is otherwise plain
    raw(
        dep,
        "UPDATE ledger_entries SET reserved_after_minor = reserved_after_minor + 1 "
        "WHERE partner_id = %s AND sequence = %s",
        (partner_id, target),
    )
    with pytest.raises(RollForwardBroken, match=f"#{target}"):
        exports.write_export(dep, request, io.BytesIO())
    with pytest.raises(RollForwardBroken, match=f"#{target}"):
        reference(dep, request)


# journal texts a rewrite could leave, each read by the reference path as ``json.loads`` and
# ``int`` read it: an export must come out (or be refused) exactly as the reference's would
ODD_JOURNALS = [
    '[["available", -1], ["platform:adjustments", 1]]',  # spaces: still the same journal
    '[["available",-1.0],["platform:adjustments",1]]',
    '[["available",-1.5],["platform:adjustments",1.5]]',
    '[["available","-1"],["platform:adjustments",1]]',
    '[["available",-1,7],["platform:adjustments",1]]',
    '[[["available",-1]],["platform:adjustments",1]]',
    '[["platform:adjustments",1],["available",-1],["reserved",0],["available",0]]',
    '[["available",-1],["available",-99999999999999999999999],["available",99999999999999999999999]]',
    '{"available":-1}',
    "[]",
    "not json",
]


@pytest.mark.parametrize("journal", ODD_JOURNALS)
def test_a_rewritten_journal_exports_or_is_refused_as_the_reference_decides(
    dep: Deployment, partner_id: str, paths: list[bool], journal: str
) -> None:
    drop_append_only_triggers(dep)
    date = DAY.date().isoformat()
    request = ExportRequest(partner_id, day_window(date, None), "EUR", CSV)
    raw(
        dep,
        "UPDATE ledger_entries SET lines = %s WHERE partner_id = %s AND type = %s "
        "AND currency = 'EUR' AND created_at >= %s AND created_at < %s",
        (journal, partner_id, ADJUSTMENT, request.window.starts_at, request.window.ends_at),
    )

    def outcome(export: Callable[[], bytes]) -> tuple[str, object]:
        try:
            return "bytes", export()
        except RollForwardBroken as refused:
            return "refused", str(refused)
        except Exception:  # the reference raises ValueError, a database its own error
            return "failed", None

    def ours() -> bytes:
        out = io.BytesIO()
        exports.write_export(dep, request, out)
        return out.getvalue()

    assert outcome(ours) == outcome(lambda: reference(dep, request))
