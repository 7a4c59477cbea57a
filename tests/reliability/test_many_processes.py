"""Three API processes and two webhook workers on one database keep the bank exact.

Goal (issue 14, "Many processes"): 3 ``zeropools serve`` processes (their webhook workers off)
and 2 ``zeropools worker`` processes on one PostgreSQL, one hot partner that most requests hit
and many small ones, concurrent clients sending each request to any of the servers. A
Jepsen-style bank checker then proves: conservation across all accounts (each partner's balance,
and so their sum, equals the credits less what open and settled trades hold per the clients'
ack log, and the ledger's own entries; ``zeropools verify`` checks that every journal sums to
zero over the partners', bank, suspense and venue accounts); ``available >= 0`` and
``reserved >= 0`` on every read made during the run; no lost or duplicated ledger entry, trade or
event (sequences gap-free from 1 per partner, counts per type equal to the ack log); every event
delivered at least once by the workers; every keyed request sent again answered alike.

Both stores: one PostgreSQL, and one SQLite file, whose writers in the five processes take turns
through the store's writer lock (``zeropools serve --workers N`` on SQLite, issue 13).

Method: ``support.processes.Daemon`` for the five processes, ``reliability_support`` for the
load and the checker; a reader thread reads random partners' balances from random servers for
the whole run. The figures are printed as one line and recorded in ``docs/reliability.md``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from reliability_support import (
    PROFILE,
    Api,
    Figures,
    Party,
    Workload,
    check_bank,
    check_verify,
    make_parties,
    operator_http,
    to_minor,
)

from support import bearer, throwaway_pg_database
from support.processes import Daemon, random_operator_key, run
from webhook_support import receiving

SERVERS = 3
WORKERS = 2
DRAIN_S = 60.0  # nobody is killed here: deliveries only wait for the workers to catch up
JOIN_S = 180.0


def _read_balances(api: Api, parties: list[Party], stop: threading.Event, figures: Figures) -> None:
    rng = random.Random(7)
    while not stop.is_set():
        party = rng.choice(parties)
        balance = api.get("/v1/balances/EUR", party.partner.server)
        figures.reads += 1
        if to_minor(balance["available"]) < 0 or to_minor(balance["reserved"]) < 0:
            figures.violation(f"{party.id}: negative balance read {balance}")


@contextmanager
def _database(store: str, tmp_path: Path) -> Iterator[str]:
    if store == "postgres":
        with throwaway_pg_database("zp_many") as db:
            yield db
    else:
        yield f"sqlite:///{tmp_path / 'many.db'}"


@pytest.mark.parametrize("store", ["postgres", "sqlite"])
def test_three_servers_and_two_workers_keep_every_account_exact(tmp_path: Path, store: str) -> None:
    figures = Figures()
    operator_key = random_operator_key()
    with _database(store, tmp_path) as db, receiving() as receiver:
        initialized = run("init", "--db", db)
        assert initialized.returncode == 0, initialized.stdout + initialized.stderr
        servers = [
            Daemon.serve(
                db, tmp_path / f"serve-{i}.log", operator_key=operator_key, webhook_worker=False
            )
            for i in range(SERVERS)
        ]
        workers = [Daemon.worker(db, tmp_path / f"worker-{i}.log") for i in range(WORKERS)]
        try:
            for process in [*servers, *workers]:
                process.start()
            client, http = operator_http(servers[0].base_url, operator_key)
            with client:
                models = ["debit"] + ["debit", "reserve"] * (PROFILE.small_partners // 2)
                parties = make_parties(http, receiver, models)
            parties[0].weight = PROFILE.small_partners  # the hot one: half of all requests
            api = Api(lambda: [s.base_url for s in servers], figures)
            workload = Workload(
                api,
                bearer(operator_key),
                parties,
                figures,
                payin_minor=(50_00, 300_00),
                trade_minor=(10_00, 400_00),  # executions outrun credits: refusals happen
            )
            reader = threading.Thread(
                target=_read_balances, args=(api, parties, workload.stop, figures)
            )
            reader.start()
            began = time.monotonic()
            clients = workload.run_clients(PROFILE.clients * 2)
            workload.stop.wait(PROFILE.seconds)
            workload.stop.set()
            for thread in [*clients, reader]:
                thread.join(JOIN_S)
                assert not thread.is_alive(), f"{thread.name} hangs"
            for process in [*servers, *workers]:
                assert process.alive, process.tail()
            figures.load_s = time.monotonic() - began
            check_bank(api, workload, receiver, DRAIN_S)
        finally:
            for process in [*servers, *workers]:
                process.stop()
        check_verify(db, figures)
    refusals = sum(
        1 for c in workload.calls if c.kind == "execute" and c.answer and c.answer.status == 409
    )
    summary = figures.summary(f"many-processes[{store},{PROFILE.name}]")
    print(summary, f"refusals={refusals}", workload.mix())

    assert figures.violations == [], "\n".join(figures.violations[:50])
    assert figures.reads > 0 and figures.events > 0
    # the hot partner ran dry: the race between executions and credits was really run
    assert refusals > 0, figures.summary("no refusals")
