"""Who may do what: API-key authentication and role/partner scoping at the service layer.

Goal: only a live, unrevoked key of the deployment's mode authenticates (everything else is the
same ``Unauthenticated``, so a caller learns nothing about a key); a role without permission
gets ``Forbidden``; a partner key naming another partner's objects gets ``NotFound``, exactly as
if they did not exist (API.md "Authentication and roles").

Method: onboard two partners with real keys on each store, authenticate with good, revoked,
wrong-mode and garbage credentials, then call the services as each role against its own and
the other partner's objects.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from support import ctx_for, entries_of, onboard, reference_of, send_payin
from zeropools.domain import ids
from zeropools.domain.errors import Forbidden, NotFound, Unauthenticated, ValidationFailed
from zeropools.domain.ledger import EntryFilter
from zeropools.domain.paging import Page
from zeropools.domain.partners import ApiKey, hash_secret, new_api_key_secret
from zeropools.services import partners as partner_service
from zeropools.services import payins as payin_service
from zeropools.services.auth import authenticate
from zeropools.services.balances import get_balance, list_balances
from zeropools.services.context import Deployment
from zeropools.services.ledger import get_entry, list_entries


def test_authenticate_accepts_only_live_keys_of_the_deployment_mode(dep: Deployment) -> None:
    new = onboard(dep)
    admin, server = sorted(new.keys, key=lambda issued: issued.key.role)
    for issued in (admin, server):
        actor = authenticate(dep, f"Bearer {issued.secret}")
        assert (actor.key_id, actor.role, actor.partner_id) == (
            issued.key.id,
            issued.key.role,
            new.partner.id,
        )
        assert not actor.is_operator
    assert authenticate(dep, f"bearer   {server.secret} ").key_id == server.key.id

    operator_secret = new_api_key_secret("test")
    partner_service.ensure_operator_key(dep, operator_secret, "2026-11-23T09:00:00.000000Z")
    operator = authenticate(dep, f"Bearer {operator_secret}")
    assert operator.is_operator and operator.partner_id is None

    partner_service.revoke_api_key(dep, ctx_for(), server.key.id)
    # a key of the other mode, even one stored in this database, is refused
    live_secret = new_api_key_secret("live")
    live_key = ApiKey(
        id=ids.new_id(ids.API_KEY),
        partner_id=new.partner.id,
        role="partner_admin",
        mode="live",
        secret_hash=hash_secret(live_secret),
        last4=live_secret[-4:],
        created_at="2026-11-23T09:00:00.000000Z",
    )
    dep.store.write(lambda tx: tx.insert_api_key(live_key))
    refused = [
        None,
        "",
        "Bearer",
        "Bearer ",
        admin.secret,  # no scheme
        f"Basic {admin.secret}",
        f"Bearer {server.secret}",  # revoked
        f"Bearer {live_secret}",  # wrong mode
        f"Bearer {admin.secret.replace('zpk_test_', 'zpk_live_')}",
        f"Bearer {admin.secret}x",
        f"Bearer {new_api_key_secret('test')}",  # well formed, unknown
        "Bearer zpk_test_",
        "Bearer garbage",
        "Bearer \u0000\u00ff\U0001f600",
    ]
    for authorization in refused:
        with pytest.raises(Unauthenticated) as caught:
            authenticate(dep, authorization)
        assert caught.value.code == "unauthenticated"
    messages = set()
    for authorization in (f"Bearer {server.secret}", "Bearer zpk_test_nope", "Bearer nope"):
        with pytest.raises(Unauthenticated) as caught:
            authenticate(dep, authorization)
        messages.add(caught.value.detail)
    assert len(messages) == 1  # revoked and unknown keys look the same
    # a key of the other mode is told the deployment's mode (no secret: /healthz says it),
    # by its prefix alone, so the answer says nothing about the key itself
    with pytest.raises(Unauthenticated) as caught:
        authenticate(dep, f"Bearer {live_secret}")
    assert "zpk_test_" in caught.value.detail
    with pytest.raises(Unauthenticated) as other:
        authenticate(dep, "Bearer zpk_live_nope")
    assert other.value.detail == caught.value.detail
    assert authenticate(dep, f"Bearer {admin.secret}").partner_id == new.partner.id
    # and a live deployment refuses this test deployment's good key
    with pytest.raises(Unauthenticated):
        authenticate(replace(dep, mode="live"), f"Bearer {admin.secret}")


def test_partner_keys_cannot_do_operator_work(dep: Deployment) -> None:
    new = onboard(dep)
    for role in ("partner_admin", "partner_server"):
        ctx = ctx_for(role, new.partner.id)
        with pytest.raises(Forbidden) as caught:
            partner_service.create_partner(
                dep, ctx, name="Sneaky", balance_model="debit", currencies=["EUR"]
            )
        assert caught.value.code == "forbidden"
        with pytest.raises(Forbidden):
            partner_service.list_partners(dep, ctx, Page(10))
        with pytest.raises(Forbidden):
            partner_service.revoke_api_key(dep, ctx, new.keys[0].key.id)
        with pytest.raises(Forbidden):
            partner_service.issue_api_key(dep, ctx, new.partner.id, "partner_server")
    server = ctx_for("partner_server", new.partner.id)
    with pytest.raises(Forbidden):
        send_payin(dep, "BANK-1", "1000", reference=reference_of(new), ctx=server)
    with pytest.raises(Forbidden):
        payin_service.list_payins(dep, server, None, None, Page(1))
    assert dep.store.read(lambda tx: tx.partner_ids()) == [new.partner.id]
    assert entries_of(dep, new.partner.id) == []


def test_a_partner_cannot_see_another_partners_objects(dep: Deployment) -> None:
    mine = onboard(dep, name="Mine")
    theirs = onboard(dep, name="Theirs")
    credited = send_payin(dep, "BANK-T", "50", reference=reference_of(theirs)).payin
    assert credited.ledger_entry_id is not None
    for role in ("partner_admin", "partner_server"):
        ctx = ctx_for(role, mine.partner.id)
        with pytest.raises(NotFound) as caught:
            get_balance(dep, ctx, theirs.partner.id, "EUR")
        assert caught.value.code == "not_found"
        with pytest.raises(NotFound):
            list_balances(dep, ctx, theirs.partner.id)
        with pytest.raises(NotFound):
            list_entries(dep, ctx, theirs.partner.id, EntryFilter(), Page(10))
        with pytest.raises(NotFound):
            get_entry(dep, ctx, credited.ledger_entry_id)
        with pytest.raises(NotFound):
            partner_service.partner_funding_instructions(dep, ctx, theirs.partner.id)
        # the own reads still work, and show nothing of the other partner
        assert get_balance(dep, ctx, None, "EUR").available_minor == 0
        assert get_balance(dep, ctx, mine.partner.id, "EUR").available_minor == 0
        assert list_entries(dep, ctx, None, EntryFilter(), Page(10)) == []

    admin = ctx_for("partner_admin", mine.partner.id)
    with pytest.raises(NotFound):
        partner_service.get_partner(dep, admin, theirs.partner.id)
    with pytest.raises(NotFound):
        payin_service.get_payin(dep, admin, credited.id)
    with pytest.raises(NotFound):
        get_balance(dep, admin, None, "USD")  # a currency the partner does not have

    # the same ids are fine for the operator, who must name the partner for scoped reads
    operator = ctx_for()
    assert get_balance(dep, operator, theirs.partner.id, "EUR").available_minor == 5_000
    assert get_entry(dep, operator, credited.ledger_entry_id).links.payin_id == credited.id
    with pytest.raises(ValidationFailed):
        get_balance(dep, operator, None, "EUR")
