"""Bank statement import: camt.053 / camt.054 / MT940 files into pay-ins.

Only credits become pay-ins, through exactly the path of ``POST /v1/payins``
(``payins.record_many``), so a file imported twice credits nothing new (the bank's own ids make
``bank_transaction_id``). Credits are applied in chunks of ``IMPORT_CHUNK_CREDITS`` per
transaction, each chunk as one ``record_many``: a few queries and one posting per partner, while
a crash loses at most one chunk's work (which the next import of the same file completes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from zeropools.bankfiles import StatementCredit, StatementError, parse_statement
from zeropools.domain import limits, payins
from zeropools.domain.errors import DomainError, PayinConflict, PayloadTooLarge, ValidationFailed
from zeropools.domain.partners import OPERATOR
from zeropools.services import dispatch
from zeropools.services.commands import RecordPayins
from zeropools.services.context import Ctx, Deployment, require_role
from zeropools.services.payins import Recorded, notification


@dataclass
class ImportSummary:
    format: str
    entries: int = 0
    credits: int = 0
    credited: int = 0
    needs_review: int = 0
    pending_confirmation: int = 0
    duplicates: int = 0
    ignored_debits: int = 0
    conflicts: int = 0
    payin_ids: list[str] = field(default_factory=list)


def _note(dep: Deployment, credit: StatementCredit) -> payins.PayinNotification:
    return notification(
        dep,
        bank_transaction_id=credit.bank_transaction_id,
        amount=credit.amount,
        currency=credit.currency,
        booking_status=credit.booking_status,
        reference=credit.reference,
        remittance_info=(credit.remittance_info or "")[: limits.REMITTANCE_INFO_CHARS_MAX] or None,
        debtor_name=credit.debtor_name,
        debtor_iban=credit.debtor_iban,
        value_date=credit.value_date,
        from_bank_file=True,
    )


def import_statement(
    dep: Deployment,
    ctx: Ctx,
    data: bytes,
    progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    require_role(ctx, OPERATOR)
    if len(data) > limits.IMPORT_FILE_BYTES_MAX:
        raise PayloadTooLarge(
            f"The file has {len(data)} bytes; at most {limits.IMPORT_FILE_BYTES_MAX} are accepted."
        )
    try:
        parsed = parse_statement(data)
    except StatementError as exc:
        raise ValidationFailed.field(
            "body", str(exc), f"Not a bank statement this service reads: {exc}"
        ) from None
    summary = ImportSummary(
        format=parsed.format,
        entries=parsed.entries,
        credits=len(parsed.credits),
        ignored_debits=parsed.ignored_debits,
    )
    notes = []
    for credit in parsed.credits:
        try:
            notes.append(_note(dep, credit))
        except DomainError as exc:
            # the whole file is refused before anything is written: fix the file, resend it
            raise ValidationFailed.field(
                credit.bank_transaction_id,
                exc.detail,
                f"Credit {credit.bank_transaction_id} cannot be read: {exc.detail}",
            ) from None
    for start in range(0, len(notes), limits.IMPORT_CHUNK_CREDITS):
        chunk = notes[start : start + limits.IMPORT_CHUNK_CREDITS]

        outcomes = dispatch.apply(dep, ctx, RecordPayins(tuple(chunk)))
        for outcome in outcomes:
            _count(summary, outcome)
        if progress is not None:
            progress(len(chunk))
    return summary


def _count(summary: ImportSummary, outcome: Recorded | PayinConflict) -> None:
    if isinstance(outcome, PayinConflict):
        summary.conflicts += 1
        return
    summary.payin_ids.append(outcome.payin.id)
    if not (outcome.created or outcome.booked_now or outcome.attributed_now):
        summary.duplicates += 1
    elif outcome.payin.status == payins.CREDITED:
        summary.credited += 1
    elif outcome.payin.status == payins.NEEDS_REVIEW:
        summary.needs_review += 1
    elif outcome.payin.status == payins.PENDING_CONFIRMATION:
        summary.pending_confirmation += 1
