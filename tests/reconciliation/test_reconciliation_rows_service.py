"""Reconciliation rows of a day, their states, and acknowledging the ones that need it.

Goal: a day gives one row per trade and per pay-in created in it (in the asked time zone),
newest first, each joined to its entries, quote, order id and funding reference, with the state
the domain gives it; ``state`` and ``pool_id`` filter; pages walk the day without gaps; a failed
or returned trade and a recalled pay-in stay open until acknowledged, once, with an event;
anything else is refused; other partners' rows are 404 and server keys may not reconcile.
Method: a day laid out through the services on a fixed clock (``recon_support.Book``), read
through ``services.reconciliation`` on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

import pytest
from recon_support import DAY_BEFORE, DAY_TEXT, Book, at

from support import ctx_for
from zeropools.domain.errors import Forbidden, InvalidTransition, NotFound, ValidationFailed
from zeropools.domain.paging import Page
from zeropools.domain.reconciliation import ReconRow
from zeropools.services import dispatch, events, reconciliation
from zeropools.services.commands import Acknowledge
from zeropools.services.context import Ctx, Deployment


def rows(
    dep: Deployment, ctx: Ctx, *, page: Page | None = None, **filters: str | None
) -> list[ReconRow]:
    return reconciliation.list_rows(
        dep,
        ctx,
        partner_id=filters.pop("partner_id", None),
        date=filters.pop("date", DAY_TEXT),
        tz=filters.pop("tz", None),
        state=filters.pop("state", None),
        pool_id=filters.pop("pool_id", None),
        page=page or Page.of(100),
    )


def a_day(dep: Deployment) -> tuple[Book, dict[str, str]]:
    """Credits, a settled trade, a failure, a return, a release, an open trade, a recall; and a
    trade of the day before, which is not the day's."""
    book = Book.open(dep)
    ids: dict[str, str] = {}
    book.fund("10.00", at(8, day=DAY_BEFORE))
    book.trade("10.00", "yesterday", at(23, 0, day=DAY_BEFORE))
    ids["credit"] = book.fund("1000.00", at(9)).id
    ids["settled"] = book.trade("100.00", "order-settled", at(9, 15)).id
    book.move(ids["settled"], "settled", at(9, 20))
    ids["failed"] = book.trade("50.00", "order-failed", at(10)).id
    book.move(ids["failed"], "failed", at(10, 5))
    ids["returned"] = book.trade("25.00", "order-returned", at(11)).id
    book.move(ids["returned"], "settled", at(11, 5))
    book.move(ids["returned"], "returned", at(12))
    ids["released"] = book.trade("10.00", "order-released", at(13)).id
    book.move(ids["released"], "released", at(13, 1))
    ids["open"] = book.trade("20.00", "order-open", at(14)).id
    ids["recalled"] = book.fund("5.00", at(15)).id
    book.recall(ids["recalled"], at(15, 30))
    return book, ids


def test_a_day_has_one_row_per_trade_and_payin_newest_first_with_its_state(
    dep: Deployment,
) -> None:
    book, ids = a_day(dep)
    found = rows(dep, book.admin())
    assert [row.id for row in found] == [
        ids["recalled"],
        ids["open"],
        ids["released"],
        ids["returned"],
        ids["failed"],
        ids["settled"],
        ids["credit"],
    ]
    state = {row.id: (row.kind, row.status, row.state) for row in found}
    assert state == {
        ids["recalled"]: ("payin", "returned", "open"),
        ids["open"]: ("trade", "debited", "open"),
        ids["released"]: ("trade", "released", "reconciled"),
        ids["returned"]: ("trade", "returned", "open"),
        ids["failed"]: ("trade", "failed", "open"),
        ids["settled"]: ("trade", "settled", "reconciled"),
        ids["credit"]: ("payin", "credited", "reconciled"),
    }
    by_id = {row.id: row for row in found}
    settled = by_id[ids["settled"]]
    assert (settled.balance_delta_minor, settled.partner_order_id) == (-10_000, "order-settled")
    assert settled.ledger_ref == settled.quote_id and settled.quote_id.startswith("pq_test_")
    assert settled.funding_reference == book.reference
    assert len(settled.ledger_entry_ids) == 1
    assert by_id[ids["released"]].balance_delta_minor == 0
    assert len(by_id[ids["returned"]].ledger_entry_ids) == 2  # the debit and the return
    recall = by_id[ids["recalled"]]
    assert (recall.balance_delta_minor, len(recall.ledger_entry_ids)) == (0, 2)
    assert by_id[ids["credit"]].balance_delta_minor == 100_000
    assert [row.kind for row in rows(dep, book.admin(), date="2026-11-22")] == ["trade", "payin"]


