"""The HTTP API agrees with a reference model after every step of random use.

Goal: issue 14's model-based proof, over HTTP rather than the services: whatever sequence of
operator and partner requests arrives (partners created, bank credits including repeats and
pending-then-booked ones, quotes and executions under Idempotency-Keys with replays and reused
keys, settle / fail / return / release, adjustments, recalls of credited pay-ins), each answer
has the status and code the model predicts, and afterwards every partner's balance
(available, reserved, pending, total), every trade's status, the number of ledger entries, the
gap-free event stream and the ledger head published on its last event (``ledger_head``) agree
with the model. Replays answer the first answer byte for byte and change nothing; no partner
key reaches another partner's trade.

Method: a hypothesis ``RuleBasedStateMachine`` driving the one HTTP driver (``support.Http``)
over a TestClient of ``create_app``, on SQLite and on PostgreSQL (one database per store; every
example works on partners of its own, so examples never see each other's money). The model is
plain integers per partner and a dict of trade statuses; its transition table is written out
here, not imported. Quick profile in ``make test``; ``ZEROPOOLS_SOAK=1`` (``make soak``) runs
many more and longer examples.
"""

from __future__ import annotations

import os
import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from support import Http, HttpPartner, assert_problem, bearer, issue_operator_key
from zeropools.services.context import Deployment

SOAK = os.environ.get("ZEROPOOLS_SOAK") == "1"
# quick: a few short examples per store in make test; soak: many long ones
EXAMPLES = 100 if SOAK else 4  # soak: 300 x 60 did not finish in an hour
STEPS = 40 if SOAK else 20
PARTNERS_MAX = 4

MODELS = ("debit", "reserve")
OPENING = {"debit": "debited", "reserve": "reserved"}
# API.md's lifecycle, written out again rather than imported: the model must not share a bug
ALLOWED = {
    "debited": {"settle", "release", "fail"},
    "reserved": {"settle", "release", "fail"},
    "settled": {"return"},
    "released": set(),
    "failed": set(),
    "returned": set(),
}
STATUS_AFTER = {"settle": "settled", "release": "released", "fail": "failed", "return": "returned"}
OPEN = {"debited", "reserved"}
# Entries each step posts: debit-model settles move nothing (the debit stands)
ENTRIES_AFTER = {
    ("debit", "settle"): 0,
    ("reserve", "settle"): 1,
    ("debit", "release"): 1,
    ("reserve", "release"): 1,
    ("debit", "fail"): 1,
    ("reserve", "fail"): 1,
    ("debit", "return"): 1,
    ("reserve", "return"): 1,
}
AMOUNTS = st.integers(1_00, 300_00)  # minor units of EUR; EUR-USDT accepts 10.00 and more
TRADE_AMOUNTS = st.integers(10_00, 400_00)
PICKS = st.integers(0, 10_000)


def eur(minor: int) -> str:
    sign = "-" if minor < 0 else ""
    return f"{sign}{abs(minor) // 100}.{abs(minor) % 100:02d}"


@dataclass
class ModelTrade:
    id: str
    partner: str
    amount_minor: int
    status: str
    order_id: str


@dataclass
class ModelPartner:
    http: HttpPartner
    model: str
    available_minor: int = 0
    reserved_minor: int = 0
    entries: int = 0
    credited_payins: dict[str, int] = field(default_factory=dict)  # pin_ id -> amount (minor)


@dataclass(frozen=True)
class Sent:
    """A request that changed something, as sent, and its first answer: what a replay must
    answer again."""

    method: str
    path: str
    body: dict[str, Any] | None
    headers: dict[str, str]
    status: int
    content: bytes


