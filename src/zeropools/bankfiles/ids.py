"""The ``bank_transaction_id`` of a credit: the importer's idempotency key.

Goals: the same file parsed twice gives the same ids; every credit in one file has its own id;
and, where the bank gives us its own ids, the same payment reported in two files (an intraday
camt.054 and the evening camt.053, or two overlapping statements) gets the same id, so it is
credited once. The id is built from the bank's ids, scoped by the statement account:

camt (053 and 054 share one scheme on purpose), first available of:

- ``camt:<account>:uetr:<UETR>``                      SWIFT gpi UETR (lower case), unique worldwide
- ``camt:<account>:asr:<AcctSvcrRef>``                the bank's own reference (detail, else entry)
- ``camt:<account>:e2e:<EndToEndId>:<date>:<amount>:<ccy>``  payer-chosen, so dated and sized
- ``camt:<account>:ntry:<NtryRef>:<date>:<amount>:<ccy>``    unique per statement only
- ``camt-derived:<sha256>`` of account, statement id, record, entry and detail positions,
  amount, currency and date, when the bank gives no id at all.

``<account>`` is the IBAN, else the other account id; ``<date>`` the value date, else the booking
date, else "-"; ``<amount>`` the value without trailing zeros ("8.850" gives "8.85"). The ids come
from the transaction detail when the credit is one transaction (an entry with at most one
``TxDtls``, or a batch split into its details). When several details were kept together as one
credit, the credit is the entry: its AcctSvcrRef and NtryRef come first, the first detail's ids
after them. When a batch is split and the id came from the entry, ``#<detail index>`` is
appended. "NOTPROVIDED" end-to-end ids are ignored.

MT940, first available of:

- ``mt940:<account>:bank:<bank reference>:<value date>:<amount>:<ccy>``  (the ``//`` part of :61:)
- ``mt940:<account>:cust:<customer reference>:<value date>:<amount>:<ccy>``  (not "NONREF")
- ``mt940-derived:<sha256>`` of account, :20: reference, statement and sequence number, line
  index in the statement, value date, amount and currency.

Then, for the whole file: if an id was already given to an earlier credit of the same file (two
payments with the same end-to-end id, date and amount, say), the later ones get ``~2``, ``~3``...
in file order, which is stable because the file is. An id longer than
``BANK_TRANSACTION_ID_CHARS_MAX`` is replaced by ``<scheme>-hashed:<sha256 of the id>``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace

from zeropools.bankfiles.model import StatementCredit
from zeropools.domain.limits import BANK_TRANSACTION_ID_CHARS_MAX


def _sha256(parts: Iterable[str]) -> str:
    # A unit separator cannot appear in bank ids, so different part lists never join alike.
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def scoped(
    scheme: str,
    account: str,
    kind: str,
    value: str,
    context: Iterable[str] = (),
    detail_index: int | None = None,
) -> str:
    """``<scheme>:<account>:<kind>:<value>[:<context>...][#<detail index>]``."""
    text = ":".join([scheme, account, kind, value, *context])
    return text if detail_index is None else f"{text}#{detail_index}"


def derived(scheme: str, parts: Iterable[str]) -> str:
    return f"{scheme}-derived:{_sha256(parts)}"


def finish(credits: list[StatementCredit]) -> list[StatementCredit]:
    """Make ids unique in the file (``~2``, ``~3``... in file order), then bound their length."""
    seen: dict[str, int] = {}
    taken = {credit.bank_transaction_id for credit in credits}
    result: list[StatementCredit] = []
    for credit in credits:
        key = credit.bank_transaction_id
        count = seen.get(key, 0) + 1
        candidate = key
        if count > 1:
            candidate = f"{key}~{count}"
            while candidate in taken:
                # Only if a bank id itself ends in "~2": keep counting until the id is free.
                count += 1
                candidate = f"{key}~{count}"
            taken.add(candidate)
        seen[key] = count
        final = _bounded(candidate)
        result.append(credit if final == key else replace(credit, bank_transaction_id=final))
    return result


def _bounded(bank_transaction_id: str) -> str:
    if len(bank_transaction_id) <= BANK_TRANSACTION_ID_CHARS_MAX:
        return bank_transaction_id
    scheme = bank_transaction_id.split(":", 1)[0]
    return f"{scheme}-hashed:{_sha256([bank_transaction_id])}"
