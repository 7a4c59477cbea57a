"""The machinery of the crash and many-process suites: a bank workload, its ack log, a checker.

- ``Profile``: the quick parameters (``make test``) or the long ones (``make soak``, selected by
  ``ZEROPOOLS_SOAK=1``); the same tests run with either.
- ``Api``: sends one logical request until it has an answer, to any of the live servers: a
  connection refused or cut (the server was SIGKILLed), a 503 ``overloaded`` or a 409
  ``idempotency_key_in_use`` or a 429 ``rate_limited`` (after its ``Retry-After``) is retried with
  the *same* body and Idempotency-Key, as a careful partner backend does. A 5xx other than 503
  is never retried: it is a violation.
- ``Workload``: client threads that credit pay-ins, quote and execute trades, and settle,
  release, fail or return the trades they executed (each trade has one owner, so no two clients
  race on it and every answer has one expected meaning). Every answer is kept in an ack log
  (``Call``); ``Book`` is the bank the client believes in, built from the 2xx answers only.
- ``check_bank``: a Jepsen-style bank checker. After the run it compares what the service holds
  (balances, ledger entries, trades, events, webhook deliveries, ``zeropools verify``) with the
  ack log, and replays every keyed request to see the same outcome again. It returns a list of
  violations (empty is the only pass) so a run reports all it found, not the first.

Money is integer minor units in the model and decimal strings on the wire, as in the service.
"""

from __future__ import annotations

import itertools
import os
import random
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from support import Http, HttpPartner, bearer
from support.processes import run
from webhook_support import Receiver

SOAK = os.environ.get("ZEROPOOLS_SOAK") == "1"
ANSWER_WAIT_S = 120.0  # one request, retries included; only a server that never returns hits it
RETRY_PAUSE_S = (0.02, 0.25)  # between two sends of one request: a random pause in this range
REQUEST_TIMEOUT_S = 30.0
# nothing was done on any of these: a careful client sends the same request again (after
# Retry-After for a rate limit, which the long profile's load reaches on the operator's key)
RETRYABLE_CODES = frozenset({"idempotency_key_in_use", "overloaded", "rate_limited"})
RETRY_AFTER_MAX_S = 5.0
OPEN = ("debited", "reserved")
HELD = ("debited", "reserved", "settled")  # trades whose money is not back in `available`
# business refusals of an execution the load can meet: a partner run dry, or a quote that
# expired while its execution waited for a server start-up longer than QUOTE_TTL_S
EXECUTION_REFUSALS = frozenset({"insufficient_balance", "quote_expired"})


@dataclass(frozen=True)
class Profile:
    """How hard a run pushes. ``quick`` keeps ``make test`` short; ``soak`` runs for minutes."""

    name: str
    kills: int  # crash suite: SIGKILLs of the server per store
    kill_gap_s: tuple[float, float]  # how long a server lives between two kills
    clients: int  # client threads
    seconds: float  # many-process suite: how long the load runs
    small_partners: int  # many-process suite: partners beside the hot one


QUICK = Profile("quick", kills=10, kill_gap_s=(0.2, 0.8), clients=3, seconds=20, small_partners=6)
LONG = Profile("soak", kills=40, kill_gap_s=(0.3, 3.0), clients=6, seconds=240, small_partners=24)
PROFILE = LONG if SOAK else QUICK


def to_minor(amount: str) -> int:
    return int(Decimal(amount) * 100)  # EUR: scale 2; Decimal, never float


