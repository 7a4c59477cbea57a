"""The list iterators walk every page lazily and stop exactly at the end.

Goal: ``ledger_entries()`` follows ``starting_after`` (the last entry's id) and ``events()``
follows ``after_sequence`` (the last event's ``sequence``) until ``has_more`` is false, fetching
a page only when the previous one is used up, passing filters through, and refusing a page that
claims more but would loop forever.

Method: a fake API on ``httpx.MockTransport`` that serves 250 ledger entries (or events) in
pages of the requested ``limit``, by the cursor it is given, and records every request.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from itertools import islice

import httpx
import pytest
from client_support import entry_json, event_json, harness, page, scripted

from zeropools.client import Event, LedgerEntry, UnexpectedResponse

TOTAL = 250


def ledger_api(request: httpx.Request) -> httpx.Response:
    """250 entries, ``limit`` per page, after the entry named by ``starting_after``."""
    assert request.url.path == "/v1/ledger-entries"
    limit = int(request.url.params["limit"])
    after = request.url.params.get("starting_after")
    start = 0 if after is None else int(after.removeprefix("ple_"))
    chunk = [entry_json(seq) for seq in range(start + 1, min(start + limit, TOTAL) + 1)]
    return page(chunk, has_more=start + limit < TOTAL)


def events_api(request: httpx.Request) -> httpx.Response:
    """250 events, ``limit`` per page, with ``sequence`` above ``after_sequence``."""
    assert request.url.path == "/v1/events"
    limit = int(request.url.params["limit"])
    after = int(request.url.params["after_sequence"])
    chunk = [event_json(seq) for seq in range(after + 1, min(after + limit, TOTAL) + 1)]
    return page(chunk, has_more=after + limit < TOTAL)


def test_ledger_entries_yields_all_250_entries_across_three_pages_of_100() -> None:
    with harness(ledger_api) as h:
        entries = list(h.client.ledger_entries())

    assert [e.sequence for e in entries] == list(range(1, TOTAL + 1))
    assert all(isinstance(e, LedgerEntry) for e in entries)
    cursors = [r.url.params.get("starting_after") for r in h.requests]
    assert cursors == [None, "ple_000100", "ple_000200"]
    assert h.header("authorization") == ["Bearer zpk_test_client_unit_tests_key"] * 3
    assert {r.url.params["limit"] for r in h.requests} == {"100"}


def test_ledger_entries_is_lazy_and_fetches_the_next_page_only_when_needed() -> None:
    with harness(ledger_api) as h:
        iterator = h.client.ledger_entries(page_size=100)
        assert h.requests == []  # nothing sent before the first next()
        first_hundred = list(islice(iterator, 100))
        assert len(h.requests) == 1
        assert first_hundred[-1].id == "ple_000100"
        next(iterator)
        assert len(h.requests) == 2


def test_ledger_entries_sends_its_filters_and_page_size_as_query_parameters() -> None:
    since = datetime(2026, 11, 23, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    with harness(scripted(page([entry_json(1)], has_more=False))) as h:
        list(
            h.client.ledger_entries(
                currency="EUR",
                type="buy_debit",
                trade_id="pt_test_1",
                created_gte=since,
                created_lt="2026-11-24T00:00:00Z",
                page_size=7,
            )
        )
    assert dict(h.requests[0].url.params) == {
        "limit": "7",
        "currency": "EUR",
        "type": "buy_debit",
        "trade_id": "pt_test_1",
        "created_gte": "2026-11-23T09:00:00Z",  # converted to UTC
        "created_lt": "2026-11-24T00:00:00Z",
    }


def test_a_naive_datetime_filter_is_refused_before_anything_is_sent() -> None:
    with harness(scripted()) as h, pytest.raises(ValueError, match="naive"):
        h.client.ledger_entries(created_gte=datetime(2026, 11, 23))
    assert h.requests == []


@pytest.mark.parametrize("size", [0, 1001])
def test_a_page_size_outside_the_api_range_is_refused(size: int) -> None:
    with harness(scripted()) as h, pytest.raises(ValueError, match="page_size"):
        h.client.ledger_entries(page_size=size)


def test_an_empty_ledger_is_one_request_and_no_entries() -> None:
    with harness(scripted(page([], has_more=False))) as h:
        assert list(h.client.ledger_entries()) == []
    assert len(h.requests) == 1


def test_events_yields_all_250_events_following_after_sequence() -> None:
    with harness(events_api) as h:
        events = list(h.client.events())

    assert [e.sequence for e in events] == list(range(1, TOTAL + 1))
    assert all(isinstance(e, Event) for e in events)
    assert [r.url.params["after_sequence"] for r in h.requests] == ["0", "100", "200"]
    first = events[0]
    assert first.id == "evt_000001" and first.type == "payin.credited"
    assert first.created_at == datetime(2026, 11, 23, 9, 15, 0, 123456, tzinfo=UTC)
    assert first.request_id == "req_000001"
    assert first.object["object"] == "ledger_entry"
    assert LedgerEntry.from_json(first.object).sequence == 1


def test_events_resumes_after_a_given_sequence_with_type_filter_and_page_size() -> None:
    with harness(events_api) as h:
        events = list(h.client.events(after_sequence=180, type="payin.credited", page_size=50))

    assert [e.sequence for e in events] == list(range(181, TOTAL + 1))
    assert [dict(r.url.params) for r in h.requests] == [
        {"limit": "50", "type": "payin.credited", "after_sequence": "180"},
        {"limit": "50", "type": "payin.credited", "after_sequence": "230"},
    ]


def test_events_refuses_a_page_that_claims_more_but_makes_no_progress() -> None:
    stuck = scripted(page([event_json(5)], has_more=True), page([event_json(5)], has_more=True))
    with harness(stuck) as h, pytest.raises(UnexpectedResponse, match="no progress"):
        list(h.client.events(after_sequence=4))
    assert len(h.requests) == 2


def test_ledger_entries_refuses_an_empty_page_that_claims_more() -> None:
    with harness(scripted(page([], has_more=True))) as h, pytest.raises(UnexpectedResponse):
        list(h.client.ledger_entries())
