"""``zeropools backup DEST``: a copy of a live database that restores and verifies.

Goal: on each store, a backup taken while pay-ins keep committing restores into a working
database (SQLite: the file opened as is; PostgreSQL: ``pg_restore`` into a throwaway database)
on which ``zeropools verify`` passes and which holds every entry committed before the backup
started; a bad destination or database is one line and a non-zero exit, never a half file.

Method: the venv's real ``zeropools`` executable in subprocesses against a deployment seeded
through the services; a thread commits more credits during the backup; the restored copy is
read back through the store and checked with ``verify``.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from contextlib import ExitStack
from pathlib import Path

from cli_support import run

from support import entries_of, onboard, opened_store, reference_of, send_payin
from support.databases import throwaway_pg_database
from zeropools.services.context import Deployment


def _seed(dep: Deployment) -> str:
    new = onboard(dep)
    for n in range(20):
        send_payin(dep, f"SEED-{n}", f"{n + 1}.00", reference=reference_of(new))
    return new.partner.id


def _restore(dep: Deployment, archive: Path, into: Path, cleanup: ExitStack) -> str:
    """The URL of the restored copy (a PostgreSQL one is dropped when ``cleanup`` closes)."""
    if dep.store.dialect == "sqlite":
        copied = into / "restored.db"
        shutil.copyfile(archive, copied)
        return f"sqlite:///{copied}"
    url = cleanup.enter_context(throwaway_pg_database("zp_restore"))
    pg_restore = shutil.which("pg_restore")
    assert pg_restore is not None, "pg_restore is needed (postgresql-client)"
    done = subprocess.run(
        [pg_restore, "--no-owner", f"--dbname={url}", str(archive)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return url


def test_a_backup_taken_during_writes_restores_and_verifies(
    dep: Deployment, tmp_path: Path
) -> None:
    partner_id = _seed(dep)
    before = [e.id for e in entries_of(dep, partner_id)]
    stop = threading.Event()
    written: list[int] = []

    def keep_crediting() -> None:
        partner = dep.store.read(lambda tx: tx.get_partner(partner_id))
        assert partner is not None
        reference = partner.currencies[0].funding_reference
        while not stop.is_set() and len(written) < 200:
            send_payin(dep, f"DURING-{len(written)}", "1.00", reference=reference)
            written.append(1)

    writer = threading.Thread(target=keep_crediting)
    writer.start()
    try:
        archive = tmp_path / "backups" / "zp.backup"
        made = run("backup", str(archive), "--db", dep.store.url)
    finally:
        stop.set()
        writer.join()
    assert made.returncode == 0, made.stdout + made.stderr
    assert "backup written" in made.stdout and str(archive) in made.stdout
    assert archive.is_file() and not archive.with_name("zp.backup.partial").exists()

    with ExitStack() as cleanup:
        url = _restore(dep, archive, tmp_path, cleanup)
        checked = run("verify", "--db", url)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        assert "verify ok: 1 partner" in checked.stdout
        with opened_store(url) as restored:
            copy = [e.id for e in restored.read(lambda tx: list(tx.iter_entries(partner_id)))]
        # everything committed before the backup began, and a prefix of what came after
        assert copy[: len(before)] == before
        assert copy == [e.id for e in entries_of(dep, partner_id)][: len(copy)]


def test_a_backup_that_cannot_be_made_says_why_and_leaves_no_file(tmp_path: Path) -> None:
    missing = run("backup", str(tmp_path / "x.backup"), "--db", f"sqlite:///{tmp_path}/no.db")
    assert missing.returncode == 1
    assert "no database at" in missing.stdout + missing.stderr
    unreachable = run(
        "backup", str(tmp_path / "y.backup"), "--db", "postgresql://postgres@127.0.0.1:1/nothing"
    )
    assert unreachable.returncode == 2
    assert "cannot reach PostgreSQL" in unreachable.stdout + unreachable.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []
