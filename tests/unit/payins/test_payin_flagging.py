"""Only a refused recall flags a pay-in; an operator's attribution never does.

Goal: ``flagged`` (API.md pay-in object, ``GET /v1/payins?flagged=true``) is the operator's
queue of credited pay-ins that still need them, which today means one thing: a bank recall the
partner's balance could not cover. A pay-in an operator attributed from the review queue is
settled business and must come back unflagged and stay out of that list, beside a real refused
recall that stays in it.

Method: drive ``services.payins`` on a real deployment of each store: park a pay-in without a
reference, attribute it as the operator, and refuse a recall of spent money on another; then
read both back through ``get_payin``, ``list_payins(flagged=...)`` and the API's view.
"""

from __future__ import annotations

import pytest

from support import ctx_for, onboard, reference_of, send_payin
from zeropools.domain.errors import InsufficientBalance
from zeropools.domain.paging import Page
from zeropools.representations import objects as views
from zeropools.services import payins as payin_service
from zeropools.services import trading
from zeropools.services.context import Deployment


def _attributed_from_review(dep: Deployment, partner_id: str) -> str:
    parked = send_payin(dep, "bank-review", "100.00", reference=None).payin
    assert (parked.status, parked.review_reason) == ("needs_review", "no payment reference")
    ctx = ctx_for()
    dep.store.write(lambda tx: payin_service.attribute_in(dep, ctx, tx, parked.id, partner_id))
    return parked.id


def _recall_refused(dep: Deployment, partner_id: str, reference: str) -> str:
    credited = send_payin(dep, "bank-credit", "100.00", reference=reference).payin
    server = ctx_for("partner_server", partner_id)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount="150.00", partner_order_id=None
    )
    trading.execute_trade(dep, server, quote_id=quote.quote.id, partner_order_id="spend")
    ctx = ctx_for()
    with pytest.raises(InsufficientBalance) as refused:
        dep.store.write(lambda tx: payin_service.return_in(dep, ctx, tx, credited.id, "recall"))
    flag = payin_service.flag_refused_recall(ctx, credited.id)
    dep.store.write(lambda tx: flag(tx, refused.value))
    return credited.id


def test_an_operator_attributed_payin_is_not_flagged_and_not_listed_as_flagged(
    dep: Deployment,
) -> None:
    new = onboard(dep)
    attributed_id = _attributed_from_review(dep, new.partner.id)
    refused_id = _recall_refused(dep, new.partner.id, reference_of(new))
    operator = ctx_for()

    attributed = payin_service.get_payin(dep, operator, attributed_id)
    assert attributed.status == "credited"
    assert attributed.attribution_method == "operator"
    assert views.payin(attributed, dep.currencies)["flagged"] is False
    flagged = payin_service.list_payins(dep, operator, None, None, Page(10), flagged=True)
    assert [p.id for p in flagged] == [refused_id]
    unflagged = payin_service.list_payins(dep, operator, None, None, Page(10), flagged=False)
    assert attributed_id in [p.id for p in unflagged]
    assert refused_id not in [p.id for p in unflagged]
    refused = payin_service.get_payin(dep, operator, refused_id)
    assert views.payin(refused, dep.currencies)["flagged"] is True
