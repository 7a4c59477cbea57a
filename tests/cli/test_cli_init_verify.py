"""``zeropools init`` and ``zeropools verify`` as an operator runs them.

Goal: ``init`` prints an operator key exactly once and fixes the deployment's mode forever;
``verify`` passes on an untouched PostgreSQL ledger and, once someone with database rights has
dropped the append-only trigger and altered an entry, exits 1 with MISMATCH lines naming the
partner.

Method: the venv's real ``zeropools`` executable in subprocesses. The PostgreSQL ledger is
seeded through the services (no server needed), then tampered with over psycopg.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
from cli_support import mismatch_lines, run

from zeropools.bootstrap import deployment, initialize
from zeropools.config import Settings
from zeropools.domain import ids
from zeropools.domain.clock import utc_now
from zeropools.services import partners, payins
from zeropools.services.context import Actor, Ctx
from zeropools.store.open import open_store


def operator_ctx() -> Ctx:
    return Ctx(ids.new_id(ids.REQUEST), utc_now(), Actor(ids.new_id(ids.API_KEY), "operator", None))


def test_init_prints_an_operator_key_once_and_keeps_the_mode(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'x.db'}"

    first = run("init", "--db", db)

    assert first.returncode == 0, first.stderr
    keys = [line for line in first.stdout.splitlines() if line.startswith("zpk_")]
    assert len(keys) == 1, first.stdout
    assert keys[0].startswith("zpk_test_")
    assert len(keys[0]) > len("zpk_test_") + 30

    second = run("init", "--db", db)

    assert second.returncode == 0, second.stderr
    assert "already initialized" in second.stdout
    assert "zpk_" not in second.stdout + second.stderr

    live = run("init", "--db", db, "--mode", "live")

    assert live.returncode != 0
    message = live.stdout + live.stderr
    assert "test mode" in message and "live" in message, message
    assert "zpk_" not in message

    bad_mode = run("init", "--db", f"sqlite:///{tmp_path / 'y.db'}", "--mode", "staging")
    assert bad_mode.returncode != 0
    assert "--mode" in bad_mode.stdout + bad_mode.stderr


def test_verify_finds_a_tampered_entry_on_postgres(pg_url: str) -> None:
    store = open_store(pg_url)
    try:
        initialize(store, "test")
        dep = deployment(Settings(db_url=pg_url), store)
        ctx = operator_ctx()
        created = partners.create_partner(
            dep, ctx, name="Acme Wallet", balance_model="debit", currencies=["EUR"]
        )
        partner_id = created.partner.id
        reference = created.partner.currencies[0].funding_reference
        for n, amount in enumerate(("1000.00", "250.00"), start=1):
            note = payins.notification(
                dep,
                bank_transaction_id=f"bank-{n}",
                amount=amount,
                currency="EUR",
                booking_status="booked",
                reference=reference,
            )
            assert payins.record_payin(dep, ctx, note).payin.status == "credited"
    finally:
        store.close()

    healthy = run("verify", "--db", pg_url)

    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "verify ok" in healthy.stdout
    assert "2 entries" in healthy.stdout

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TRIGGER ledger_entries_append_only ON ledger_entries")
        conn.execute("UPDATE ledger_entries SET amount_minor = 1 WHERE sequence = 1")

    tampered = run("verify", "--db", pg_url)

    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    lines = mismatch_lines(tampered.stdout)
    assert lines, tampered.stdout
    assert all(partner_id in line for line in lines), lines
    assert any("#1" in line for line in lines), lines
    assert "verify failed" in tampered.stdout
    assert "verify ok" not in tampered.stdout
