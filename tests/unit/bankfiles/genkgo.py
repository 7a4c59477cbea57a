"""Read the ``.genkgo.json`` files: the genkgo/camt PHP parser's view of each camt fixture.

The JSON is a serialised object graph: amounts are signed minor units, dates are converted to
UTC, and a value already printed higher up is written as ``"__RECURSIVITY__"`` (a list's first
element repeats the singular getter, e.g. ``getTransactionDetails[0]`` is
``getTransactionDetail``). This module turns it into plain expectations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_SEEN = "__RECURSIVITY__"


@dataclass(frozen=True)
class Detail:
    amount_minor: int | None
    currency: str | None
    end_to_end_id: str | None
    uetr: str | None
    servicer_ref: str | None
    reference: str | None
    unstructured: tuple[str, ...]
    debtor_name: str | None
    debtor_iban: str | None


@dataclass(frozen=True)
class Entry:
    record_id: str
    account: str
    amount_minor: int
    currency: str
    direction: str
    status: str | None
    reversal: bool
    booking_date: str | None
    value_date: str | None
    servicer_ref: str | None
    entry_ref: str | None
    details: tuple[Detail, ...]


@dataclass(frozen=True)
class Message:
    records: int
    entries: tuple[Entry, ...]


def load(path: Path) -> Message:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Message(
        records=len(data["getRecords"]),
        entries=tuple(_entry(entry) for entry in data["getEntries"]),
    )


def _items(node: dict[str, Any], plural: str, singular: str) -> list[Any]:
    return [node[singular] if item == _SEEN else item for item in node.get(plural) or []]


def _day(node: dict[str, Any] | None) -> str | None:
    # genkgo shifts date-times to UTC; the fixtures' times do not cross midnight, so the day holds.
    return None if node is None else str(node["0"])[:10]


def _entry(entry: dict[str, Any]) -> Entry:
    record = entry["getRecord"]
    return Entry(
        record_id=record["getId"],
        account=record["getAccount"]["getIdentification"],
        amount_minor=int(entry["getAmount"]["getAmount"]),
        currency=entry["getAmount"]["getCurrency"]["getCode"],
        direction=entry["getCreditDebitIndicator"],
        status=entry["getStatus"],
        reversal=bool(entry["getReversalIndicator"]),
        booking_date=_day(entry["getBookingDate"]),
        value_date=_day(entry["getValueDate"]),
        servicer_ref=entry["getAccountServicerReference"],
        entry_ref=entry["getReference"],
        details=tuple(
            _detail(d) for d in _items(entry, "getTransactionDetails", "getTransactionDetail")
        ),
    )


def _detail(detail: dict[str, Any]) -> Detail:
    refs = detail.get("getReference") or {}
    amount = detail.get("getAmount")
    remittance = detail.get("getRemittanceInformation") or {}
    references = []
    for block in _items(remittance, "getStructuredBlocks", "getStructuredBlock"):
        creditor = block.get("getCreditorReferenceInformation")
        if creditor == _SEEN:
            creditor = remittance["getCreditorReferenceInformation"]
        if creditor and creditor.get("getRef"):
            references.append(creditor["getRef"])
    unstructured = tuple(
        block["getMessage"]
        for block in _items(remittance, "getUnstructuredBlocks", "getUnstructuredBlock")
    )
    debtor_name = debtor_iban = None
    for party in detail.get("getRelatedParties") or []:
        kind = party["getRelatedPartyType"]
        if kind["__CLASS__"].endswith("\\Debtor"):
            debtor_name = kind.get("getName")
            account = party.get("getAccount") or {}
            debtor_iban = (account.get("getIban") or {}).get("getIban")
    return Detail(
        amount_minor=None if amount is None else int(amount["getAmount"]),
        currency=None if amount is None else amount["getCurrency"]["getCode"],
        end_to_end_id=refs.get("getEndToEndId"),
        uetr=refs.get("getUuidEndToEndReference"),
        servicer_ref=refs.get("getAccountServicerReference"),
        reference=references[0] if references else None,
        unstructured=unstructured,
        debtor_name=debtor_name,
        debtor_iban=debtor_iban,
    )
