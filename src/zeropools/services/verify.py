"""``zeropools verify``: replay every partner's ledger and report every mismatch."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from zeropools.domain.exports import Mark, checkpoint_text, day_window
from zeropools.domain.money import Currencies
from zeropools.domain.periods import SigningKey
from zeropools.domain.verify import ChainCheck, Problem
from zeropools.services.signing import key_id, verify_signature
from zeropools.store.protocol import Store, Tx


@dataclass
class VerifyReport:
    partners: int = 0
    entries: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(
    store: Store,
    on_partner: Callable[[str], None] | None = None,
    *,
    checkpoints: bool = False,
) -> VerifyReport:
    """Replay every ledger; with ``checkpoints``, also hold it against every signed close."""
    report = VerifyReport()
    partner_ids = store.read(lambda tx: tx.partner_ids())
    for partner_id in partner_ids:
        # one read transaction per partner: a consistent snapshot of its head and entries
        def check(tx: Tx, partner_id: str = partner_id) -> tuple[int, list[Problem]]:
            chain = ChainCheck(partner_id)
            problems = []
            for entry in tx.iter_entries(partner_id):
                problems += chain.feed(entry)
            state = tx.ledger_state(partner_id)
            problems += chain.finish(state.head, state.balances)
            return chain.entries, problems

        entries, problems = store.read(check)
        if checkpoints:
            problems += store.read(functools.partial(checkpoint_problems, partner_id=partner_id))
        report.partners += 1
        report.entries += entries
        report.problems += problems
        if on_partner is not None:
            on_partner(partner_id)
    for currency, (journals, parked) in store.read(lambda tx: tx.suspense_totals()).items():
        if journals != parked:
            report.problems.append(
                Problem(
                    "platform",
                    None,
                    f"{currency} suspense holds {journals} by its journals but pay-ins in "
                    f"review add up to {parked}",
                )
            )
    return report


def checkpoint_problems(tx: Tx, *, partner_id: str) -> list[Problem]:
    """Every signed checkpoint of the partner against the stored chain.

    A consistent rewrite of closed history (entries changed, hashes, head and balances
    recomputed) passes the replay above, but not this: the signed ``head_hash`` names the hash
    the day ended with, and only the private key, which the database never holds, could sign a
    new one. Checked per checkpoint: the signature with the published key (whose id must be
    derived from it), the signed text against the stored columns, and the ledger's entry at
    ``last_sequence``: its hash, currency and balances, and that it is still the currency's
    last entry before the day's end (nothing was slipped into the closed day).
    """
    keys: dict[str, SigningKey] = {key.id: key for key in tx.signing_keys()}
    found: list[Problem] = []
    scales = _signed_scales(tx)
    for period in tx.list_periods(partner_id):
        window = day_window(period.date, period.tz)
        for close in period.currencies:
            where = f"checkpoint {period.date} {close.currency}"

            def problem(
                message: str, where: str = where, sequence: int = close.closing.sequence
            ) -> None:
                found.append(Problem(partner_id, sequence, f"{where}: {message}"))

            key = keys.get(close.signing_key_id)
            if key is None:
                problem(f"signed by unpublished key {close.signing_key_id}")
            elif key_id(base64.b64decode(key.public_key)) != key.id:
                problem(f"published key {key.id} is not the key its id derives from")
            elif not verify_signature(key.public_key, close.checkpoint, close.signature):
                problem("signature does not verify")
            expected = checkpoint_text(
                partner_id=partner_id,
                currency=close.currency,
                window=window,
                closing=close.closing,
                currencies=scales,
            )
            if expected != close.checkpoint:
                problem("stored closing values differ from the signed checkpoint")
            last = tx.last_entry_before(partner_id, close.currency, window.ends_at)
            if Mark.after(last) != close.closing:
                problem(
                    "the ledger no longer ends the day where the signed checkpoint says "
                    f"(#{close.closing.sequence} {close.closing.hash[:12]}...)"
                )
    return found


def _signed_scales(tx: Tx) -> Currencies:
    """The deployment's pinned currency scales, as the checkpoints were formatted with."""
    text = tx.get_setting("currency_scales")
    return Currencies(json.loads(text)) if text else Currencies()