def to_text(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool  # the Idempotent-Replayed header: the answer was stored by an earlier send

    @property
    def code(self) -> str | None:
        return self.body.get("code") if isinstance(self.body, dict) else None


@dataclass
class Call:
    """One logical request and what became of it."""

    kind: str  # payin, quote, execute, settle, release, fail, return
    method: str
    path: str
    body: dict[str, Any]
    headers: dict[str, str]
    partner_id: str
    keyed: bool  # idempotent by Idempotency-Key (or, for pay-ins, by bank_transaction_id)
    sends: int = 0  # 1 unless a send failed (connection refused or cut) or was told to retry
    answer: Answer | None = None


@dataclass
class Figures:
    """What a run counts; ``summary`` is the line a run prints."""

    calls: int = 0
    sends: int = 0
    retried: int = 0  # calls sent more than once
    replayed_after_retry: int = 0  # retried calls answered from the idempotency record
    kills: int = 0
    restarts: int = 0
    reads: int = 0
    events: int = 0
    deliveries: int = 0
    duplicate_deliveries: int = 0
    load_s: float = 0.0  # how long the load ran (kills and restarts included)
    drain_s: float = 0.0  # how long the last deliveries took to arrive after the checks began
    violations: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def violation(self, text: str) -> None:
        with self._lock:
            self.violations.append(text)

    def summary(self, name: str) -> str:
        return (
            f"{name}: operations={self.calls} sends={self.sends} retried={self.retried} "
            f"replayed_after_retry={self.replayed_after_retry} kills={self.kills} "
            f"restarts={self.restarts} balance_reads={self.reads} events={self.events} "
            f"deliveries={self.deliveries} duplicate_deliveries={self.duplicate_deliveries} "
            f"load_s={self.load_s:.0f} drain_s={self.drain_s:.0f} "
            f"violations={len(self.violations)}"
        )


class Api:
    """Sends a ``Call`` to one of ``base_urls()`` (picked at random per send) until answered."""

    def __init__(self, base_urls: Callable[[], Sequence[str]], figures: Figures) -> None:
        self._base_urls = base_urls
        self._figures = figures
        self._local = threading.local()

    def _client(self) -> httpx.Client:
        client: httpx.Client | None = getattr(self._local, "client", None)
        if client is None:
            client = httpx.Client(timeout=REQUEST_TIMEOUT_S)
            self._local.client = client
        return client

    def send(self, call: Call) -> Answer:
        deadline = time.monotonic() + ANSWER_WAIT_S
        while True:
            assert time.monotonic() < deadline, f"no answer to {call.kind} {call.path}"
            if call.sends:
                time.sleep(random.uniform(*RETRY_PAUSE_S))
            call.sends += 1
            url = random.choice(list(self._base_urls())) + call.path
            try:
                response = self._client().request(
                    call.method, url, json=call.body or None, headers=call.headers
                )
            except httpx.TransportError:
                continue  # refused or cut: the server is down or was killed mid-request
            answer = Answer(
                response.status_code,
                response.json() if response.content else None,
                response.headers.get("idempotent-replayed") == "true",
            )
            if answer.status == 503 or answer.code in RETRYABLE_CODES:
                time.sleep(min(float(response.headers.get("retry-after", "0")), RETRY_AFTER_MAX_S))
                continue
            if answer.status >= 500:
                self._figures.violation(f"{call.kind} {call.path}: {answer.status} {answer.body}")
            return answer

    def call(self, call: Call) -> Answer:
        """Send ``call`` until answered; keep the answer on it."""
        call.answer = self.send(call)
        with self._figures._lock:
            self._figures.calls += 1
            self._figures.sends += call.sends
            if call.sends > 1:
                self._figures.retried += 1
                self._figures.replayed_after_retry += call.answer.replayed
        return call.answer

    def get(self, path: str, headers: dict[str, str], **params: str) -> Any:
        """A read (reads change nothing, so any answer but 200 is retried until one comes)."""
        deadline = time.monotonic() + ANSWER_WAIT_S
        while True:
            assert time.monotonic() < deadline, f"no answer to GET {path}"
            try:
                response = self._client().get(
                    random.choice(list(self._base_urls())) + path, params=params, headers=headers
                )
            except httpx.TransportError:
                time.sleep(random.uniform(*RETRY_PAUSE_S))
                continue
            if response.status_code >= 500 and response.status_code != 503:
                self._figures.violation(f"GET {path}: {response.status_code} {response.text}")
            if response.status_code == 200:
                return response.json()
            time.sleep(random.uniform(*RETRY_PAUSE_S))

    def pages(self, path: str, headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
        """Every item of a list, page after page (``starting_after``)."""
        items: list[dict[str, Any]] = []
        after: dict[str, str] = {}
        while True:
            page = self.get(path, headers, limit="1000", **params, **after)
            items += page["data"]
            if not page["has_more"]:
                return items
            after = {"starting_after": page["data"][-1]["id"]}

    def events(self, headers: dict[str, str]) -> list[dict[str, Any]]:
        """A partner's whole event stream, oldest first (paged by ``after_sequence``)."""
        found: list[dict[str, Any]] = []
        while True:
            after = str(found[-1]["sequence"]) if found else "0"
            page = self.get("/v1/events", headers, limit="1000", after_sequence=after)
            found += page["data"]
            if not page["has_more"]:
                return found


@dataclass
class Tracked:
    """A trade as the client knows it from its 2xx answers."""

    id: str
    partner_id: str
    amount_minor: int
    status: str


@dataclass
class Party:
    """A partner of the run: its keys, its balance model, and a weight (the hot one is picked
    far more often)."""

    partner: HttpPartner
    model: str
    weight: int = 1

    @property
    def id(self) -> str:
        return self.partner.id


class Workload:
    """Client threads running a mixed bank workload against ``api`` until ``stop`` is set."""

    def __init__(
        self,
        api: Api,
        operator: dict[str, str],
        parties: Sequence[Party],
        figures: Figures,
        *,
        payin_minor: tuple[int, int] = (100_00, 600_00),
        trade_minor: tuple[int, int] = (10_00, 150_00),
    ) -> None:
        self.api = api
        self.operator = operator
        self.parties = list(parties)
        self.figures = figures
        self.payin_minor = payin_minor
        self.trade_minor = trade_minor
        self.stop = threading.Event()
        self.calls: list[Call] = []
        self.trades: dict[str, Tracked] = {}
        self._lock = threading.Lock()
        self._run = secrets.token_hex(3)
        self._numbers = itertools.count(1)

    def _party(self, rng: random.Random) -> Party:
        return rng.choices(self.parties, weights=[p.weight for p in self.parties])[0]

    def _keep(self, call: Call) -> Answer:
        answer = self.api.call(call)
        with self._lock:
            self.calls.append(call)
        return answer

    def _name(self, kind: str) -> str:
        return f"{self._run}-{kind}-{next(self._numbers)}"

    def client(self, seed: int) -> None:
        """One client thread: its own random stream and its own trades."""
        rng = random.Random(seed)
        mine: list[Tracked] = []
        while not self.stop.is_set():
            roll = rng.random()
            if roll < 0.2:
                self.payin(rng, self._party(rng))
            elif roll < 0.6 or not mine:
                self.execute(rng, self._party(rng), mine)
            else:
                self.move(rng, mine)

    def payin(self, rng: random.Random, party: Party) -> None:
        amount = to_text(rng.randint(*self.payin_minor))
        body = {
            "bank_transaction_id": self._name("bank"),
            "amount": amount,
            "currency": "EUR",
            "booking_status": "booked",
            "reference": party.partner.eur,
        }
        call = Call("payin", "POST", "/v1/payins", body, self.operator, party.id, keyed=True)
        answer = self._keep(call)
        if answer.status not in (200, 201) or answer.body["status"] != "credited":
            self.figures.violation(f"pay-in not credited: {answer.status} {answer.body}")

    def execute(self, rng: random.Random, party: Party, mine: list[Tracked]) -> None:
        amount = to_text(rng.randint(*self.trade_minor))
        order = self._name("order")
        quote = Call(
            "quote",
            "POST",
            "/v1/quotes",
            {"pool_id": "EUR-USDT", "source_amount": amount, "partner_order_id": order},
            party.partner.server,
            party.id,
            keyed=False,  # a quote moves no money; a resent one is just another open quote
        )
        answered = self._keep(quote)
        if answered.status != 201:
            self.figures.violation(f"quote: {answered.status} {answered.body}")
            return
        body = {"quote_id": answered.body["id"], "partner_order_id": order}
        headers = {**party.partner.server, "Idempotency-Key": order}
        call = Call("execute", "POST", "/v1/trades", body, headers, party.id, keyed=True)
        answer = self._keep(call)
        if answer.status == 201:
            tracked = Tracked(answer.body["id"], party.id, to_minor(amount), answer.body["status"])
            with self._lock:
                self.trades[tracked.id] = tracked
            mine.append(tracked)
        elif answer.code not in EXECUTION_REFUSALS:
            self.figures.violation(f"execute: {answer.status} {answer.body}")

    def move(self, rng: random.Random, mine: list[Tracked]) -> None:
        tracked = rng.choice(mine)
        party = next(p for p in self.parties if p.id == tracked.partner_id)
        if tracked.status in OPEN:
            action = rng.choice(["settle", "settle", "release", "fail"])
        else:
            assert tracked.status == "settled", tracked
            action = "return"
        body: dict[str, Any] = {"reason": f"crash suite: {action}"} if action != "settle" else {}
        caller = party.partner.server if action == "release" else self.operator
        headers = {**caller, "Idempotency-Key": self._name(action)}
        path = f"/v1/trades/{tracked.id}/{action}"
        answer = self._keep(Call(action, "POST", path, body, headers, party.id, keyed=True))
        if answer.status != 200:
            self.figures.violation(f"{action} {tracked.id}: {answer.status} {answer.body}")
            return
        tracked.status = answer.body["status"]
        if tracked.status not in HELD:
            mine.remove(tracked)  # released, failed, returned: nothing more to do with it

    def mix(self) -> str:
        """The operations of the run by kind and outcome, e.g. ``execute:201=80,409=12``."""
        counts = Counter((c.kind, c.answer.status) for c in self.calls if c.answer is not None)
        kinds = sorted({kind for kind, _ in counts})
        return " ".join(
            f"{kind}:"
            + ",".join(f"{status}={n}" for (k, status), n in sorted(counts.items()) if k == kind)
            for kind in kinds
        )

    def run_clients(self, count: int) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._guarded, args=(seed,), name=f"client-{seed}")
            for seed in range(count)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _guarded(self, seed: int) -> None:
        try:
            self.client(seed)
        except BaseException as exc:  # a client that dies must fail the run, not go quiet
            self.figures.violation(f"client {seed} died: {exc!r}")
            self.stop.set()


def make_parties(http: Http, receiver: Receiver, models: Sequence[str]) -> list[Party]:
    """Partners over HTTP, each with a webhook endpoint at ``receiver`` for every event type
    (registered before any event exists, so every event of the partner must reach it)."""
    parties = []
    for i, model in enumerate(models):
        partner = http.partner(name=f"Reliability {i}", balance_model=model)
        response = http.client.post(
            "/v1/webhook-endpoints", json={"url": receiver.url}, headers=partner.admin
        )
        assert response.status_code == 201, response.text
        parties.append(Party(partner, model))
    return parties


# -- the checker ---------------------------------------------------------------------------------


def expected_balance(
    party: Party, credits_minor: int, trades: Sequence[Tracked]
) -> tuple[int, int]:
    """(available, reserved) the ack log implies: credits less what open and settled trades hold
    (DESIGN.md / API.md "Balance semantics")."""
    held = sum(t.amount_minor for t in trades if t.status in HELD)
    reserved = sum(t.amount_minor for t in trades if t.status == "reserved")
    if party.model == "debit":
        assert reserved == 0
    return credits_minor - held, reserved


def check_bank(api: Api, workload: Workload, receiver: Receiver, drain_s: float) -> Figures:
    """Every check of the bank after a run but ``verify`` (which wants the servers stopped, see
    ``check_verify``); violations go into ``workload.figures``."""
    figures = workload.figures
    calls = [c for c in workload.calls if c.answer is not None]
    all_events: list[str] = []
    for party in workload.parties:
        mine = [c for c in calls if c.partner_id == party.id]
        _check_partner(api, party, mine, workload, figures)
        events = api.events(party.partner.server)
        _check_events(party, events, mine, workload, figures)
        all_events += [e["id"] for e in events]
    figures.events = len(all_events)
    _check_replays(api, calls, figures)
    _check_deliveries(receiver, all_events, figures, drain_s)
    return figures


def check_verify(db: str, figures: Figures) -> None:
    """``zeropools verify``: hashes, sequences, balances = entries, journals that sum to zero
    over every account (partners', bank, suspense, venue), trades and pay-ins against entries."""
    verified = run("verify", "--db", db)
    if verified.returncode != 0 or "verify ok" not in verified.stdout:
        figures.violation(f"zeropools verify failed: {verified.stdout} {verified.stderr}")


def _check_partner(
    api: Api, party: Party, calls: Sequence[Call], workload: Workload, figures: Figures
) -> None:
    trades = [t for t in workload.trades.values() if t.partner_id == party.id]
    credits = sum(
        to_minor(c.body["amount"])
        for c in calls
        if c.kind == "payin" and c.answer is not None and c.answer.status in (200, 201)
    )
    available, reserved = expected_balance(party, credits, trades)
    balance = api.get("/v1/balances/EUR", party.partner.server)
    got = (to_minor(balance["available"]), to_minor(balance["reserved"]))
    if got != (available, reserved):
        figures.violation(f"{party.id}: balance {got} but the ack log says {available, reserved}")

    stored = {t["id"]: t for t in api.pages("/v1/trades", party.partner.server)}
    acked = {t.id: t for t in trades}
    if stored.keys() != acked.keys():
        figures.violation(
            f"{party.id}: trades not acknowledged {sorted(stored.keys() - acked.keys())}, "
            f"acknowledged but missing {sorted(acked.keys() - stored.keys())}"
        )
    for trade_id, tracked in acked.items():
        if trade_id in stored and stored[trade_id]["status"] != tracked.status:
            figures.violation(f"{trade_id}: {stored[trade_id]['status']} != {tracked.status}")
    orders = Counter(t["partner_order_id"] for t in stored.values())
    figures.violations += [f"order {o} executed {n} times" for o, n in orders.items() if n > 1]

    entries = api.pages("/v1/ledger-entries", party.partner.server)
    entries.sort(key=lambda e: e["sequence"])
    if [e["sequence"] for e in entries] != list(range(1, len(entries) + 1)):
        figures.violation(f"{party.id}: ledger sequences are not gap-free from 1")
    if len({e["id"] for e in entries}) != len(entries):
        figures.violation(f"{party.id}: a ledger entry appears twice")
    last = entries[-1] if entries else None
    if last and (to_minor(last["available_after"]), to_minor(last["reserved_after"])) != got:
        figures.violation(f"{party.id}: the last entry's balances differ from the balance")
    net = sum(to_minor(e["amount"]) for e in entries)
    if party.model == "debit" and net != got[0]:  # debit model: every entry moves `available`
        figures.violation(f"{party.id}: the entries sum to {net}, the balance is {got}")
    counts = Counter(e["type"] for e in entries)
    status = Counter(t.status for t in trades)
    credited = sum(1 for c in calls if c.kind == "payin" and c.answer and c.answer.status < 300)
    expected = {
        "payin_credit": credited,
        ("buy_debit" if party.model == "debit" else "trade_reserve"): len(trades),
        ("buy_refund" if party.model == "debit" else "trade_release"): status["released"]
        + status["failed"],
        "buy_return": status["returned"],
    }
    if party.model == "reserve":
        expected["trade_settle"] = status["settled"] + status["returned"]
    for kind, count in expected.items():
        if counts[kind] != count:
            figures.violation(f"{party.id}: {counts[kind]} {kind} entries, ack log says {count}")


def _check_events(
    party: Party,
    events: Sequence[dict[str, Any]],
    calls: Sequence[Call],
    workload: Workload,
    figures: Figures,
) -> None:
    if [e["sequence"] for e in events] != list(range(1, len(events) + 1)):
        figures.violation(f"{party.id}: event sequences are not gap-free from 1")
    if len({e["id"] for e in events}) != len(events):
        figures.violation(f"{party.id}: an event appears twice")
    trades = [t for t in workload.trades.values() if t.partner_id == party.id]
    status = Counter(t.status for t in trades)
    refused = sum(1 for c in calls if c.kind == "execute" and c.answer and c.answer.status == 409)
    credited = sum(1 for c in calls if c.kind == "payin" and c.answer and c.answer.status < 300)
    opened = "trade.debited" if party.model == "debit" else "trade.reserved"
    expected = {
        "payin.credited": credited,
        opened: len(trades),
        "trade.settled": status["settled"] + status["returned"],
        "trade.released": status["released"],
        "trade.failed": status["failed"],
        "trade.returned": status["returned"],
        "trade.refused": refused,
    }
    counts = Counter(e["type"] for e in events)
    for kind, count in expected.items():
        if counts[kind] != count:
            figures.violation(f"{party.id}: {counts[kind]} {kind} events, ack log says {count}")


def _check_replays(api: Api, calls: Sequence[Call], figures: Figures) -> None:
    """Every keyed request sent again: the same outcome (a pay-in: the same pay-in, known; an
    Idempotency-Key: the same status and body, marked replayed)."""
    for call in calls:
        if not call.keyed or call.answer is None:
            continue
        again = api.send(Call(call.kind, call.method, call.path, call.body, call.headers, "", True))
        first = call.answer
        if call.kind == "payin":
            same = again.status == 200 and (again.body["id"], again.body["status"]) == (
                first.body["id"],
                first.body["status"],
            )
        else:
            same = (again.status, again.body) == (first.status, first.body) and again.replayed
        if not same:
            figures.violation(
                f"{call.kind} {call.path} {call.headers.get('Idempotency-Key')}: first "
                f"{first.status} {first.body}, again {again.status} {again.body}"
            )


def _check_deliveries(
    receiver: Receiver, event_ids: Sequence[str], figures: Figures, drain_s: float
) -> None:
    """Every event reached the receiver at least once, within ``drain_s`` (a worker killed
    mid-attempt leaves its endpoint leased for ``WEBHOOK_LEASE_S``; then another claims it)."""
    began = time.monotonic()
    wanted = set(event_ids)
    while time.monotonic() < began + drain_s and not wanted <= set(receiver.webhook_ids()):
        time.sleep(0.5)
    figures.drain_s = time.monotonic() - began
    delivered = receiver.webhook_ids()
    figures.deliveries = len(delivered)
    figures.duplicate_deliveries = len(delivered) - len(set(delivered))
    missing = wanted - set(delivered)
    if missing:
        figures.violation(f"{len(missing)} events never delivered, e.g. {sorted(missing)[:3]}")
    if set(delivered) - wanted:
        figures.violation(f"deliveries of unknown events: {sorted(set(delivered) - wanted)[:3]}")


def operator_http(base_url: str, operator_key: str) -> tuple[httpx.Client, Http]:
    """An httpx client on ``base_url`` and the ``support.Http`` driver over it (set-up only)."""
    client = httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT_S)
    return client, Http(client, bearer(operator_key))
