"""``zeropools export``: the file the command writes is the export the API streams.

Goal: the CLI writes in one pass (no first pass for the sha256, issue 13), so hold it to the
service: for an open and for a closed day its bytes are ``open_export``'s, its FILE.sha256 names
their digest, a closed day's file verifies offline with the public key, and an export whose
roll-forward is broken is refused with exit 1, leaving neither the file nor a partial one.

Method: a past day of activity through the services on each store, the venv's real
``zeropools`` executable in a subprocess, raw SQL (append-only trigger off) for the tampering.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from finance_support import acknowledge, brief_day, new_day

from support import ctx_for
from zeropools.client import verify_export
from zeropools.services import exports, periods, signing
from zeropools.services.context import Deployment

ZEROPOOLS = Path(sys.executable).parent / "zeropools"


def service_export(dep: Deployment, partner_id: str, date: str) -> tuple[bytes, str]:
    ctx = ctx_for("partner_admin", partner_id)
    request = exports.export_request(dep, ctx, None, date=date, currency="EUR", fmt="csv", tz=None)
    export = exports.open_export(dep, request)
    data = b"".join(export.chunks)
    export.close()
    return data, export.sha256


def cli_export(db_url: str, partner_id: str, date: str, out: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEROPOOLS_")}
    argv = ["export", "--db", db_url, "--partner", partner_id, "--date", date, "--out", str(out)]
    done = subprocess.run(
        [str(ZEROPOOLS), *argv],
        capture_output=True,
        text=True,
        env={**env, "COLUMNS": "200"},
        timeout=120,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_the_cli_writes_the_open_day_export_and_its_sha256(
    fdep: Deployment, db_url: str, tmp_path: Path
) -> None:
    day = new_day(fdep)
    brief_day(day)
    expected, sha256 = service_export(fdep, day.partner_id, day.date)
    folder = tmp_path / "out"  # tmp_path also holds the database and the key file
    folder.mkdir()
    out = folder / "day.csv"
    code, output = cli_export(db_url, day.partner_id, day.date, out)
    assert code == 0, output
    assert "open, unsigned" in output
    assert out.read_bytes() == expected
    assert hashlib.sha256(expected).hexdigest() == sha256
    assert (folder / "day.csv.sha256").read_text() == f"{sha256}  day.csv\n"
    assert sorted(p.name for p in folder.iterdir()) == ["day.csv", "day.csv.sha256"]


def test_the_cli_writes_the_closed_day_export_that_verifies_offline(
    fdep: Deployment, db_url: str, tmp_path: Path
) -> None:
    day = new_day(fdep)
    trades = brief_day(day)
    acknowledge(fdep, day.partner_id, trades["failed"])
    acknowledge(fdep, day.partner_id, trades["returned"])
    periods.close_period(fdep, ctx_for("partner_admin", day.partner_id), day.date)
    expected, sha256 = service_export(fdep, day.partner_id, day.date)
    out = tmp_path / "closed.csv"
    code, output = cli_export(db_url, day.partner_id, day.date, out)
    assert code == 0, output
    assert "closed, signed" in output and sha256 in output
    assert out.read_bytes() == expected
    report = verify_export(out.read_bytes(), signing.current_key(fdep).public_key)
    assert report.signed and report.entries == 7


def test_a_broken_roll_forward_is_refused_and_leaves_no_file(
    fdep: Deployment, db_url: str, tmp_path: Path
) -> None:
    day = new_day(fdep)
    brief_day(day)
    sqlite = db_url.startswith("sqlite")

    def tamper(tx: object) -> None:
        sql = tx._run  # type: ignore[attr-defined]
        if sqlite:
            sql("DROP TRIGGER ledger_entries_no_update")
        else:
            sql("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only")
        sql(
            "UPDATE ledger_entries SET available_after_minor = available_after_minor + 1 "
            "WHERE partner_id = %s AND sequence = 2",
            (day.partner_id,),
        )
        if not sqlite:
            sql("ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_append_only")

    fdep.store.write(tamper)  # type: ignore[arg-type]
    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "broken.csv"
    code, output = cli_export(db_url, day.partner_id, day.date, out)
    assert code == 1, output
    assert "export refused" in output and "#2" in output
    assert list(folder.iterdir()) == []
