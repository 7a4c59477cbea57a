"""Dashboard render time: one ledger page of 100 rows, signed in, on SQLite.

Method: a partner with PAYINS credited pay-ins (so every ledger page is full), a partner admin
session made through ``services.dashboard_sessions``, then ROUNDS requests of
``GET /dashboard/partners/{id}/ledger`` (the first page, 100 rows with their balances) and of a
page further on (``?after=``, a keyset cursor), in process through Starlette's TestClient: the
whole path of a request (session lookup, the ledger read, Jinja2 rendering) without a socket.
The baseline, measured in the same run, is ``GET /v1/ledger-entries?limit=100`` with the same
partner's admin key: the same read rendered as JSON. Prints medians; nothing asserts on time.

Usage: .venv/bin/python bench/dashboard.py [--payins 300] [--rounds 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from zeropools.api.app import create_app
from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids
from zeropools.services import dashboard_sessions, partners, payins
from zeropools.services.context import Actor, Ctx
from zeropools.store.open import open_store


def median_ms(rounds: int, call: Callable[[], object]) -> float:
    call()  # warm: template compiled, connection opened
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payins", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        store = open_store(url)
        initialize(store, "test")
        dep = deployment(Settings(db_url=url), store)
        op = Ctx(ids.new_id(ids.REQUEST), datetime.now(UTC), Actor("bench", "operator", None))
        new = partners.create_partner(
            dep, op, name="Bench Wallet", balance_model="debit", currencies=["EUR"]
        )
        reference = new.partner.currencies[0].funding_reference
        for i in range(args.payins):
            note = payins.notification(
                dep,
                bank_transaction_id=f"bench-{i}",
                amount=f"{10 + i}.00",
                currency="EUR",
                booking_status="booked",
                reference=reference,
            )
            payins.record_payin(dep, op, note)
        admin = partners.issue_api_key(dep, op, new.partner.id, "partner_admin")
        session = dashboard_sessions.sign_in(dep, admin.secret, datetime.now(UTC))
        page = f"/dashboard/partners/{new.partner.id}/ledger"
        with TestClient(create_app(dep), base_url="http://127.0.0.1") as client:
            client.cookies.set("zp_session", session.token, path="/dashboard")
            first = client.get(page)
            assert first.status_code == 200 and first.text.count("<tr>") >= 100, first.text[:300]
            entries = client.get(
                "/v1/ledger-entries",
                params={"limit": 100},
                headers={"Authorization": f"Bearer {admin.secret}"},
            ).json()["data"]
            after = entries[-1]["id"]
            html_ms = median_ms(args.rounds, lambda: client.get(page))
            later_ms = median_ms(args.rounds, lambda: client.get(page, params={"after": after}))
            json_ms = median_ms(
                args.rounds,
                lambda: client.get(
                    "/v1/ledger-entries",
                    params={"limit": 100},
                    headers={"Authorization": f"Bearer {admin.secret}"},
                ),
            )
        store.close()
    print(f"dashboard ledger page, 100 rows, SQLite ({args.payins} entries, {args.rounds} rounds)")
    print(f"  first page        median {html_ms:6.1f} ms")
    print(f"  page after {after[:12]}.. median {later_ms:6.1f} ms")
    print(f"  baseline: GET /v1/ledger-entries?limit=100 (JSON) median {json_ms:6.1f} ms")


if __name__ == "__main__":
    main()
