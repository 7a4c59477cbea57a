"""Events: written in the transaction of their change, gap-free per partner, the object as GET.

Goal: every change a partner can observe announces itself exactly once on its stream (pay-in
credited, trade reserved/debited/settled/released/failed/returned, refused, adjustment posted,
balance low/replenished), with a gap-free sequence from 1 and ``data.object`` equal to what
``GET`` returned at that moment; refused or failed commands leave no event of their change;
idempotent replays add none; review pay-ins go to the platform stream; concurrent commands keep
the sequence gap-free.
Method: the service layer on real SQLite and PostgreSQL; the HTTP reads (``GET /v1/events``)
through the app, since that is where bytes are compared.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from support import (
    app_client,
    bearer,
    ctx_for,
    issue_operator_key,
    onboard,
    reference_of,
    send_payin,
)
from zeropools.domain import trades
from zeropools.domain.errors import InsufficientBalance
from zeropools.domain.paging import Page
from zeropools.services import adjustments, events, partners, trading
from zeropools.services.context import Deployment
from zeropools.services.partners import NewPartner


def _fund(dep: Deployment, new: NewPartner, amount: str) -> None:
    send_payin(dep, f"bank-{uuid.uuid4()}", amount, reference=reference_of(new))


def _events(dep: Deployment, partner_id: str | None, after: int = 0) -> list[dict[str, Any]]:
    actor = ctx_for("operator")
    found = events.list_events(
        dep, actor, partner_id=partner_id, after_sequence=after, types=[], page=Page.of(1000)
    )
    return [json.loads(e.body) for e in found]


def _key(new: NewPartner, role: str) -> str:
    return next(k.secret for k in new.keys if k.key.role == role)


def _execute(dep: Deployment, partner_id: str, amount: str, order: str) -> trading.TradeView:
    server = ctx_for("partner_server", partner_id)
    quote = trading.create_quote(
        dep, server, pool_id="EUR-USDT", source_amount=amount, partner_order_id=None
    )
    return trading.execute_trade(dep, server, quote_id=quote.quote.id, partner_order_id=order)


def test_funding_and_a_trade_announce_credit_and_debit_in_order(dep: Deployment) -> None:
    new = onboard(dep)
    partner_id = new.partner.id
    _fund(dep, new, "1000.00")
    view = _execute(dep, partner_id, "100.00", "order-1")
    trading.move_trade(dep, ctx_for("operator"), view.trade.id, trades.SETTLED)

    found = _events(dep, partner_id)

    assert [e["type"] for e in found] == ["payin.credited", "trade.debited", "trade.settled"]
    assert [e["sequence"] for e in found] == [1, 2, 3]
    assert all(e["object"] == "event" and e["id"].startswith("evt_") for e in found)
    assert found[1]["data"]["object"]["id"] == view.trade.id
    assert found[1]["data"]["object"]["status"] == "debited"
    assert found[2]["data"]["object"]["status"] == "settled"


def test_the_reserve_model_announces_reserved_then_released(dep: Deployment) -> None:
    new = onboard(dep, balance_model="reserve")
    _fund(dep, new, "100.00")
    view = _execute(dep, new.partner.id, "30.00", "order-r")
    trading.move_trade(
        dep, ctx_for("partner_server", new.partner.id), view.trade.id, trades.RELEASED
    )

    kinds = [e["type"] for e in _events(dep, new.partner.id)]

    assert kinds == ["payin.credited", "trade.reserved", "trade.released"]


def test_a_refused_execution_announces_trade_refused_and_nothing_else(dep: Deployment) -> None:
    new = onboard(dep)
    _fund(dep, new, "10.00")

    with pytest.raises(InsufficientBalance):
        _execute(dep, new.partner.id, "30.00", "order-x")

    found = _events(dep, new.partner.id)
    assert [e["type"] for e in found] == ["payin.credited", "trade.refused"]
    refused = found[1]["data"]["object"]
    assert refused["object"] == "trade_refusal"
    assert refused["code"] == "insufficient_balance"
    assert refused["partner_order_id"] == "order-x"


def test_crossing_the_threshold_announces_low_then_replenished(dep: Deployment) -> None:
    created = partners.create_partner(
        dep,
        ctx_for(),
        name="Thresholds",
        balance_model="debit",
        currencies=["EUR"],
        low_balance_threshold={"EUR": "100.00"},
    )
    _fund(dep, created, "150.00")  # from 0 (low) to 150: replenished
    _execute(dep, created.partner.id, "80.00", "order-low")  # 150 -> 70: low
    _execute(dep, created.partner.id, "10.00", "order-lower")  # 70 -> 60: still low, no event
    _fund(dep, created, "40.00")  # 60 -> 100: replenished (100 is not below 100)

    kinds = [e["type"] for e in _events(dep, created.partner.id)]

    assert kinds == [
        "payin.credited",
        "balance.replenished",
        "trade.debited",
        "balance.low",
        "trade.debited",
        "payin.credited",
        "balance.replenished",
    ]
    low = next(e for e in _events(dep, created.partner.id) if e["type"] == "balance.low")
    assert low["data"]["object"]["available"] == "70.00"
    assert low["data"]["object"]["low"] is True


def test_an_adjustment_announces_its_entry(dep: Deployment) -> None:
    new = onboard(dep)
    _fund(dep, new, "50.00")
    entry = adjustments.adjust(
        dep, ctx_for(), partner_id=new.partner.id, currency="EUR", amount="-5.00", reason="fee"
    )

    last = _events(dep, new.partner.id)[-1]

    assert last["type"] == "adjustment.posted"
    assert last["data"]["object"]["id"] == entry.id
    assert last["data"]["object"]["amount"] == "-5.00"


def test_a_pay_in_without_a_reference_goes_to_the_platform_stream(dep: Deployment) -> None:
    new = onboard(dep)
    send_payin(dep, "bank-unknown", "20.00", reference=None, remittance_info="no ref here")

    platform = _events(dep, None)

    assert [e["type"] for e in platform] == ["payin.needs_review"]
    assert platform[0]["sequence"] == 1
    assert _events(dep, new.partner.id) == []


def test_a_resent_pay_in_announces_nothing_new(dep: Deployment) -> None:
    new = onboard(dep)
    for _ in range(3):
        send_payin(dep, "bank-same", "25.00", reference=reference_of(new))

    assert [e["type"] for e in _events(dep, new.partner.id)] == ["payin.credited"]


def test_events_of_concurrent_executions_stay_gap_free(dep: Deployment) -> None:
    new = onboard(dep)
    _fund(dep, new, "1000.00")
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            _execute(dep, new.partner.id, "10.00", f"order-{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    found = _events(dep, new.partner.id)
    assert errors == []
    assert [e["sequence"] for e in found] == list(range(1, 18))
    assert sorted(e["type"] for e in found) == ["payin.credited"] + ["trade.debited"] * 16


def test_over_http_events_page_gap_free_and_match_the_objects_as_read(dep: Deployment) -> None:
    new = onboard(dep)
    headers = bearer(_key(new, "partner_server"))
    _fund(dep, new, "1000.00")
    with app_client(dep) as client:
        quote = client.post(
            "/v1/quotes", json={"pool_id": "EUR-USDT", "source_amount": "12.00"}, headers=headers
        ).json()
        trade = client.post(
            "/v1/trades",
            json={"quote_id": quote["id"], "partner_order_id": "o-http"},
            headers={**headers, "Idempotency-Key": "k-http"},
        )
        replay = client.post(
            "/v1/trades",
            json={"quote_id": quote["id"], "partner_order_id": "o-http"},
            headers={**headers, "Idempotency-Key": "k-http"},
        )
        as_read = client.get(f"/v1/trades/{trade.json()['id']}", headers=headers).json()
        first = client.get("/v1/events?after_sequence=0&limit=1", headers=headers)
        second = client.get("/v1/events?after_sequence=1&limit=1", headers=headers)
        rest = client.get("/v1/events?after_sequence=2", headers=headers)
        only_trades = client.get("/v1/events?type=trade.debited", headers=headers)
        one = client.get(f"/v1/events/{second.json()['data'][0]['id']}", headers=headers)

    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert first.json()["has_more"] is True
    assert [e["type"] for e in first.json()["data"]] == ["payin.credited"]
    event = second.json()["data"][0]
    assert event["type"] == "trade.debited" and event["sequence"] == 2
    assert event["request_id"] == trade.headers["X-Request-Id"]
    assert event["data"]["object"] == as_read  # the object exactly as GET returns it
    assert rest.json() == {"object": "list", "data": [], "has_more": False}  # replay: no event
    assert [e["sequence"] for e in only_trades.json()["data"]] == [2]
    assert one.json() == event


def test_partners_never_see_each_others_events(dep: Deployment) -> None:
    mine, theirs = onboard(dep), onboard(dep, name="Other")
    _fund(dep, theirs, "10.00")
    their_event = _events(dep, theirs.partner.id)[0]["id"]
    headers = bearer(_key(mine, "partner_server"))
    with app_client(dep) as client:
        by_id = client.get(f"/v1/events/{their_event}", headers=headers)
        by_stream = client.get(f"/v1/events?partner_id={theirs.partner.id}", headers=headers)
        platform = client.get("/v1/events", headers=headers)
        unknown = _operator_get(client, dep, "/v1/events?partner_id=partner_nope")

    assert by_id.status_code == 404 and by_id.json()["code"] == "not_found"
    assert by_stream.status_code == 404
    assert platform.json()["data"] == []  # its own stream, empty; never the platform's
    assert unknown.status_code == 404


def _operator_get(client: TestClient, dep: Deployment, path: str) -> Any:
    return client.get(path, headers=bearer(issue_operator_key(dep).secret))
