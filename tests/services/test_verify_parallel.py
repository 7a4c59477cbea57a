"""``verify(jobs=N)``: partners checked by worker processes give the report one process gives.

Goal: ``zeropools verify --jobs 2`` is only a way to use more cores: the same partners, entries,
trades, pay-ins and problems, in the same order, with ``on_partner`` called for each; and on a
ledger tampered in several partners the workers report every problem the serial run does.

Method: the healthy two-partner ledger of test_verify_service plus a third partner, then an
entry altered (trigger dropped) and a stored balance edited in different partners; reports of
``jobs=1`` and ``jobs=2`` (spawned workers opening the store by URL) compared field by field.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor

import pytest
from test_verify_service import drop_append_only_triggers, healthy_ledger, raw

from support import onboard, reference_of, send_payin
from zeropools.bootstrap import open_database
from zeropools.services import verify as verify_module
from zeropools.services.context import Deployment
from zeropools.services.verify import VerifyReport, verify
from zeropools.store.protocol import Store


def parallel(dep: Deployment) -> tuple[VerifyReport, list[str]]:
    seen: list[str] = []
    report = verify(dep.store, seen.append, jobs=2, opener=open_database)
    return report, seen


def test_workers_report_what_one_process_reports_healthy_and_tampered(dep: Deployment) -> None:
    big, small = healthy_ledger(dep)
    third = onboard(dep, name="Third")
    send_payin(dep, "THIRD-1", "7.00", reference=reference_of(third))
    serial = verify(dep.store)
    report, seen = parallel(dep)
    assert serial.ok and report.ok, (serial.problems, report.problems)
    assert (report.partners, report.entries, report.payins) == (3, serial.entries, serial.payins)
    assert seen == [p for p in dep.store.read(lambda tx: tx.partner_ids())]

    drop_append_only_triggers(dep)
    raw(
        dep,
        "UPDATE ledger_entries SET amount_minor = amount_minor + 1 "
        "WHERE partner_id = %s AND sequence = 700",
        (big,),
    )
    raw(
        dep,
        "UPDATE partner_currencies SET available_minor = available_minor + 1 "
        "WHERE partner_id = %s AND currency = 'USD'",
        (small,),
    )
    serial = verify(dep.store)
    report, _ = parallel(dep)
    assert not serial.ok
    assert {p.partner_id for p in serial.problems} == {big, small}
    assert report.problems == serial.problems
    assert (report.partners, report.entries, report.trades, report.payins) == (
        serial.partners,
        serial.entries,
        serial.trades,
        serial.payins,
    )


def where(_store: Store) -> int:
    """A task for the pool: the process it ran in."""
    return os.getpid()


def test_this_process_takes_back_the_tasks_no_worker_has_started(dep: Deployment) -> None:
    """The parent is one of the ``jobs``: after handing out the work it runs, from the back
    of the queue, every task no worker has picked up (a spawned worker is still importing),
    and each task's result comes from exactly one process, in the order submitted."""
    with ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=verify_module._open_worker_store,
        initargs=(open_database, dep.store.url),
    ) as executor:
        pool = verify_module._Pool(executor)
        tasks = [pool.submit(where) for _ in range(10)]
        pool.work_here(dep.store)
        ran_in = [task.result() for task in tasks]
    here = [n for n, pid in enumerate(ran_in) if pid == os.getpid()]
    # the worker is handed at most two before it starts; this process runs the rest, last first
    assert here == list(range(10 - len(here), 10)) and len(here) >= 8, ran_in
    assert all(pid != os.getpid() for pid in ran_in[: 10 - len(here)])


class _Spawns:
    """Stands in for ProcessPoolExecutor and counts the pools made."""

    def __init__(self) -> None:
        self.made = 0

    def __call__(self, *args: object, **kwargs: object) -> ProcessPoolExecutor:
        self.made += 1
        return ProcessPoolExecutor(*args, **kwargs)  # type: ignore[arg-type]


def test_by_default_a_small_ledger_is_checked_in_this_process_a_large_one_on_every_core(
    dep: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``zeropools verify`` without ``--jobs`` (``jobs=None``): no worker to start for a
    ledger below ``AUTO_JOBS_ENTRIES`` in all (its start-up would cost more than it saves);
    above it, as many processes as cores, with the report one process gives."""
    healthy_ledger(dep)
    serial = verify(dep.store)
    spawns = _Spawns()
    monkeypatch.setattr(verify_module, "ProcessPoolExecutor", spawns)
    monkeypatch.setattr(verify_module, "_cores", lambda: 2)

    small = verify(dep.store, jobs=None, opener=open_database)
    assert spawns.made == 0 and small.problems == serial.problems == []
    assert (small.partners, small.entries) == (serial.partners, serial.entries)

    monkeypatch.setattr(verify_module, "AUTO_JOBS_ENTRIES", 1)
    large = verify(dep.store, jobs=None, opener=open_database)
    assert spawns.made == 1
    assert (large.partners, large.entries, large.trades, large.payins) == (
        serial.partners,
        serial.entries,
        serial.trades,
        serial.payins,
    )
    assert large.problems == []
