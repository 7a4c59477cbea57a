"""Input-validation refusals leave the Idempotency-Key unused; business refusals keep it.

Goal: API.md "Idempotency": a request refused by input validation (``amount_invalid``,
``amount_precision_exceeded``, ``validation_error``) is not stored, so the corrected request may
reuse the key and is applied once; a business refusal (``insufficient_balance``, ``not_found``)
is stored and replayed, so the same key with another body is ``idempotency_key_reused``.
Method: ``dispatch.apply_idempotent`` called as the API calls it, on SQLite and PostgreSQL, with
the stored answer, the ledger and the refusal records read back afterwards.
"""

from __future__ import annotations

import json
import uuid

import pytest

from support import balance_minor, ctx_for, entries_of, onboard, reference_of, send_payin
from zeropools.domain import errors
from zeropools.domain.errors import IdempotencyKeyReused
from zeropools.domain.paging import Page
from zeropools.services import dispatch, idempotency, trading
from zeropools.services.commands import Adjust, ExecuteTrade
from zeropools.services.context import Deployment
from zeropools.services.idempotency import StoredResponse


def _adjust(dep: Deployment, partner_id: str, amount: str, key: str) -> StoredResponse:
    operator = ctx_for("operator")
    body = {"partner_id": partner_id, "currency": "EUR", "amount": amount, "reason": "fee"}
    command = Adjust(partner_id, "EUR", amount, "fee")
    request_print = idempotency.fingerprint("POST", "/v1/adjustments", body)
    return dispatch.apply_idempotent(dep, operator, command, key=key, request_print=request_print)


def _code(answer: StoredResponse) -> str:
    return str(json.loads(answer.body)["code"])


def test_the_input_validation_errors_are_exactly_the_typed_it_wrong_class() -> None:
    marked = {cls.code for cls in errors.all_error_classes() if cls.input_validation}

    assert marked == {
        "malformed_json",
        "idempotency_key_required",
        "idempotency_key_invalid",
        "validation_error",
        "amount_invalid",
        "amount_precision_exceeded",
    }


@pytest.mark.parametrize("mistyped", ["12,00", "12.001", "-0"])
def test_a_corrected_amount_may_reuse_the_key_of_a_mistyped_one(
    dep: Deployment, mistyped: str
) -> None:
    new = onboard(dep)
    send_payin(dep, "bank-1", "100.00", reference=reference_of(new))

    refused = _adjust(dep, new.partner.id, mistyped, key="k")
    applied = _adjust(dep, new.partner.id, "-12.00", key="k")
    replayed = _adjust(dep, new.partner.id, "-12.00", key="k")

    assert refused.status == 422 and not refused.stored
    assert _code(refused) in ("amount_invalid", "amount_precision_exceeded")
    assert (applied.status, applied.replayed) == (201, False)
    assert (replayed.status, replayed.replayed, replayed.body) == (201, True, applied.body)
    assert balance_minor(dep, new.partner.id) == (88_00, 0)
    assert [e.type for e in entries_of(dep, new.partner.id)] == ["payin_credit", "adjustment"]


def test_a_business_refusal_keeps_its_key(dep: Deployment) -> None:
    new = onboard(dep)
    send_payin(dep, "bank-1", "10.00", reference=reference_of(new))

    refused = _adjust(dep, new.partner.id, "-50.00", key="k")
    again = _adjust(dep, new.partner.id, "-50.00", key="k")

    assert (refused.status, _code(refused), refused.stored) == (409, "insufficient_balance", True)
    assert (again.replayed, again.body) == (True, refused.body)
    with pytest.raises(IdempotencyKeyReused):
        _adjust(dep, new.partner.id, "-5.00", key="k")
    assert balance_minor(dep, new.partner.id) == (10_00, 0)


def test_a_mistyped_execution_is_still_recorded_as_a_refusal_and_frees_its_key(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    send_payin(dep, f"bank-{uuid.uuid4()}", "100.00", reference=reference_of(new))
    server = ctx_for("partner_server", new.partner.id)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="30.00", partner_order_id="order-1"
    )

    def execute(order_id: str) -> StoredResponse:
        body = {"quote_id": quote.quote.id, "partner_order_id": order_id}
        return dispatch.apply_idempotent(
            dep,
            ctx_for("partner_server", new.partner.id),
            ExecuteTrade(quote.quote.id, order_id),
            key="exec-1",
            request_print=idempotency.fingerprint("POST", "/v1/trades", body),
        )

    wrong_order = execute("order-2")  # the quote was made for order-1
    right_order = execute("order-1")

    assert (wrong_order.status, _code(wrong_order)) == (422, "validation_error")
    assert right_order.status == 201, right_order.body
    refusals = trading.list_refusals(
        dep, server, partner_id=None, partner_order_id="order-2", page=Page(limit=10)
    )
    assert [r.code for r in refusals] == ["validation_error"]
    assert balance_minor(dep, new.partner.id) == (70_00, 0)
