"""The command line's answers to operator mistakes: clear words, a non-zero exit, no traceback.

Goal: a typo'd database path, a missing statement file, re-running ``init`` on a live database
and a currency scale changed under stored money are each explained, never a stack trace and
never silent damage. Method: the installed ``zeropools`` command in subprocesses on SQLite files
in a temporary directory.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from cli_support import run


def test_verify_of_a_database_that_does_not_exist_says_so_and_creates_nothing(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "typo.db"
    result = run("verify", "--db", f"sqlite:///{missing}")
    assert result.returncode == 1
    assert "no database at" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not missing.exists()


def test_importing_a_file_that_does_not_exist_says_so(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'z.db'}"
    assert run("init", "--db", db).returncode == 0
    result = run("import-statement", "--db", db, str(tmp_path / "nope.xml"))
    assert result.returncode == 2
    assert "no such file" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_init_without_a_mode_upgrades_a_live_database_in_place(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'live.db'}"
    pepper = secrets.token_hex(32)  # live mode needs its key pepper (issue 14)
    first = run("init", "--db", db, "--mode", "live", ZEROPOOLS_KEY_PEPPER=pepper)
    assert first.returncode == 0, first.stderr
    assert "zpk_live_" in first.stdout
    again = run("init", "--db", db, ZEROPOOLS_KEY_PEPPER=pepper)
    assert again.returncode == 0, again.stderr
    assert "mode live" in again.stdout
    assert "zpk_" not in again.stdout  # no second key unless asked


def test_a_changed_currency_scale_refuses_to_start_rather_than_reread_stored_amounts(
    tmp_path: Path,
) -> None:
    db = f"sqlite:///{tmp_path / 'scales.db'}"
    assert run("init", "--db", db).returncode == 0
    # first start pins the scales in use (EUR 2) ...
    pinned = run("import-statement", "--db", db, str(_statement(tmp_path)))
    assert pinned.returncode == 0, pinned.stderr
    # ... a later start that says EUR has 3 decimals is refused, and says why
    result = run(
        "import-statement",
        "--db",
        db,
        str(_statement(tmp_path)),
        ZEROPOOLS_CURRENCY_SCALES="EUR:3",
    )
    assert result.returncode == 1
    assert "EUR 2 -> 3" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert run("verify", "--db", db).returncode == 0


def _statement(folder: Path) -> Path:
    """A minimal MT940 statement with one EUR credit (no reference: it goes to review)."""
    path = folder / "one.sta"
    path.write_text(
        ":20:STMT1\n:25:NL91ABNA0417164300\n:28C:1/1\n:60F:C261123EUR0,00\n"
        ":61:2611231123C10,00NTRFNONREF//B1\n:86:top-up without reference\n"
        ":62F:C261123EUR10,00\n-\n"
    )
    return path
