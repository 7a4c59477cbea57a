"""Synthetic camt.053 / camt.054 files for tests and benchmarks.

``camt053(entries)`` writes one statement holding the given entries; the XML follows the layout
of the requested schema version (``<Sts>BOOK</Sts>`` before 001.06, ``<Sts><Cd>BOOK</Cd></Sts>``
from 001.06, ``<Dbtr><Pty>`` from 001.08, detail amounts in ``AmtDtls`` in 001.02), so one list
of entries can be rendered in every version.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

ACCOUNT_IBAN = "DE89370400440532013000"
DEBTOR_IBAN = "NL91ABNA0417164300"


@dataclass(frozen=True)
class Detail:
    """One ``TxDtls``: a transaction inside an entry."""

    amount: str | None = None
    currency: str = "EUR"
    uetr: str | None = None
    servicer_ref: str | None = None
    end_to_end_id: str | None = None
    reference: str | None = None
    unstructured: tuple[str, ...] = ()
    debtor_name: str | None = None
    debtor_iban: str | None = None


@dataclass(frozen=True)
class Entry:
    """One ``Ntry``. ``status=None`` leaves ``<Sts>`` out."""

    amount: str = "100.00"
    currency: str = "EUR"
    credit: bool = True
    reversal: bool = False
    status: str | None = "BOOK"
    booking_date: str | None = "2024-05-02"
    value_date: str | None = "2024-05-03"
    servicer_ref: str | None = None
    entry_ref: str | None = None
    details: tuple[Detail, ...] = field(default_factory=lambda: (Detail(),))


def camt053(
    entries: Sequence[Entry],
    *,
    version: str = "001.08",
    account_iban: str | None = ACCOUNT_IBAN,
    account_other_id: str | None = None,
    statement_id: str = "STMT-2024-05-02",
) -> bytes:
    return _document(
        "camt.053",
        version,
        "BkToCstmrStmt",
        "Stmt",
        entries,
        account_iban,
        account_other_id,
        statement_id,
    )


def camt054(
    entries: Sequence[Entry],
    *,
    version: str = "001.08",
    account_iban: str | None = ACCOUNT_IBAN,
    statement_id: str = "NTFCTN-2024-05-02",
) -> bytes:
    return _document(
        "camt.054",
        version,
        "BkToCstmrDbtCdtNtfctn",
        "Ntfctn",
        entries,
        account_iban,
        None,
        statement_id,
    )


def _document(
    message: str,
    version: str,
    container: str,
    record: str,
    entries: Sequence[Entry],
    account_iban: str | None,
    account_other_id: str | None,
    statement_id: str,
) -> bytes:
    if account_iban is not None:
        account = f"<IBAN>{escape(account_iban)}</IBAN>"
    else:
        account = f"<Othr><Id>{escape(account_other_id or '')}</Id></Othr>"
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:{message}.{version}">',
        f"<{container}><GrpHdr><MsgId>MSG-1</MsgId>",
        "<CreDtTm>2024-05-02T18:00:00+02:00</CreDtTm></GrpHdr>",
        f"<{record}><Id>{escape(statement_id)}</Id>",
        "<CreDtTm>2024-05-02T18:00:00+02:00</CreDtTm>",
        f"<Acct><Id>{account}</Id></Acct>",
    ]
    for entry in entries:
        parts.extend(_entry(entry, version))
    parts.append(f"</{record}></{container}></Document>\n")
    return "".join(parts).encode("utf-8")


def _entry(entry: Entry, version: str) -> Iterator[str]:
    yield f"<Ntry>{_opt('NtryRef', entry.entry_ref)}"
    yield f"<Amt Ccy={quoteattr(entry.currency)}>{escape(entry.amount)}</Amt>"
    yield f"<CdtDbtInd>{'CRDT' if entry.credit else 'DBIT'}</CdtDbtInd>"
    if entry.reversal:
        yield "<RvslInd>true</RvslInd>"
    if entry.status is not None:
        code = escape(entry.status)
        yield f"<Sts><Cd>{code}</Cd></Sts>" if version >= "001.06" else f"<Sts>{code}</Sts>"
    if entry.booking_date is not None:
        yield f"<BookgDt><Dt>{entry.booking_date}</Dt></BookgDt>"
    if entry.value_date is not None:
        yield f"<ValDt><Dt>{entry.value_date}</Dt></ValDt>"
    yield _opt("AcctSvcrRef", entry.servicer_ref)
    yield "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly>"
    yield "</Domn></BkTxCd>"
    if entry.details:
        yield "<NtryDtls>"
        for detail in entry.details:
            yield from _detail(detail, version)
        yield "</NtryDtls>"
    yield "</Ntry>"


def _detail(detail: Detail, version: str) -> Iterator[str]:
    yield "<TxDtls><Refs>"
    yield _opt("AcctSvcrRef", detail.servicer_ref)
    yield _opt("EndToEndId", detail.end_to_end_id)
    yield _opt("UETR", detail.uetr)
    yield "</Refs>"
    if detail.amount is not None:
        amount = f"<Amt Ccy={quoteattr(detail.currency)}>{escape(detail.amount)}</Amt>"
        # 001.02 has no TxDtls/Amt; the transaction amount sits in AmtDtls/TxAmt there.
        yield f"<AmtDtls><TxAmt>{amount}</TxAmt></AmtDtls>" if version == "001.02" else amount
    if detail.debtor_name is not None or detail.debtor_iban is not None:
        yield "<RltdPties>"
        if detail.debtor_name is not None:
            name = f"<Nm>{escape(detail.debtor_name)}</Nm>"
            yield (
                f"<Dbtr><Pty>{name}</Pty></Dbtr>" if version >= "001.08" else f"<Dbtr>{name}</Dbtr>"
            )
        if detail.debtor_iban is not None:
            yield f"<DbtrAcct><Id><IBAN>{escape(detail.debtor_iban)}</IBAN></Id></DbtrAcct>"
        yield "</RltdPties>"
    if detail.unstructured or detail.reference is not None:
        yield "<RmtInf>"
        for line in detail.unstructured:
            yield f"<Ustrd>{escape(line)}</Ustrd>"
        if detail.reference is not None:
            yield "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
            yield f"<Ref>{escape(detail.reference)}</Ref></CdtrRefInf></Strd>"
        yield "</RmtInf>"
    yield "</TxDtls>"


def _opt(tag: str, value: str | None) -> str:
    return "" if value is None else f"<{tag}>{escape(value)}</{tag}>"


def many_credits(count: int) -> list[Entry]:
    """``count`` distinct credits, each one transaction with its own end-to-end id."""
    return [
        Entry(
            amount=f"{index + 1}.{index % 100:02d}",
            details=(
                Detail(
                    end_to_end_id=f"E2E-{index:06d}",
                    unstructured=(f"Payment {index} RF18539007547034",),
                    debtor_name=f"Payer {index}",
                    debtor_iban=DEBTOR_IBAN,
                ),
            ),
        )
        for index in range(count)
    ]