def test_state_and_pool_filter_and_pages_walk_the_day_without_gaps(dep: Deployment) -> None:
    book, ids = a_day(dep)
    everything = [row.id for row in rows(dep, book.admin())]
    walked: list[str] = []
    cursor = None
    while True:
        page = Page.of(2, cursor)
        found, more = page.split(rows(dep, book.admin(), page=page))
        walked += [row.id for row in found]
        if not more:
            break
        cursor = found[-1].id
    assert walked == everything
    opened = [row.id for row in rows(dep, book.admin(), state="open")]
    assert opened == [ids["recalled"], ids["open"], ids["returned"], ids["failed"]]
    pooled = rows(dep, book.admin(), pool_id="EUR-USDT")
    assert {row.kind for row in pooled} == {"trade"} and len(pooled) == 5
    assert rows(dep, book.admin(), pool_id="USD-USDT") == []
    with pytest.raises(NotFound):
        rows(dep, book.admin(), page=Page.of(2, "pt_test_unknown"))
    with pytest.raises(ValidationFailed):
        rows(dep, book.admin(), state="closed")
    with pytest.raises(ValidationFailed):
        rows(dep, book.admin(), tz="Mars/Olympus_Mons")


def test_the_time_zone_moves_the_days_bounds(dep: Deployment) -> None:
    book = Book.open(dep)
    book.fund("10.00", at(8, day=DAY_BEFORE))
    late = book.trade("10.00", "late", at(23, 30, day=DAY_BEFORE))
    # 23:30 UTC on the 22nd is 00:30 on the 23rd in Berlin
    assert [row.id for row in rows(dep, book.admin(), tz="Europe/Berlin")] == [late.id]
    assert rows(dep, book.admin()) == []
    assert rows(dep, book.admin(), date="2026-11-22")[0].id == late.id


def test_acknowledging_reconciles_a_row_once_and_announces_it(dep: Deployment) -> None:
    book, ids = a_day(dep)
    admin = book.admin(at(18))
    done = dispatch.apply(dep, admin, Acknowledge(ids["failed"], "  refund seen in our books "))
    assert done.new and done.row.state == "reconciled"
    ack = done.row.acknowledgement
    assert ack is not None
    assert (ack.acknowledged_by, ack.note, ack.source) == (
        admin.actor.key_id if admin.actor else None,
        "refund seen in our books",
        "api",
    )
    assert ack.acknowledged_at.startswith("2026-11-23T18:00:00")
    again = dispatch.apply(dep, book.admin(at(19)), Acknowledge(ids["failed"], "again"))
    assert not again.new and again.row.acknowledgement == ack
    operator_ack = dispatch.apply(dep, ctx_for("operator"), Acknowledge(ids["recalled"], "ok"))
    assert operator_ack.row.state == "reconciled"
    stream = events.list_events(
        dep,
        ctx_for("operator"),
        partner_id=book.partner_id,
        after_sequence=0,
        types=["reconciliation.acknowledged"],
        page=Page.of(100),
    )
    bodies = [json.loads(e.body)["data"]["object"] for e in stream]
    assert [(b["id"], b["reconciliation_state"], b["note"]) for b in bodies] == [
        (ids["failed"], "reconciled", "refund seen in our books"),
        (ids["recalled"], "reconciled", "ok"),
    ]
    opened = [row.id for row in rows(dep, book.admin(), state="open")]
    assert opened == [ids["open"], ids["returned"]]


@pytest.mark.parametrize("which", ["settled", "open", "released", "credit"])
def test_a_row_that_needs_no_acknowledgement_is_refused(dep: Deployment, which: str) -> None:
    book, ids = a_day(dep)
    with pytest.raises(InvalidTransition) as refused:
        dispatch.apply(dep, book.admin(), Acknowledge(ids[which], "seen"))
    assert refused.value.extra["to_status"] == "acknowledged"
    with pytest.raises(ValidationFailed):
        dispatch.apply(dep, book.admin(), Acknowledge(ids["failed"], "   "))


def test_other_partners_rows_are_not_found_and_server_keys_may_not_reconcile(
    dep: Deployment,
) -> None:
    book, ids = a_day(dep)
    other = Book.open(dep, name="Other")
    with pytest.raises(NotFound):
        dispatch.apply(dep, other.admin(), Acknowledge(ids["failed"], "not mine"))
    with pytest.raises(NotFound):
        dispatch.apply(dep, book.admin(), Acknowledge("pt_test_nothing", "x"))
    with pytest.raises(NotFound):
        rows(dep, other.admin(), partner_id=book.partner_id)
    assert rows(dep, other.admin()) == []
    with pytest.raises(Forbidden):
        rows(dep, book.server())
    with pytest.raises(Forbidden):
        dispatch.apply(dep, book.server(), Acknowledge(ids["failed"], "x"))
    with pytest.raises(ValidationFailed):
        rows(dep, ctx_for("operator"))  # operators name the partner
    assert len(rows(dep, ctx_for("operator"), partner_id=book.partner_id)) == 7
