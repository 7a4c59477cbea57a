"""A quote reads its partner's currencies once per process, and still refuses what it must.

Goal (issue 13, the hot path): every quote checked that the partner has the pool's source
currency by reading the partner (one statement per quote, a round trip on PostgreSQL). A
partner's currencies are fixed when it is created (no API adds or removes one, partners are
never deleted), so ``Deployment.partner_currencies`` keeps them after the first read. What must
still hold: ``currency_not_enabled`` for a currency the partner lacks (with the currencies it
has), before and after the first read; ``not_found`` for a partner that does not exist, which is
never remembered (it may be created later).

Method: the service layer on both stores; ``SqlPartners.get_partner`` counted by wrapping it.
"""

from __future__ import annotations

import pytest

from support import ctx_for, onboard, recorded_calls, server_ctx
from zeropools.domain.errors import CurrencyNotEnabled, NotFound
from zeropools.services import trading
from zeropools.services.context import Deployment
from zeropools.store.sql.partners import SqlPartners


@pytest.fixture
def partner_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return recorded_calls(monkeypatch, SqlPartners, "get_partner")


def _quote(dep: Deployment, partner_id: str, pool_id: str = "EUR-USDT") -> str:
    view = trading.create_quote(
        dep,
        server_ctx(partner_id),
        pool_id=pool_id,
        source_amount="10.00",
        partner_order_id=None,
    )
    return view.quote.id


def test_a_partners_currencies_are_read_by_its_first_quote_only(
    dep: Deployment, partner_reads: list[str]
) -> None:
    partner_id = onboard(dep, currencies=["EUR"]).partner.id
    quotes = {_quote(dep, partner_id) for _ in range(3)}
    assert len(quotes) == 3
    assert partner_reads.count(partner_id) == 1
    assert dep.partner_currencies[partner_id] == frozenset({"EUR"})


def test_a_currency_the_partner_lacks_is_refused_before_and_after_the_first_read(
    dep: Deployment, partner_reads: list[str]
) -> None:
    partner_id = onboard(dep, currencies=["EUR", "GBP"]).partner.id
    for _ in range(2):  # the first refusal reads the partner, the second remembers
        with pytest.raises(CurrencyNotEnabled) as refused:
            _quote(dep, partner_id, pool_id="USD-USDT")
        assert refused.value.extra["enabled"] == ["EUR", "GBP"]
    assert partner_reads.count(partner_id) == 1


def test_a_partner_that_does_not_exist_is_not_found_and_not_remembered(
    dep: Deployment, partner_reads: list[str]
) -> None:
    for _ in range(2):
        with pytest.raises(NotFound):
            trading.create_quote(
                dep,
                ctx_for(),
                pool_id="EUR-USDT",
                source_amount="10.00",
                partner_order_id=None,
                partner_id="partner_01NOSUCHPARTNER0000000000",
            )
    assert partner_reads.count("partner_01NOSUCHPARTNER0000000000") == 2
    assert "partner_01NOSUCHPARTNER0000000000" not in dep.partner_currencies