class HttpModel(RuleBasedStateMachine):
    """Set up by ``machine_for``: the class attribute ``client`` is the test's client."""

    client: httpx.Client
    operator: dict[str, str]

    def __init__(self) -> None:
        super().__init__()
        self.http = Http(self.client, self.operator)
        self.partners: dict[str, ModelPartner] = {}
        self.trades: list[ModelTrade] = []
        self.sent: list[Sent] = []
        self.pending_payins: list[tuple[str, str, int]] = []  # (bank id, partner id, amount)
        self.requests = 0
        self.labels: dict[str, int] = {}

    # -- helpers -------------------------------------------------------------------------------

    def _post(
        self, path: str, body: dict[str, Any] | None, headers: dict[str, str], keep: bool = True
    ) -> httpx.Response:
        self.requests += 1
        response = self.client.post(path, json=body, headers=headers)
        assert response.status_code < 500, (path, response.status_code, response.text)
        if keep and "Idempotency-Key" in headers:
            self.sent.append(
                Sent("POST", path, body, headers, response.status_code, response.content)
            )
        return response

    def note(self, label: str) -> None:
        """What happened in this step, for hypothesis's statistics and the run's tally."""
        event(label)
        self.labels[label] = self.labels.get(label, 0) + 1

    def _key(self) -> dict[str, str]:
        return {"Idempotency-Key": f"model-{secrets.token_hex(8)}"}

    def _pick_partner(self, pick: int) -> ModelPartner:
        ids = sorted(self.partners)
        return self.partners[ids[pick % len(ids)]]

    def _new_partner(self, model: str) -> None:
        created = self.http.partner(name=f"model-{model}", balance_model=model)
        self.requests += 1
        self.partners[created.id] = ModelPartner(created, model)

    def _credit(self, partner: ModelPartner, amount_minor: int, bank_id: str) -> None:
        response = self.http.payin(
            bank_id, eur(amount_minor), reference=partner.http.eur, booking_status="booked"
        )
        self.requests += 1
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "credited", body
        partner.available_minor += amount_minor
        partner.entries += 1
        partner.credited_payins[body["id"]] = amount_minor

    # -- rules ---------------------------------------------------------------------------------

    @initialize(opening=st.tuples(AMOUNTS, AMOUNTS))
    def two_funded_partners(self, opening: tuple[int, int]) -> None:
        for model, amount_minor in zip(MODELS, opening, strict=True):
            self._new_partner(model)
            partner = list(self.partners.values())[-1]  # dicts keep insertion order
            self._credit(partner, amount_minor * 10, f"open-{secrets.token_hex(6)}")

    @precondition(lambda self: len(self.partners) < PARTNERS_MAX)
    @rule(model=st.sampled_from(MODELS))
    def create_partner(self, model: str) -> None:
        self.note("partner created")
        self._new_partner(model)

    @rule(pick=PICKS, amount_minor=AMOUNTS, repeat=st.booleans())
    def bank_credit(self, pick: int, amount_minor: int, repeat: bool) -> None:
        """A booked credit with the partner's reference; the bank may send it twice."""
        partner = self._pick_partner(pick)
        bank_id = f"bank-{secrets.token_hex(6)}"
        self._credit(partner, amount_minor, bank_id)
        if repeat:
            self.note("pay-in: repeated notification")
            again = self.http.payin(bank_id, eur(amount_minor), reference=partner.http.eur)
            self.requests += 1
            assert again.status_code == 200, again.text
            assert again.json()["status"] == "credited"

    @rule(pick=PICKS, amount_minor=AMOUNTS)
    def pending_credit(self, pick: int, amount_minor: int) -> None:
        """A credit the bank has not booked yet: nothing moves until it is booked."""
        partner = self._pick_partner(pick)
        bank_id = f"bank-{secrets.token_hex(6)}"
        response = self.http.payin(
            bank_id, eur(amount_minor), reference=partner.http.eur, booking_status="pending"
        )
        self.requests += 1
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "pending_confirmation"
        self.note("pay-in: pending")
        self.pending_payins.append((bank_id, partner.http.id, amount_minor))

    @precondition(lambda self: self.pending_payins)
    @rule(pick=PICKS)
    def booking(self, pick: int) -> None:
        bank_id, partner_id, amount_minor = self.pending_payins.pop(pick % len(self.pending_payins))
        partner = self.partners[partner_id]
        response = self.http.payin(
            bank_id, eur(amount_minor), reference=partner.http.eur, booking_status="booked"
        )
        self.requests += 1
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "credited", response.text
        self.note("pay-in: booked later")
        partner.available_minor += amount_minor
        partner.entries += 1
        partner.credited_payins[response.json()["id"]] = amount_minor

    @rule(pick=PICKS, amount_minor=TRADE_AMOUNTS)
    def execute(self, pick: int, amount_minor: int) -> None:
        partner = self._pick_partner(pick)
        quote = self.http.quote(partner.http, eur(amount_minor))
        self.requests += 1
        order_id = f"order-{quote['id']}"
        response = self._post(
            "/v1/trades",
            {"quote_id": quote["id"], "partner_order_id": order_id},
            {**partner.http.server, **self._key()},
        )
        if amount_minor > partner.available_minor:
            self.note("execute: insufficient balance")
            body = assert_problem(response, 409, "insufficient_balance")
            assert body["available"] == eur(partner.available_minor), body
            return
        self.note("execute: accepted")
        assert response.status_code == 201, response.text
        trade = response.json()
        assert trade["status"] == OPENING[partner.model], trade
        assert trade["source_amount"] == eur(amount_minor)
        partner.available_minor -= amount_minor
        if partner.model == "reserve":
            partner.reserved_minor += amount_minor
        partner.entries += 1
        self.trades.append(
            ModelTrade(trade["id"], partner.http.id, amount_minor, trade["status"], order_id)
        )

    @precondition(lambda self: self.trades)
    @rule(pick=PICKS)
    def execute_a_spent_quote_or_a_busy_order(self, pick: int) -> None:
        """A quote executes once; an order with an open or settled trade is not executed
        again (a fresh quote for it)."""
        trade = self.trades[pick % len(self.trades)]
        partner = self.partners[trade.partner]
        got = self.client.get(f"/v1/trades/{trade.id}", headers=partner.http.server).json()
        spent = self._post(
            "/v1/trades",
            {"quote_id": got["quote_id"], "partner_order_id": f"other-{secrets.token_hex(4)}"},
            {**partner.http.server, **self._key()},
        )
        assert_problem(spent, 409, "quote_already_used")
        if trade.status in (OPEN | {"settled"}) and partner.available_minor >= 10_00:
            self.note("execute: order already executed")
            quote = self.http.quote(partner.http, "10.00")
            again = self._post(
                "/v1/trades",
                {"quote_id": quote["id"], "partner_order_id": trade.order_id},
                {**partner.http.server, **self._key()},
            )
            body = assert_problem(again, 409, "order_already_executed")
            assert body["trade_id"] == trade.id, body

    @precondition(lambda self: self.trades)
    @rule(
        pick=PICKS,
        action=st.sampled_from(["settle", "release", "fail", "return"]),
        open_only=st.sampled_from([True, True, True, False]),
    )
    def move(self, pick: int, action: str, open_only: bool) -> None:
        candidates = [t for t in self.trades if ALLOWED[t.status]] if open_only else []
        candidates = candidates or self.trades
        trade = candidates[pick % len(candidates)]
        partner = self.partners[trade.partner]
        # release is the partner's; the venue outcomes are the operator's
        headers = partner.http.server if action == "release" else self.operator
        body = {"reason": "venue said so"} if action in ("fail", "return") else None
        response = self._post(f"/v1/trades/{trade.id}/{action}", body, {**headers, **self._key()})
        if action not in ALLOWED[trade.status]:
            self.note("move: invalid transition")
            problem = assert_problem(response, 409, "invalid_transition")
            assert problem["from_status"] == trade.status, problem
            return
        self.note(f"move: {trade.status} -> {STATUS_AFTER[action]}")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == STATUS_AFTER[action]
        x = trade.amount_minor
        if action in ("release", "fail"):
            partner.available_minor += x
            if partner.model == "reserve":
                partner.reserved_minor -= x
        elif action == "settle" and partner.model == "reserve":
            partner.reserved_minor -= x
        elif action == "return":
            partner.available_minor += x
        partner.entries += ENTRIES_AFTER[(partner.model, action)]
        trade.status = STATUS_AFTER[action]

    @rule(pick=PICKS, amount_minor=st.integers(-500_00, 500_00).filter(lambda a: a != 0))
    def adjustment(self, pick: int, amount_minor: int) -> None:
        partner = self._pick_partner(pick)
        response = self._post(
            "/v1/adjustments",
            {
                "partner_id": partner.http.id,
                "currency": "EUR",
                "amount": eur(amount_minor),
                "reason": "model correction",
            },
            {**self.operator, **self._key()},
        )
        if partner.available_minor + amount_minor < 0:
            self.note("adjustment: refused")
            assert_problem(response, 409, "insufficient_balance")
            return
        self.note("adjustment: posted")
        assert response.status_code == 201, response.text
        assert response.json()["amount"] == eur(amount_minor)
        partner.available_minor += amount_minor
        partner.entries += 1

    @precondition(lambda self: any(p.credited_payins for p in self.partners.values()))
    @rule(pick=PICKS)
    def bank_recall(self, pick: int) -> None:
        """The bank recalls a credited pay-in: reversed if the partner still has the money."""
        credited = sorted(
            (payin_id, partner_id)
            for partner_id, p in self.partners.items()
            for payin_id in p.credited_payins
        )
        payin_id, partner_id = credited[pick % len(credited)]
        partner = self.partners[partner_id]
        amount_minor = partner.credited_payins[payin_id]
        response = self._post(
            f"/v1/payins/{payin_id}/return",
            {"reason": "bank recall"},
            {**self.operator, **self._key()},
        )
        if amount_minor > partner.available_minor:
            self.note("recall: refused, money spent")
            assert_problem(response, 409, "insufficient_balance")
            return
        self.note("recall: reversed")
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "returned"
        partner.available_minor -= amount_minor
        partner.entries += 1
        del partner.credited_payins[payin_id]

    @precondition(lambda self: self.sent)
    @rule(pick=PICKS, change_body=st.booleans())
    def replay(self, pick: int, change_body: bool) -> None:
        """A retry with the same key answers the first answer byte for byte and changes
        nothing; the same key with another body is refused."""
        sent = self.sent[pick % len(self.sent)]
        if change_body and sent.body:
            self.note("replay: key reused with another body")
            other = {**sent.body, "unexpected_change": "x"}
            if "reason" in sent.body:
                other = {**sent.body, "reason": sent.body["reason"] + " (edited)"}
            elif "amount" in sent.body:
                other = {**sent.body, "amount": "0.01"}
            elif "partner_order_id" in sent.body:
                other = {**sent.body, "partner_order_id": "another-order"}
            else:
                return
            reused = self._post(sent.path, other, sent.headers, keep=False)
            assert_problem(reused, 422, "idempotency_key_reused")
            return
        self.note("replay: same request")
        again = self._post(sent.path, sent.body, sent.headers, keep=False)
        assert again.status_code == sent.status, (again.text, sent.content)
        assert again.content == sent.content
        assert again.headers.get("idempotent-replayed") == "true"

    @precondition(lambda self: len(self.partners) >= 2 and self.trades)
    @rule(pick=PICKS, other=PICKS)
    def another_partners_key_finds_nothing(self, pick: int, other: int) -> None:
        trade = self.trades[pick % len(self.trades)]
        strangers = [p for pid, p in sorted(self.partners.items()) if pid != trade.partner]
        stranger = strangers[other % len(strangers)]
        for headers in (stranger.http.server, stranger.http.admin):
            seen = self.client.get(f"/v1/trades/{trade.id}", headers=headers)
            self.requests += 1
            assert_problem(seen, 404, "not_found")
        released = self._post(
            f"/v1/trades/{trade.id}/release", None, {**stranger.http.server, **self._key()}
        )
        assert_problem(released, 404, "not_found")
        self.note("cross-tenant: 404")

    # -- after every step ----------------------------------------------------------------------

    @invariant()
    def balances_trades_entries_and_events_match_the_model(self) -> None:
        for partner in self.partners.values():
            self._check_partner(partner)

    def _check_partner(self, partner: ModelPartner) -> None:
        p = partner.http
        balance = self.http.balance(p)
        pending = sum(t.amount_minor for t in self.trades if t.partner == p.id and t.status in OPEN)
        assert (balance["available"], balance["reserved"], balance["pending"]) == (
            eur(partner.available_minor),
            eur(partner.reserved_minor),
            eur(pending),
        ), (balance, partner)
        assert balance["total"] == eur(partner.available_minor + partner.reserved_minor)

        listed = self.client.get("/v1/trades", params={"limit": "1000"}, headers=p.server)
        assert listed.status_code == 200, listed.text
        statuses = {t["id"]: t["status"] for t in listed.json()["data"]}
        assert statuses == {t.id: t.status for t in self.trades if t.partner == p.id}

        entries = self.http.entries(p)
        assert [e["sequence"] for e in entries] == list(range(1, partner.entries + 1))

        found = self.client.get("/v1/events", params={"limit": "1000"}, headers=p.server)
        assert found.status_code == 200, found.text
        events = found.json()["data"]
        assert [e["sequence"] for e in events] == list(range(1, len(events) + 1))
        hashes = {e["sequence"]: e["hash"] for e in entries}
        heads = [e["ledger_head"] for e in events]
        for head in heads:
            assert hashes.get(head["sequence"], "0" * 64) == head["hash"], head
        assert [h["sequence"] for h in heads] == sorted(h["sequence"] for h in heads)
        if entries:  # every posting announces itself: the last event holds today's head
            assert heads[-1] == {"sequence": entries[-1]["sequence"], "hash": entries[-1]["hash"]}
        self.requests += 5


