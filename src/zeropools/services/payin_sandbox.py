"""Sandbox top-ups: a partner admin simulating its own bank credit on a test deployment.

Two rules keep a simulation from touching anyone else: the partner's bank transaction ids are
moved into a namespace of its own (no collision with real ids or another partner's, no probing
of which ids exist), and the credit must carry the partner's own funding reference.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from zeropools.domain import limits
from zeropools.domain.errors import Forbidden
from zeropools.domain.payins import Payin, PayinNotification
from zeropools.services.context import Ctx, Deployment

SANDBOX_PREFIX = "sandbox"


def sandbox_notification(ctx: Ctx, dep: Deployment, note: PayinNotification) -> PayinNotification:
    """A partner admin's simulated top-up (test mode only), its id scoped to the partner."""
    assert ctx.actor is not None and ctx.actor.partner_id is not None
    if dep.mode != "test":
        raise Forbidden("Partners may simulate top-ups only on a test deployment.")
    # a partner's sandbox ids live in their own namespace: no collision, no probing of others
    scoped_id = f"{SANDBOX_PREFIX}:{ctx.actor.partner_id}:{note.bank_transaction_id}"
    if len(scoped_id) > limits.BANK_TRANSACTION_ID_CHARS_MAX:
        # hashed, never cut: two long ids differing at the end must stay two pay-ins
        digest = hashlib.sha256(note.bank_transaction_id.encode()).hexdigest()
        scoped_id = f"{SANDBOX_PREFIX}:{ctx.actor.partner_id}:sha256:{digest}"
    return replace(note, bank_transaction_id=scoped_id)


def check_own_reference(ctx: Ctx, payin: Payin) -> None:
    """A partner's new pay-in must be attributed to that partner; operators record anyone's."""
    if (
        ctx.actor is not None
        and not ctx.actor.is_operator
        and payin.partner_id != ctx.actor.partner_id
    ):
        raise Forbidden(
            "A sandbox top-up must carry your own funding reference (GET /v1/funding-instructions)."
        )
