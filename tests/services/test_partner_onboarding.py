"""Onboarding partners: validation, funding instructions, API keys.

Goal: an operator creates a partner in one call and gets back everything the partner needs to
fund its balance (one valid, distinct ISO 11649 reference per currency, printed in groups of
four in the instructions) and two API keys shown once; bad input is refused with the typed error
and stable code API.md names, and nothing is written.

Method: call ``services.partners`` on a real deployment of each store (``dep`` fixture) and read
the results back through the services and the store.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from support import ctx_for, onboard
from zeropools.domain import references
from zeropools.domain.errors import (
    AmountInvalid,
    AmountPrecisionExceeded,
    CurrencyNotEnabled,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from zeropools.domain.paging import Page
from zeropools.domain.partners import Partner, hash_secret
from zeropools.services import partners as partner_service
from zeropools.services.auth import authenticate
from zeropools.services.balances import get_balance, list_balances
from zeropools.services.context import Deployment


def test_a_new_partner_gets_a_valid_distinct_reference_per_currency_and_reads_back(
    dep: Deployment,
) -> None:
    new = partner_service.create_partner(
        dep,
        ctx_for(),
        name="  Acme Wallet  ",
        balance_model="reserve",
        currencies=["EUR", "USD", "GBP"],
    )
    partner = new.partner
    assert partner.id.startswith("partner_")
    assert partner.name == "Acme Wallet"  # surrounding whitespace is not part of a name
    assert partner.balance_model == "reserve"
    refs = [pc.funding_reference for pc in partner.currencies]
    assert len(set(refs)) == 3
    assert all(references.is_valid(ref) and ref == references.normalize(ref) for ref in refs)

    assert [f.currency for f in new.funding] == ["EUR", "USD", "GBP"]
    for instructions, pc in zip(new.funding, partner.currencies, strict=True):
        assert instructions.reference == pc.funding_reference
        assert instructions.iban == dep.funding_account(pc.currency).iban
        assert instructions.bic and instructions.account_holder
        assert references.format_printed(pc.funding_reference) in instructions.instructions
    for pc in partner.currencies:
        owner = dep.store.read(
            lambda tx, ref=pc.funding_reference: tx.reference_owners([ref]).get(ref)
        )
        assert owner is not None and (owner.partner_id, owner.currency) == (partner.id, pc.currency)

    # it reads back with zero balances and the same instructions
    admin = ctx_for("partner_admin", partner.id)

    def by_currency(found: Partner) -> Partner:
        # the store lists currencies by code, creation echoes the order given
        return replace(found, currencies=tuple(sorted(found.currencies, key=lambda c: c.currency)))

    assert by_currency(partner_service.get_partner(dep, admin, partner.id)) == by_currency(partner)
    assert partner_service.get_partner(dep, ctx_for(), partner.id).id == partner.id
    views = list_balances(dep, admin, None)
    assert [(v.currency, v.available_minor, v.reserved_minor, v.low) for v in views] == [
        ("EUR", 0, 0, False),
        ("GBP", 0, 0, False),
        ("USD", 0, 0, False),
    ]
    funding = partner_service.partner_funding_instructions(dep, admin, None)
    assert sorted(funding, key=lambda f: f.currency) == sorted(
        new.funding, key=lambda f: f.currency
    )
    listed = partner_service.list_partners(dep, ctx_for(), Page(10))
    assert [p.id for p in listed] == [partner.id]


def test_partner_keys_are_stored_hashed_and_authenticate_until_revoked(dep: Deployment) -> None:
    new = onboard(dep)
    assert sorted(issued.key.role for issued in new.keys) == ["partner_admin", "partner_server"]
    for issued in new.keys:
        assert issued.secret.startswith("zpk_test_")
        assert issued.key.partner_id == new.partner.id
        assert issued.key.last4 == issued.secret[-4:]
        stored = dep.store.read(lambda tx, k=issued.key: tx.get_api_key(k.id))
        assert stored == issued.key
        # a keyed hash (HMAC with the deployment's pepper), not the plain sha256 of old
        assert stored.secret_hash == dep.key_hasher.digest(issued.secret) != issued.secret
        assert stored.secret_hash != hash_secret(issued.secret)
        actor = authenticate(dep, f"Bearer {issued.secret}")
        assert (actor.role, actor.partner_id) == (issued.key.role, new.partner.id)
    assert new.keys[0].secret != new.keys[1].secret

    # more keys are issued and revoked by operators only
    issued = partner_service.issue_api_key(dep, ctx_for(), new.partner.id, "partner_server")
    assert authenticate(dep, f"Bearer {issued.secret}").partner_id == new.partner.id
    revoked = partner_service.revoke_api_key(dep, ctx_for(), issued.key.id)
    assert revoked.revoked_at is not None
    with pytest.raises(NotFound):
        partner_service.issue_api_key(dep, ctx_for(), "partner_nope", "partner_server")
    with pytest.raises(ValidationFailed):
        partner_service.issue_api_key(dep, ctx_for(), new.partner.id, "operator")
    with pytest.raises(NotFound):
        partner_service.revoke_api_key(dep, ctx_for(), "zpk_nope")
    with pytest.raises(Forbidden):
        partner_service.issue_api_key(
            dep, ctx_for("partner_admin", new.partner.id), new.partner.id, "partner_server"
        )


def test_low_balance_thresholds_are_parsed_as_money(dep: Deployment) -> None:
    # zero is a valid threshold: "never low"
    for text, expected_minor in (("100", 10_000), ("100.5", 10_050), ("0", 0)):
        new = partner_service.create_partner(
            dep,
            ctx_for(),
            name=f"Threshold {text}",
            balance_model="debit",
            currencies=["EUR", "USD"],
            low_balance_threshold={"EUR": text},
        )
        eur, usd = new.partner.currency("EUR"), new.partner.currency("USD")
        assert eur is not None and usd is not None
        assert eur.low_balance_threshold_minor == expected_minor
        assert usd.low_balance_threshold_minor is None
        view = get_balance(dep, ctx_for("partner_admin", new.partner.id), None, "EUR")
        assert view.low_balance_threshold_minor == expected_minor
        assert view.low is (expected_minor > 0)


INVALID_PARTNERS: list[tuple[dict[str, object], type[Exception], str | None]] = [
    ({"name": ""}, ValidationFailed, "name"),
    ({"name": "   "}, ValidationFailed, "name"),
    ({"name": "x" * 201}, ValidationFailed, "name"),
    ({"balance_model": "credit"}, ValidationFailed, "balance_model"),
    ({"currencies": []}, ValidationFailed, "currencies"),
    ({"currencies": ["EUR", "EUR"]}, ValidationFailed, "currencies"),
    ({"currencies": ["XYZ"]}, CurrencyNotEnabled, None),
    ({"currencies": ["eur"]}, CurrencyNotEnabled, None),
    ({"currencies": ["EUR", "XYZ"]}, CurrencyNotEnabled, None),
    ({"low_balance_threshold": {"USD": "1.00"}}, ValidationFailed, "low_balance_threshold.USD"),
    ({"low_balance_threshold": {"EUR": "-1"}}, AmountInvalid, None),
    ({"low_balance_threshold": {"EUR": 100}}, AmountInvalid, None),
    ({"low_balance_threshold": {"EUR": "1.001"}}, AmountPrecisionExceeded, None),
]


def test_invalid_partners_are_refused_with_typed_errors_and_nothing_is_written(
    dep: Deployment,
) -> None:
    for kwargs, error, field in INVALID_PARTNERS:
        arguments: dict[str, object] = {
            "name": "Acme Wallet",
            "balance_model": "debit",
            "currencies": ["EUR"],
            **kwargs,
        }
        with pytest.raises(error) as caught:
            partner_service.create_partner(dep, ctx_for(), **arguments)  # type: ignore[arg-type]
        if field is not None:
            assert isinstance(caught.value, ValidationFailed), kwargs
            assert [e["field"] for e in caught.value.extra["errors"]] == [field], kwargs
        if error is CurrencyNotEnabled:
            assert caught.value.code == "currency_not_enabled"  # type: ignore[attr-defined]
    assert dep.store.read(lambda tx: tx.partner_ids()) == []
    # the longest name allowed is accepted
    assert onboard(dep, name="n" * 200).partner.name == "n" * 200
