"""The pay-in lifecycle over HTTP, as the bank, the operator and a sandbox partner drive it.

Goal: what the issue asks of ``POST /v1/payins`` and the review actions. A pending credit waits
(``pending_confirmation``, nothing credited); booking the same ``bank_transaction_id`` credits
exactly once; resends change nothing; the same id with other money is ``409 payin_conflict``
and changes nothing. From the review queue an operator attributes a pay-in (credited, audited
with the operator's key id and the time) or returns it (money back, nothing credited); a recall
of a credited pay-in posts ``payin_reversal`` linked to the credit, unless the partner already
spent the money: then it is refused with ``409 insufficient_balance``, nothing is posted, the
refusal replays byte for byte and the pay-in is flagged. Both actions need an
``Idempotency-Key`` and an operator key. In test mode a partner admin may simulate its own
top-up, with its own reference only.

Method: a TestClient over ``create_app(dep)`` on SQLite and PostgreSQL with a real operator key;
partners are onboarded over HTTP. Balances and ledger entries are read back over HTTP, the
suspense account and ``verify`` through the store, after every step that must change nothing.
Spending uses ``services.trading`` (quote, then execute), as a partner backend would.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from support import NO_KEY, Http, HttpPartner, assert_problem, ctx_for, suspense_minor
from zeropools.domain import references
from zeropools.domain.errors import Forbidden
from zeropools.services import payins as payin_service
from zeropools.services import trading
from zeropools.services.context import Deployment
from zeropools.services.partners import IssuedKey
from zeropools.services.verify import verify


def _review_payin(http: Http, bank_id: str = "bank-review", **fields: str) -> dict[str, object]:
    """A booked pay-in with no usable reference: it waits in the review queue."""
    response = http.payin(bank_id, "100.00", **fields)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    assert body["status"] == "needs_review", body
    return body


def _credited_payin(http: Http, partner: HttpPartner, bank_id: str = "bank-credit") -> str:
    response = http.payin(bank_id, "100.00", reference=partner.eur)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "credited"
    return str(response.json()["id"])


def _spend(dep: Deployment, partner: HttpPartner, amount: str) -> None:
    server = ctx_for("partner_server", partner.id)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount=amount, partner_order_id=None
    )
    trading.execute_trade(dep, server, quote_id=quote.quote.id, partner_order_id="order-1")


# -- the bank's notifications ----------------------------------------------------------------


def test_a_pending_credit_waits_and_booking_it_credits_exactly_once(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()

    pending = http.payin("bank-1", "250.00", booking_status="pending", reference=partner.eur)

    assert pending.status_code == 201, pending.text
    assert pending.json()["status"] == "pending_confirmation"
    assert pending.json()["ledger_entry_id"] is None
    assert http.available(partner, by="operator") == "0.00"
    assert http.entries(partner, by="operator") == []
    assert (
        http.payin("bank-1", "250.00", booking_status="pending", reference=partner.eur).json()[
            "status"
        ]
        == "pending_confirmation"
    )

    booked = http.payin("bank-1", "250.00", booking_status="booked", reference=partner.eur)

    assert booked.status_code == 200, "a known bank transaction answers 200"
    body = booked.json()
    assert body["id"] == pending.json()["id"]
    assert (body["status"], body["booking_status"]) == ("credited", "booked")
    assert body["attribution"]["method"] == "structured_reference"
    assert body["attribution"]["by"] == "system"
    assert http.available(partner, by="operator") == "250.00"
    for resend in ("booked", "pending", "booked"):
        again = http.payin("bank-1", "250.00", booking_status=resend, reference=partner.eur)
        assert again.status_code == 200, again.text
        assert again.json()["status"] == "credited"
        assert again.json()["ledger_entry_id"] == body["ledger_entry_id"]
    (entry,) = http.entries(partner, by="operator")
    assert (entry["type"], entry["amount"], entry["payin_id"]) == (
        "payin_credit",
        "250.00",
        body["id"],
    )
    assert entry["id"] == body["ledger_entry_id"]
    assert http.available(partner, by="operator") == "250.00"
    assert verify(dep.store).ok


@pytest.mark.parametrize("first_status", ["pending", "booked"])
def test_the_same_bank_id_with_another_amount_or_currency_is_a_conflict_that_changes_nothing(
    http: Http, dep: Deployment, first_status: str
) -> None:
    partner = http.partner()
    first = http.payin("bank-1", "100.00", booking_status=first_status, reference=partner.eur)
    assert first.status_code == 201, first.text
    before = http.get_payin(first.json()["id"])
    balance_before = http.available(partner, by="operator")

    for amount, currency, differences in (
        ("100.01", "EUR", ["amount"]),
        ("100", "USD", ["currency"]),
        ("99.99", "USD", ["amount", "currency"]),
    ):
        for status in ("pending", "booked"):
            refused = http.payin(
                "bank-1", amount, currency=currency, booking_status=status, reference=partner.eur
            )
            body = assert_problem(refused, 409, "payin_conflict")
            assert body["differences"] == differences
            assert body["payin_id"] == before["id"]
            assert http.get_payin(before["id"]) == before
            assert http.available(partner, by="operator") == balance_before

    # the right money still books normally: once
    booked = http.payin("bank-1", "100.0", booking_status="booked", reference=partner.eur)
    assert booked.status_code == 200, booked.text
    assert http.available(partner, by="operator") == "100.00"
    assert len(http.entries(partner, by="operator")) == 1
    assert verify(dep.store).ok


# -- the operator's review queue -------------------------------------------------------------


def test_an_operator_attributes_a_review_payin_and_the_attribution_is_audited(
    http: Http, dep: Deployment, operator_key: IssuedKey
) -> None:
    partner = http.partner()
    payin = _review_payin(http, reference=references.new_creditor_reference())
    assert [p["id"] for p in http.payins("needs_review")] == [payin["id"]]
    assert payin["attribution"] is None
    assert suspense_minor(dep, "EUR") == 100_00
    partner_view = http.client.get("/v1/payins?status=needs_review", headers=partner.admin)
    assert partner_view.json()["data"] == [], "the review queue is the operator's"

    response = http.attribute(str(payin["id"]), partner.id, key="attr-1")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "credited"
    assert body["partner_id"] == partner.id
    assert body["funding_reference"] == partner.eur
    assert body["attribution"]["method"] == "operator"
    assert body["attribution"]["by"] == operator_key.key.id
    assert str(body["attribution"]["by"]).startswith("zpk_")
    assert body["attribution"]["at"].endswith("Z")
    (entry,) = http.entries(partner, by="operator")
    assert (entry["type"], entry["amount"], entry["payin_id"], entry["id"]) == (
        "payin_credit",
        "100.00",
        payin["id"],
        body["ledger_entry_id"],
    )
    assert entry["request_id"] == response.headers["x-request-id"]
    assert http.available(partner, by="operator") == "100.00"
    assert http.payins("needs_review") == []
    assert http.get_payin(str(payin["id"])) == body
    assert suspense_minor(dep, "EUR") == 0
    assert verify(dep.store).ok


def test_attributing_twice_replays_with_the_same_key_and_is_an_invalid_transition_otherwise(
    http: Http, dep: Deployment
) -> None:
    partner, other = http.partner(name="A"), http.partner(name="B")
    payin_id = str(_review_payin(http)["id"])
    first = http.attribute(payin_id, partner.id, key="attr-1")
    assert first.status_code == 200, first.text

    replay = http.attribute(payin_id, partner.id, key="attr-1")
    assert replay.status_code == 200
    assert replay.content == first.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert replay.headers["x-request-id"] == first.headers["x-request-id"]

    again = http.attribute(payin_id, other.id, key="attr-2")
    body = assert_problem(again, 409, "invalid_transition")
    assert (body["from_status"], body["to_status"]) == ("credited", "credited")

    reused = http.attribute(payin_id, other.id, key="attr-1")
    assert assert_problem(reused, 422, "idempotency_key_reused")["differences"] == ["partner_id"]

    assert (
        len(http.entries(partner, by="operator")) == 1 and http.entries(other, by="operator") == []
    )
    assert (http.available(partner, by="operator"), http.available(other, by="operator")) == (
        "100.00",
        "0.00",
    )
    assert verify(dep.store).ok


def test_attributing_to_a_partner_without_the_currency_is_refused_and_changes_nothing(
    http: Http, dep: Deployment
) -> None:
    euro_only = http.partner(name="EUR only")
    dollars = http.partner(name="EUR and USD", currencies=("EUR", "USD"))
    payin = _review_payin(http, currency="USD", reference=euro_only.eur)
    assert payin["review_reason"] == "reference is for EUR, pay-in is USD"
    before = http.get_payin(str(payin["id"]))

    refused = http.attribute(str(payin["id"]), euro_only.id, key="attr-1")

    body = assert_problem(refused, 422, "currency_not_enabled")
    assert body["currency"] == "USD"
    assert http.get_payin(str(payin["id"])) == before
    assert http.entries(euro_only, by="operator") == []
    assert suspense_minor(dep, "USD") == 100_00
    assert assert_problem(
        http.attribute(str(payin["id"]), "partner_nobody", key="attr-2"), 404, "not_found"
    )

    accepted = http.attribute(str(payin["id"]), dollars.id, key="attr-3")
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["funding_reference"] == dollars.references["USD"]
    assert http.available(dollars, "USD", by="operator") == "100.00"
    assert suspense_minor(dep, "USD") == 0
    assert verify(dep.store).ok


def test_returning_a_review_payin_sends_the_money_back_and_credits_nobody(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()
    payin_id = str(_review_payin(http, remittance_info="no reference here")["id"])

    response = http.give_back(payin_id, "sender unknown", key="ret-1")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["return_reason"]) == ("returned", "sender unknown")
    assert body["partner_id"] is None and body["ledger_entry_id"] is None
    assert (
        http.entries(partner, by="operator") == []
        and http.available(partner, by="operator") == "0.00"
    )
    assert http.payins("needs_review") == []
    assert suspense_minor(dep, "EUR") == 0, "the money left suspense back to the sender"
    assert verify(dep.store).ok
    assert_problem(http.give_back(payin_id, "again", key="ret-2"), 409, "invalid_transition")
    assert_problem(http.attribute(payin_id, partner.id, key="attr-1"), 409, "invalid_transition")
    assert http.entries(partner, by="operator") == [] and suspense_minor(dep, "EUR") == 0


def test_a_recall_of_a_credited_payin_posts_a_reversal_linked_to_the_credit(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()
    payin_id = _credited_payin(http, partner)

    response = http.give_back(payin_id, "bank recall: fraud", key="recall-1")

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "returned"
    credit, reversal = http.entries(partner, by="operator")
    assert credit["type"] == "payin_credit"
    assert reversal["type"] == "payin_reversal"
    assert reversal["amount"] == "-100.00"
    assert reversal["related_entry_id"] == credit["id"]
    assert reversal["payin_id"] == payin_id
    assert reversal["available_after"] == "0.00"
    assert http.available(partner, by="operator") == "0.00"
    assert verify(dep.store).ok


def test_a_recall_of_money_already_spent_is_refused_flagged_and_replayed_identically(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()
    payin_id = _credited_payin(http, partner)
    _spend(dep, partner, "60.00")
    assert http.available(partner, by="operator") == "40.00"
    entries_before = http.entries(partner, by="operator")

    refused = http.give_back(payin_id, "bank recall", key="recall-1")

    body = assert_problem(refused, 409, "insufficient_balance")
    assert (body["currency"], body["requested"], body["available"], body["shortfall"]) == (
        "EUR",
        "100.00",
        "40.00",
        "60.00",
    )
    assert http.entries(partner, by="operator") == entries_before, "nothing posted"
    assert http.available(partner, by="operator") == "40.00"
    flagged = http.get_payin(payin_id)
    assert flagged["status"] == "credited"
    assert str(flagged["review_reason"]).startswith("recall refused")
    replay = http.give_back(payin_id, "bank recall", key="recall-1")
    assert replay.status_code == 409
    assert replay.content == refused.content
    assert replay.headers["idempotent-replayed"] == "true"
    assert http.entries(partner, by="operator") == entries_before
    assert verify(dep.store).ok


def test_payin_actions_without_an_idempotency_key_are_refused_and_change_nothing(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()
    review = _review_payin(http)
    credited_id = _credited_payin(http, partner)

    assert_problem(
        http.attribute(str(review["id"]), partner.id, key=NO_KEY), 400, "idempotency_key_required"
    )
    assert_problem(
        http.give_back(str(review["id"]), "why", key=NO_KEY), 400, "idempotency_key_required"
    )
    assert_problem(
        http.give_back(credited_id, "recall", key=NO_KEY), 400, "idempotency_key_required"
    )

    assert http.get_payin(str(review["id"]))["status"] == "needs_review"
    assert http.get_payin(credited_id)["status"] == "credited"
    assert http.available(partner, by="operator") == "100.00"
    assert suspense_minor(dep, "EUR") == 100_00


@pytest.mark.parametrize("role", ["admin", "server"])
def test_partner_keys_may_not_attribute_or_return_payins(
    http: Http, dep: Deployment, role: str
) -> None:
    partner = http.partner()
    review_id = str(_review_payin(http)["id"])
    credited_id = _credited_payin(http, partner)
    headers = getattr(partner, role)

    assert_problem(
        http.attribute(review_id, partner.id, key="p-1", headers=headers), 403, "forbidden"
    )
    assert_problem(http.give_back(review_id, "mine", key="p-2", headers=headers), 403, "forbidden")
    assert_problem(
        http.give_back(credited_id, "undo", key="p-3", headers=headers), 403, "forbidden"
    )

    assert http.get_payin(review_id)["status"] == "needs_review"
    assert http.get_payin(credited_id)["status"] == "credited"
    assert http.available(partner, by="operator") == "100.00"
    assert suspense_minor(dep, "EUR") == 100_00
    assert verify(dep.store).ok


def test_a_partner_refused_a_recall_leaves_the_credited_payin_unflagged(http: Http) -> None:
    """Only a recall the balance cannot cover flags the pay-in; a forbidden request is no recall.

    ``flag_refused_recall`` runs on every refusal of ``POST /v1/payins/{id}/return``, so a
    partner key's 403 writes "recall refused: The partner_admin role may not do this." on the
    pay-in the operator sees.
    """
    partner = http.partner()
    credited_id = _credited_payin(http, partner)
    before = http.get_payin(credited_id)

    refused = http.give_back(credited_id, "undo", key="p-1", headers=partner.admin)

    assert_problem(refused, 403, "forbidden")
    after = http.get_payin(credited_id)
    assert after["review_reason"] is None, after["review_reason"]
    assert after == before


# -- sandbox top-ups -------------------------------------------------------------------------


def test_in_test_mode_a_partner_admin_may_simulate_a_top_up_with_its_own_reference(
    http: Http, dep: Deployment
) -> None:
    partner = http.partner()

    created = http.payin("topup-1", "500.00", reference=partner.eur, headers=partner.admin)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "credited" and body["partner_id"] == partner.id
    assert body["bank_transaction_id"] == f"sandbox:{partner.id}:topup-1"
    resent = http.payin("topup-1", "500.00", reference=partner.eur, headers=partner.admin)
    assert resent.status_code == 200 and resent.json()["id"] == body["id"]
    in_text = http.payin(
        "topup-2", "20.00", remittance_info=f"top up {partner.eur.lower()}", headers=partner.admin
    )
    assert in_text.status_code == 201 and in_text.json()["status"] == "credited"
    assert http.available(partner, by="operator") == "520.00"
    own = http.client.get("/v1/payins", headers=partner.admin).json()["data"]
    assert {p["id"] for p in own} == {body["id"], in_text.json()["id"]}
    assert verify(dep.store).ok


def test_a_sandbox_top_up_without_the_partners_own_reference_is_forbidden(
    http: Http, dep: Deployment
) -> None:
    partner, other = http.partner(name="A"), http.partner(name="B")
    attempts = [
        {"reference": other.eur},
        {"remittance_info": f"for {other.eur}"},
        {},
        {"reference": references.new_creditor_reference()},
        {"reference": partner.eur, "currency": "USD"},
    ]

    for number, fields in enumerate(attempts):
        response = http.payin(f"topup-{number}", "500.00", headers=partner.admin, **fields)
        assert_problem(response, 403, "forbidden")

    assert http.payins() == [], "nothing was recorded"
    assert http.available(partner, by="operator") == http.available(other, by="operator") == "0.00"
    assert suspense_minor(dep, "EUR") == 0


def test_a_partner_server_key_may_not_simulate_a_top_up(http: Http) -> None:
    partner = http.partner()

    response = http.payin("topup-1", "500.00", reference=partner.eur, headers=partner.server)

    assert_problem(response, 403, "forbidden")
    assert http.payins() == [] and http.available(partner, by="operator") == "0.00"


def test_a_live_deployment_refuses_sandbox_top_ups(http: Http, dep: Deployment) -> None:
    partner = http.partner()
    live = replace(dep, mode="live")
    note = payin_service.notification(
        live,
        bank_transaction_id="topup-1",
        amount="500.00",
        currency="EUR",
        booking_status="booked",
        reference=partner.eur,
    )

    with pytest.raises(Forbidden):
        payin_service.record_payin(live, ctx_for("partner_admin", partner.id), note)

    assert http.payins() == [] and http.available(partner, by="operator") == "0.00"


def test_two_different_long_sandbox_top_ups_each_credit(http: Http) -> None:
    """Distinct bank ids stay distinct in the sandbox namespace, whatever their length.

    ``_sandbox`` prefixes ``sandbox:<partner id>:`` and then cuts the id to 200 characters, so
    two ids that differ only after character 157 become the same pay-in and the second top-up
    is answered as a resend of the first.
    """
    partner = http.partner()
    first_id, second_id = "t" * 199 + "1", "t" * 199 + "2"

    first = http.payin(first_id, "10.00", reference=partner.eur, headers=partner.admin)
    second = http.payin(second_id, "10.00", reference=partner.eur, headers=partner.admin)

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    assert http.available(partner, by="operator") == "20.00"
