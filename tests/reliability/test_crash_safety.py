"""SIGKILLed servers lose nothing, duplicate nothing, and answer every retry alike.

Goal (issue 14, "Crash safety"): under a mixed load (pay-in credits, trade executions, settles,
releases, failures, returns, webhook deliveries to a local receiver) a ``zeropools serve`` that
is SIGKILLed at random moments and started again leaves a bank that adds up: ``zeropools
verify`` passes; every acknowledged (2xx) execution exists exactly once and nothing else does;
every balance, ledger entry count and event count is what the clients' ack log implies; every
keyed request sent again gets the same outcome; every event reaches the webhook receiver at
least once (the webhook worker inside ``serve`` dies and restarts with it). On SQLite (a temp
file) and on PostgreSQL (a throwaway database).

Method: ``support.processes.Daemon`` runs the installed ``zeropools serve`` and kills it
(``PROFILE.kills`` times, at least 10, each after a random lifetime); ``reliability_support``
drives the load from several client threads that retry every request with the same body and
Idempotency-Key until it is answered, and checks the bank afterwards. The figures are printed
as one line (``-s`` shows it; ``make soak`` does) and recorded in ``docs/reliability.md``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_support import (
    PROFILE,
    Api,
    Figures,
    Workload,
    check_bank,
    check_verify,
    make_parties,
    operator_http,
)

from support import bearer, sqlite_url, throwaway_pg_database
from support.processes import Daemon, random_operator_key, run
from webhook_support import receiving
from zeropools.domain import limits

# a worker killed mid-attempt holds its endpoint's lease this long; then the restarted one
# claims it and sends the event again (same webhook-id)
DRAIN_S = limits.WEBHOOK_LEASE_S + 30.0
JOIN_S = 180.0


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    with throwaway_pg_database("zp_crash") as url:
        yield url


def test_sigkilled_serve_loses_nothing_and_answers_every_retry_alike(
    db: str, tmp_path: Path
) -> None:
    initialized = run("init", "--db", db)
    assert initialized.returncode == 0, initialized.stdout + initialized.stderr
    operator_key = random_operator_key()
    figures = Figures()
    rng = random.Random()
    with receiving() as receiver:
        server = Daemon.serve(db, tmp_path / "serve.log", operator_key=operator_key)
        server.start()
        try:
            client, http = operator_http(server.base_url, operator_key)
            with client:
                parties = make_parties(http, receiver, ["debit", "debit", "reserve"])
            api = Api(lambda: [server.base_url], figures)
            workload = Workload(api, bearer(operator_key), parties, figures)
            began = time.monotonic()
            clients = workload.run_clients(PROFILE.clients)
            for _ in range(PROFILE.kills):
                time.sleep(rng.uniform(*PROFILE.kill_gap_s))
                assert server.alive, server.tail()
                server.kill()
                server.start()
            time.sleep(PROFILE.kill_gap_s[1])  # a last stretch of load on the survivor
            workload.stop.set()
            for thread in clients:
                thread.join(JOIN_S)
                assert not thread.is_alive(), f"{thread.name} hangs"
            figures.load_s = time.monotonic() - began
            check_bank(api, workload, receiver, DRAIN_S)
        finally:
            server.stop()
    check_verify(db, figures)
    figures.kills, figures.restarts = server.kills, server.starts - 1
    store = db.partition(":")[0]
    print(figures.summary(f"crash-safety[{store},{PROFILE.name}]"), workload.mix())

    assert figures.violations == [], "\n".join(figures.violations[:50])
    assert figures.kills >= max(PROFILE.kills, 10)
    # the load really crossed the kills: some requests were cut and sent again
    assert figures.retried > 0, figures.summary("no retries")
    assert figures.events > 0 and figures.deliveries >= figures.events
