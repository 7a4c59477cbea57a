"""Crediting one partner concurrently: every pay-in credits exactly once, the chain stays whole.

Goal: DESIGN.md "Concurrency and speed" — all balance changes of one partner are serialized by
the database, so threads of one process and separate OS processes hammering the same partner
(with the same bank transactions sent more than once, at the same moment) leave exactly one
credit per pay-in, a gap-free sequence, a balance equal to the sum of the entries and a ledger
that verifies; and a seeded model test (Jepsen "bank" style) of crediting, resending and
booking pending pay-ins keeps the stored balances equal to a trivial model after every step.

Method: (a) 8 threads with 25 booked pay-ins each on one partner, each pay-in also sent by a
second thread at about the same moment; pending pay-ins booked by all threads at once; (b) two OS
processes (``payin_worker.py`` run with this interpreter) crediting 50 pay-ins each to the same
database, 10 of them shared, released together by a start file; both on SQLite and PostgreSQL.
(c) a hypothesis ``RuleBasedStateMachine`` on SQLite against a dict of expected balances.
"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule
from payin_worker import amount, bank_id
from psycopg import sql

from support import (
    entries_of,
    onboard,
    open_test_store,
    reference_of,
    send_payin,
    sized,
    sqlite_url,
)
from zeropools.bootstrap import deployment
from zeropools.config import Settings
from zeropools.domain import references
from zeropools.domain.errors import PayinConflict
from zeropools.services import payins as payin_service
from zeropools.services.context import Deployment
from zeropools.services.verify import verify

THREADS = 8
PAYINS_PER_THREAD = 25
WORKER = Path(__file__).with_name("payin_worker.py")
WORKER_TIMEOUT_S = 120


def run_threads(work: Callable[[int, threading.Event], Any], threads: int = THREADS) -> list[Any]:
    """Run ``work(t, failed)`` on ``threads`` threads released together.

    The first failure sets ``failed`` (so the other threads can stop early) and is re-raised.
    """
    barrier = threading.Barrier(threads)
    failed = threading.Event()

    def started(t: int) -> Any:
        barrier.wait(timeout=30)
        try:
            return work(t, failed)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(started, t) for t in range(threads)]
        for future in futures:
            if future.exception(timeout=120) is not None:
                raise future.exception()  # type: ignore[misc]
        return [future.result() for future in futures]


def surface_deadlocks_fast(dep: Deployment) -> None:
    """Make PostgreSQL detect lock cycles after 100 ms instead of 1 s in this test database, so
    a deadlock regression fails in seconds rather than minutes (new connections only)."""
    if dep.store.dialect != "postgres":
        return
    with psycopg.connect(dep.store.url, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
        assert name is not None
        conn.execute(
            sql.SQL("ALTER DATABASE {} SET deadlock_timeout = '100ms'").format(
                sql.Identifier(name[0])
            )
        )


def assert_credited_exactly_once(
    dep: Deployment, partner_id: str, expected: dict[str, int]
) -> None:
    """``expected`` maps bank transaction id to amount in minor units."""
    entries = entries_of(dep, partner_id)
    assert len(entries) == len(expected)
    assert all(e.type == "payin_credit" for e in entries)
    assert [e.sequence for e in entries] == list(range(1, len(expected) + 1))
    assert len({e.links.payin_id for e in entries}) == len(expected)
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    state = dep.store.read(lambda tx: tx.ledger_state(partner_id))
    assert state.head.sequence == len(expected)
    assert state.balances["EUR"].available_minor == sum(expected.values())
    assert sum(e.amount_minor for e in entries) == sum(expected.values())
    assert entries[-1].available_after_minor == sum(expected.values())
    for bank_transaction_id, amount_minor in expected.items():
        payin = dep.store.read(lambda tx, b=bank_transaction_id: tx.payins_by_bank_ids([b]).get(b))
        assert payin is not None and payin.status == "credited"
        assert payin.amount_minor == amount_minor
    report = verify(dep.store)
    assert report.ok, [str(p) for p in report.problems]


@pytest.mark.slow
def test_eight_threads_crediting_one_partner_credit_every_resent_payin_once(
    dep: Deployment,
) -> None:
    surface_deadlocks_fast(dep)
    new = onboard(dep)
    partner_id, reference = new.partner.id, reference_of(new)

    def payin(t: int, k: int) -> tuple[str, str]:
        return f"T{t}-{k}", f"{t * 100 + k + 1}.{k:02d}"

    def work(t: int, failed: threading.Event) -> tuple[int, int]:
        created = resent = 0
        for k in range(PAYINS_PER_THREAD):
            if failed.is_set():
                break
            # my own pay-in k, then my neighbour's pay-in k: it is sending that one right now
            for owner in (t, (t - 1) % THREADS):
                bank_transaction_id, text = payin(owner, k)
                recorded = send_payin(dep, bank_transaction_id, text, reference=reference)
                assert recorded.payin.status == "credited"
                created += recorded.created
                resent += not recorded.created
        return created, resent

    outcomes = run_threads(work)
    total = THREADS * PAYINS_PER_THREAD
    assert sum(created for created, _ in outcomes) == total
    assert sum(resent for _, resent in outcomes) == total
    expected = {}
    for t in range(THREADS):
        for k in range(PAYINS_PER_THREAD):
            bank_transaction_id, text = payin(t, k)
            expected[bank_transaction_id] = int(text.replace(".", ""))
    assert len(expected) == 200
    assert_credited_exactly_once(dep, partner_id, expected)


@pytest.mark.slow
def test_pending_payins_booked_by_many_threads_at_once_credit_once(dep: Deployment) -> None:
    surface_deadlocks_fast(dep)
    new = onboard(dep)
    partner_id, reference = new.partner.id, reference_of(new)
    count = 20
    for n in range(count):
        send_payin(dep, f"P-{n}", f"{n + 1}", booking_status="pending", reference=reference)

    def work(t: int, failed: threading.Event) -> None:
        order = list(range(count))
        order = order[t:] + order[:t] if t % 2 else order[::-1]  # different orders per thread
        for n in order:
            if failed.is_set():
                break
            recorded = send_payin(dep, f"P-{n}", f"{n + 1}", reference=reference)
            assert recorded.payin.status == "credited" and not recorded.created

    run_threads(work)
    assert_credited_exactly_once(dep, partner_id, {f"P-{n}": (n + 1) * 100 for n in range(count)})


@pytest.mark.slow
def test_two_processes_crediting_one_partner_with_shared_bank_ids_credit_each_once(
    dep: Deployment, db_url: str, tmp_path: Path
) -> None:
    new = onboard(dep)
    reference = reference_of(new)
    shared = list(range(40, 50))
    # both start with the shared pay-ins, at the same moment, then do their own
    plans = [shared + list(range(0, 40)), shared + list(range(50, 90))]
    go = tmp_path / "go"
    readies = [tmp_path / f"ready-{i}" for i in range(2)]
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), db_url, reference, str(ready), str(go)]
            + [str(n) for n in plan],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ready, plan in zip(readies, plans, strict=True)
    ]
    try:
        deadline = time.monotonic() + WORKER_TIMEOUT_S
        while not all(ready.exists() for ready in readies):
            assert all(w.poll() is None for w in workers), [w.communicate() for w in workers]
            assert time.monotonic() < deadline, "workers never became ready"
            time.sleep(0.01)
        go.touch()
        outputs = [w.communicate(timeout=WORKER_TIMEOUT_S) for w in workers]
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
    for w, (_, err) in zip(workers, outputs, strict=True):
        assert w.returncode == 0, err
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(r["created"] for r in results) == 90
    assert sum(r["known"] for r in results) == 10
    expected = {bank_id(n): int(amount(n).replace(".", "")) for n in range(90)}
    assert_credited_exactly_once(dep, new.partner.id, expected)


# (c) model test ------------------------------------------------------------------------------
def euros(minor: int) -> str:
    """``minor`` cents as the decimal text a bank sends (``1234`` -> ``12.34``)."""
    return f"{minor // 100}.{minor % 100:02d}"


class CreditingMachine(RuleBasedStateMachine):
    """Pay-ins for two partners against a model: expected balance per partner, and per bank
    transaction its amount, owner and whether it is still pending."""

    bank_ids = Bundle("bank_ids")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="zp_model_"))
        url = sqlite_url(self.folder, "model.db")
        self.dep = deployment(Settings(db_url=url), open_test_store(url))
        self.partners = [onboard(self.dep, name=f"Model {i}") for i in range(2)]
        self.balances = {p.partner.id: 0 for p in self.partners}
        self.known: dict[str, tuple[str, int, str | None, bool]] = {}
        self.counter = 0

    def teardown(self) -> None:
        self.dep.store.close()
        shutil.rmtree(self.folder, ignore_errors=True)

    def _next_bank_id(self) -> str:
        self.counter += 1
        return f"M-{self.counter}"

    def _send(
        self, bank_transaction_id: str, text: str, booked: bool, reference: str | None
    ) -> payin_service.Recorded:
        """Record ``text`` euros under ``bank_transaction_id``, booked or still pending."""
        return send_payin(
            self.dep,
            bank_transaction_id,
            text,
            booking_status="booked" if booked else "pending",
            reference=reference,
        )

    @rule(
        target=bank_ids,
        partner=st.integers(0, 1),
        amount_minor=st.integers(1, 10**9),
        booked=st.booleans(),
    )
    def a_new_payin_arrives(self, partner: int, amount_minor: int, booked: bool) -> str:
        new = self.partners[partner]
        bank_transaction_id = self._next_bank_id()
        text = euros(amount_minor)
        recorded = self._send(bank_transaction_id, text, booked, reference_of(new))
        assert recorded.created
        assert recorded.payin.status == ("credited" if booked else "pending_confirmation")
        if booked:
            self.balances[new.partner.id] += amount_minor
        self.known[bank_transaction_id] = (text, amount_minor, new.partner.id, not booked)
        return bank_transaction_id

    @rule(target=bank_ids, amount_minor=st.integers(1, 10**6), booked=st.booleans())
    def an_unattributable_payin_arrives(self, amount_minor: int, booked: bool) -> str:
        bank_transaction_id = self._next_bank_id()
        text = euros(amount_minor)
        recorded = self._send(
            bank_transaction_id, text, booked, references.new_creditor_reference()
        )
        assert recorded.payin.status == ("needs_review" if booked else "pending_confirmation")
        self.known[bank_transaction_id] = (text, amount_minor, None, not booked)
        return bank_transaction_id

    @rule(bank_transaction_id=bank_ids, booked=st.booleans())
    def the_bank_resends_a_payin(self, bank_transaction_id: str, booked: bool) -> None:
        text, amount_minor, owner, pending = self.known[bank_transaction_id]
        reference = None
        if owner is not None:
            reference = next(reference_of(p) for p in self.partners if p.partner.id == owner)
        recorded = self._send(bank_transaction_id, text, booked, reference)
        assert not recorded.created
        if pending and booked:
            if owner is not None:
                self.balances[owner] += amount_minor
            self.known[bank_transaction_id] = (text, amount_minor, owner, False)
        still_pending = self.known[bank_transaction_id][3]
        if still_pending:
            assert recorded.payin.status == "pending_confirmation"
        else:
            assert recorded.payin.status == ("credited" if owner else "needs_review")

    @rule(bank_transaction_id=bank_ids, extra_minor=st.integers(1, 1000))
    def a_resend_with_another_amount_is_refused(
        self, bank_transaction_id: str, extra_minor: int
    ) -> None:
        _, amount_minor, _, _ = self.known[bank_transaction_id]
        other = amount_minor + extra_minor
        with pytest.raises(PayinConflict):
            send_payin(self.dep, bank_transaction_id, euros(other))

    @invariant()
    def balances_equal_the_model_and_the_sum_of_entries(self) -> None:
        for partner_id, expected in self.balances.items():
            state = self.dep.store.read(lambda tx, p=partner_id: tx.ledger_state(p))
            assert state.balances["EUR"].available_minor == expected
            entries = entries_of(self.dep, partner_id)
            assert sum(e.amount_minor for e in entries) == expected
            assert [e.sequence for e in entries] == list(range(1, len(entries) + 1))
        report = verify(self.dep.store)
        assert report.ok, [str(p) for p in report.problems]


CreditingMachine.TestCase.settings = settings(
    max_examples=sized(15, 150),
    stateful_step_count=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.slow
@pytest.mark.soak
class TestCreditingAgainstAModelOnSqlite(CreditingMachine.TestCase):  # type: ignore[misc,valid-type]
    pass