@dataclass
class Tally:
    examples: int = 0
    steps: int = 0
    requests: int = 0
    labels: Counter[str] = field(default_factory=Counter)


def machine_for(client: TestClient, operator: dict[str, str], tally: Tally) -> type[HttpModel]:
    class Counted(HttpModel):
        def __init__(self) -> None:
            super().__init__()
            tally.examples += 1

        def check_invariants(self, settings: Any, output: Any, runtimes: Any) -> None:
            # called after every step (and once after initialisation): counts steps
            tally.steps += 1
            super().check_invariants(settings, output, runtimes)

        def teardown(self) -> None:
            tally.requests += self.requests
            tally.labels.update(self.labels)
            if SOAK:  # a long run shows how far it got, even if stopped from outside
                print(
                    f"model soak: {tally.examples} examples, {tally.steps} steps, "
                    f"{tally.requests} requests so far",
                    flush=True,
                )

    Counted.client, Counted.operator = client, operator
    return Counted


def test_the_http_api_agrees_with_the_reference_model(client: TestClient, dep: Deployment) -> None:
    tally = Tally()
    machine = machine_for(client, bearer(issue_operator_key(dep).secret), tally)
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=not SOAK,  # make test: the same examples every run
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            report_multiple_bugs=False,
        ),
    )
    # the figures for docs/reliability.md (shown with pytest -s or -rP)
    print(
        f"model ({dep.store.dialect}): {tally.examples} examples, {tally.steps} steps, "
        f"{tally.requests} requests, violations: 0; "
        + ", ".join(f"{label}: {n}" for label, n in sorted(tally.labels.items()))
    )
    assert tally.steps >= tally.examples > 0
