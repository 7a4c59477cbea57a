"""SWIFT MT940 statements, read with the mt-940 library (5.1 or later, for ``mt940.Options``).

Each ``:20:`` starts a statement; each ``:61:`` is one booked entry. Marks: ``C`` is a credit;
``D`` a debit; ``RC`` (reversal of a credit) and ``RD`` (reversal of a debit) are corrections,
not pay-ins. Only ``C`` lines become credits, the others are counted in ``ignored_debits``.

What the library does not keep, we catch with its pre/post-processor hooks:

- the amount text of ``:61:`` (the library only keeps a Decimal), so the decimals stay as written;
- the ``:61:`` references, which a later structured ``:86:`` with ``KREF+`` would overwrite;
- the raw ``:86:`` text, because the library drops it once it has split a structured field.
  ``remittance_info`` is that whole text for free-form ``:86:``; for the German structured form
  (``166?00GUTSCHRIFT?20...``) it is the purpose sub-fields ``?20``-``?29`` and ``?60``-``?63``
  rejoined, keyword prefixes such as ``EREF+`` or ``SVWZ+`` kept (one line each), so a reference
  is found wherever the payer typed it;
- an ``:86:`` after the closing balance describes the statement, not its last line (ING writes
  its totals there); the library would glue it onto the last line's text, so it is dropped.

Debtor name and IBAN come from the structured ``:86:`` (``?32``/``?33`` and ``?31``) when the
library finds them, and the IBAN only when it is one (old files carry a bank account number).
Ids: see ``zeropools.bankfiles.ids``.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import mt940

from zeropools.bankfiles import ids
from zeropools.bankfiles.detect import Mt940
from zeropools.bankfiles.model import BOOKED, StatementCredit, StatementError, StatementParse
from zeropools.bankfiles.values import canonical_amount, clean, iban_or_none, mt940_amount

_OPTIONS = mt940.Options(
    applicant_iban=True,  # ?31 is the counterparty account, not part of the name
    merge_keeps_values=True,
    case_insensitive_marks=True,
    unbounded_details=True,  # 5.0 cut :86: after 9 x 65 characters
    strip_bom=True,
    gvc_leading_text=True,
)
_STATEMENT_START = re.compile(r"^(?=:20:)", re.MULTILINE)
_LINE_TAG = re.compile(r"^:\n?61:", re.MULTILINE)
_STRUCTURED = re.compile(r"[0-9]{3}\?[0-9]{2}")
_SEGMENT = re.compile(r"\?([0-9]{2})")
_PURPOSE_KEYS = frozenset({"60", "61", "62", "63"})
_SEPA_KEYWORD = re.compile(r"[A-Z]{4}\+|BIC \+")
_FIN_TEXT_BLOCK = re.compile(r"\{4:[ \t]*\n(.*?)^-\}", re.DOTALL | re.MULTILINE)
_CLOSING_SLUGS = (
    "closing_balance",
    "intermediate_closing_balance",
    "final_closing_balance",
    "available_balance",
    "forward_available_balance",
)
_NONREF = "NONREF"
_NOT_PROVIDED = "NOTPROVIDED"
_ERROR_CHARS_MAX = 200


def parse(document: Mt940) -> StatementParse:
    entries = ignored = 0
    credits: list[StatementCredit] = []
    number = 0
    for block in _STATEMENT_START.split(_unwrap(document.text)):
        number += block.startswith(":20:")
        where = f"MT940 statement {number}" if number else "MT940 text before the first :20:"
        statement = _read(block, where)
        if statement is None:
            continue
        for index, line in enumerate(statement.transactions):
            entries += 1
            mark = str(line.data.get("zp_mark") or "").upper()
            if mark != "C":
                ignored += 1
                continue
            try:
                credits.append(_credit(statement, line.data, index))
            except StatementError as error:
                raise StatementError(f"{where}, line {index + 1}: {error}") from None
    return StatementParse(
        format="mt940",
        version=None,
        entries=entries,
        credits=ids.finish(credits),
        ignored_debits=ignored,
    )


def _unwrap(text: str) -> str:
    """The text blocks ``{4:...-}`` of a SWIFT FIN envelope, or the text itself."""
    if not text.lstrip().startswith("{1:"):
        return text
    return "\n".join(_FIN_TEXT_BLOCK.findall(text)) or text


def _read(block: str, where: str) -> mt940.models.Transactions | None:
    statement = mt940.models.Transactions(processors=_processors(), options=_OPTIONS)
    try:
        statement.parse(block)
    except Exception as error:
        # The library reports bad input as RuntimeError, ValueError, KeyError or a decimal
        # error, depending on the field; to the caller all of them mean "cannot read this file".
        raise StatementError(f"{where} cannot be read: {_describe(error)}") from None
    lines = len(_LINE_TAG.findall(block))
    if not lines and "account_identification" not in statement.data:
        return None  # text before the first :20:, such as a bank's file header
    if len(statement) != lines:
        # The library merges a :61: without a transaction type code into the previous line.
        raise StatementError(f"{where} has {lines} :61: lines but {len(statement)} could be read")
    if clean(statement.data.get("account_identification")) is None:
        raise StatementError(f"{where} has no :25: account identification")
    return statement


def _describe(error: Exception) -> str:
    # A field that does not match its layout comes as RuntimeError(message, tag, value).
    if isinstance(error, RuntimeError) and len(error.args) == 3:
        tag, value = error.args[1], str(error.args[2])[:_ERROR_CHARS_MAX]
        return f"field :{getattr(tag, 'id', '?')}: {value!r} does not have the MT940 layout"
    return str(error.args[0] if error.args else error)[:_ERROR_CHARS_MAX]


def _credit(
    statement: mt940.models.Transactions, data: dict[str, Any], index: int
) -> StatementCredit:
    account = str(statement.data["account_identification"]).strip()
    currency = clean(data.get("currency"))
    if currency is None:
        raise StatementError("no currency: the statement has no opening balance (:60F:/:60M:)")
    amount = mt940_amount(str(data.get("zp_amount") or ""))
    value_date = _iso(data.get("date"))
    details = str(data.get("zp_details") or "")
    end_to_end_id = clean(data.get("end_to_end_reference"))
    if end_to_end_id is not None and end_to_end_id.upper() == _NOT_PROVIDED:
        end_to_end_id = None
    return StatementCredit(
        bank_transaction_id=_bank_transaction_id(statement, data, index, amount, currency),
        amount=amount,
        currency=currency,
        booking_status=BOOKED,  # MT940 lists booked lines; MT942 is refused by detection
        reference=None,
        remittance_info=_remittance(details),
        debtor_name=clean(data.get("applicant_name")),
        debtor_iban=iban_or_none(data.get("applicant_iban")),
        value_date=value_date,
        booking_date=_iso(data.get("entry_date")),
        end_to_end_id=end_to_end_id,
        uetr=None,
        account_iban=_account_iban(account),
    )


def _bank_transaction_id(
    statement: mt940.models.Transactions,
    data: dict[str, Any],
    index: int,
    amount: str,
    currency: str,
) -> str:
    account = str(statement.data["account_identification"]).strip()
    day = _iso(data.get("date")) or "-"
    context = (day, canonical_amount(amount), currency)
    for kind, key in (("bank", "zp_bank_reference"), ("cust", "zp_customer_reference")):
        value = clean(data.get(key))
        if value is not None and value.upper() != _NONREF:
            return ids.scoped("mt940", account, kind, value, context)
    return ids.derived(
        "mt940",
        [
            account,
            str(statement.data.get("transaction_reference") or ""),
            str(statement.data.get("statement_number") or ""),
            str(statement.data.get("sequence_number") or ""),
            str(index),
            day,
            amount,
            currency,
        ],
    )


def _remittance(details: str) -> str | None:
    # Structured :86: wraps at 65 characters anywhere, so its lines are rejoined first; and its
    # ?2x/?6x sub-fields are 27-character slices of one text, so they are rejoined without a
    # separator, except that each SEPA keyword ("EREF+", "SVWZ+"...) starts a new line.
    joined = "".join(details.splitlines())
    if not _STRUCTURED.match(joined):
        return clean(details)
    parts = _SEGMENT.split(joined)
    text = ""
    for key, segment in zip(parts[1::2], parts[2::2], strict=True):
        if key.startswith("2") or key in _PURPOSE_KEYS:
            starts_keyword = _SEPA_KEYWORD.match(segment) is not None
            text += f"\n{segment}" if text and starts_keyword else segment
    return clean(text)


def _account_iban(account: str) -> str | None:
    # :25: holds an IBAN, "BLZ/account", "BIC/account", or an IBAN followed by its currency.
    compact = account.replace(" ", "").upper()
    with_currency = re.fullmatch(r"(?P<iban>.+)[A-Z]{3}", compact)
    if with_currency and iban_or_none(with_currency["iban"]):
        return with_currency["iban"]
    return iban_or_none(compact.rsplit("/", 1)[-1], check_digits=False)


def _iso(value: object) -> str | None:
    return value.isoformat() if isinstance(value, datetime.date) else None


# --- library hooks: each receives (transactions, tag, tag_dict[, result]) ------------------------


def _keep_line(_statement: object, _tag: object, tag_dict: dict[str, Any], *_: object) -> Any:
    for key in ("amount", "customer_reference", "bank_reference"):
        tag_dict[f"zp_{key}"] = tag_dict.get(key)
    tag_dict["zp_mark"] = tag_dict.get("status")
    return tag_dict


def _keep_details(_statement: object, _tag: object, tag_dict: dict[str, Any], *_: object) -> Any:
    tag_dict["zp_details"] = tag_dict.get("transaction_details") or ""
    return tag_dict


def _mark_closing(
    statement: mt940.models.Transactions, _tag: object, _tag_dict: object, result: Any
) -> Any:
    statement.data["zp_closed_at"] = len(statement.transactions)
    return result


def _drop_after_closing(
    statement: mt940.models.Transactions, _tag: object, _tag_dict: object, result: Any
) -> Any:
    if statement.data.get("zp_closed_at") == len(statement.transactions):
        return {}
    return result


def _processors() -> mt940.models.Processors:
    processors = {
        slot: list(hooks) for slot, hooks in mt940.models.Transactions.DEFAULT_PROCESSORS.items()
    }
    processors["pre_statement"].append(_keep_line)
    processors["pre_transaction_details"].append(_keep_details)
    processors["post_transaction_details"].append(_drop_after_closing)
    for slug in _CLOSING_SLUGS:
        processors[f"post_{slug}"].append(_mark_closing)
    return processors
