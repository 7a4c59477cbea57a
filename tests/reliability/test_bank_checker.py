"""The bank checker of the reliability suites finds what it is there to find.

Goal: the crash and many-process suites pass only when ``check_bank`` reports no violation, so
``check_bank`` itself must be able to fail. Against a bank it did not see all of, it reports a
balance that disagrees with the ack log, a ledger entry and an event the ack log does not
explain, an answer that a replay contradicts, and events that never reached the receiver.

Method: the app served by uvicorn in a thread (``support.live_server``, no webhook worker, so
nothing is delivered) on SQLite; a few operations through the ``Workload`` of the suites, then
the damage: a pay-in credited behind the clients' back (through the services) and an answer in
the ack log altered; ``check_bank`` with a short drain must report each of them.
"""

from __future__ import annotations

import random
from pathlib import Path

from reliability_support import Api, Figures, Workload, check_bank, make_parties, operator_http

from support import (
    bearer,
    issue_operator_key,
    live_server,
    opened_store,
    send_payin,
    sqlite_url,
)
from webhook_support import receiving
from zeropools.bootstrap import deployment
from zeropools.config import Settings


def test_the_checker_reports_an_unacknowledged_credit_a_changed_answer_and_lost_events(
    tmp_path: Path,
) -> None:
    url = sqlite_url(tmp_path)
    figures = Figures()
    with opened_store(url) as store, receiving() as receiver:
        dep = deployment(Settings(db_url=url), store)
        operator_key = issue_operator_key(dep).secret
        with live_server(dep) as base_url:
            client, http = operator_http(base_url, operator_key)
            with client:
                [party] = make_parties(http, receiver, ["debit"])
            api = Api(lambda: [base_url], figures)
            workload = Workload(api, bearer(operator_key), [party], figures)
            rng, mine = random.Random(1), []
            workload.payin(rng, party)
            for _ in range(3):
                workload.execute(rng, party, mine)
            assert figures.violations == [] and mine, figures.violations

            send_payin(dep, "behind-the-back", "5.00", reference=party.partner.eur)
            changed = next(c for c in workload.calls if c.kind == "execute")
            assert changed.answer is not None
            changed.answer.body["target_amount"] = "0.000001"

            check_bank(api, workload, receiver, drain_s=0.5)

    found = "\n".join(figures.violations)
    assert "but the ack log says" in found  # the balance is 5.00 more than the clients know
    assert "2 payin_credit entries, ack log says 1" in found
    assert "2 payin.credited events, ack log says 1" in found
    assert f"{changed.headers['Idempotency-Key']}: first 201" in found  # the replay differs
    assert "events never delivered" in found  # no worker ran: nothing reached the receiver
