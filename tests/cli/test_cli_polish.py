"""The command line as a first-time operator meets it: help that reads, refusals in one line.

Goal: ``zeropools --help`` lists every command with a one-line description and no raw markup;
every option has help text and a metavar; an impossible port, a busy port (before ``demo``
prints any key), a directory given as a statement file, an unsupported ``--db`` scheme and an
unreachable PostgreSQL are each one clear line and exit 2, never a traceback or half a minute of
pool warnings; counts read right ("1 entry", "1 problem"); ``verify`` names the partner, the
``ple_`` entry or balance and the field that differ, in the currency's units.
Method: the installed ``zeropools`` command in subprocesses (``cli_support.run``) on SQLite files
in a temporary directory, data written through the services; the Typer app itself for the
option checks.
"""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

import typer
from cli_support import free_port, mismatch_lines, run

from support import onboard, opened_store, reference_of, send_payin, sqlite_url
from zeropools.bootstrap import deployment
from zeropools.cli import app
from zeropools.config import Settings

ONE_LINE_S = 10.0  # an unreachable server must be reported well before a pool's 30 s


def _no_traceback(result: object) -> None:
    text = getattr(result, "stdout", "") + getattr(result, "stderr", "")
    assert "Traceback" not in text, text


def _funded_database(folder: Path) -> tuple[str, str]:
    """A SQLite database with one partner credited 1000.00 EUR; its URL and the partner id."""
    url = sqlite_url(folder, "funded.db")
    with opened_store(url) as store:
        dep = deployment(Settings(db_url=url), store)
        new = onboard(dep)
        send_payin(dep, "bank-1", "1000.00", reference=reference_of(new))
    return url, new.partner.id


def test_help_lists_every_command_with_a_description_and_no_raw_markup() -> None:
    result = run("--help")

    assert result.returncode == 0
    assert "``" not in result.stdout and "`" not in result.stdout
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for name, command in commands.items():
        assert name in result.stdout, name
        assert command.help and "`" not in command.help, name


def test_every_option_has_help_text_and_a_metavar() -> None:
    # typer ships its own click: the parameters are told apart by what they carry
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for name, command in commands.items():
        for param in command.params:
            assert param.help, (name, param.name)
            if not getattr(param, "is_flag", False):
                assert param.metavar and param.metavar.upper() != "TEXT", (name, param.name)


def test_a_port_outside_1_to_65535_is_refused(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    assert run("init", "--db", db).returncode == 0

    option = run("serve", "--db", db, "--port", "99999")
    env = run("serve", "--db", db, ZEROPOOLS_PORT="99999")

    assert option.returncode == 2 and "99999" in option.stderr, option.stderr
    assert env.returncode == 2 and "99999 is not a TCP port" in env.stderr, env.stderr
    _no_traceback(option)
    _no_traceback(env)


def test_a_busy_port_fails_before_the_demo_prints_a_key_or_creates_a_database(
    tmp_path: Path,
) -> None:
    port = free_port()
    db = tmp_path / "demo.db"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", port))
        taken.listen()

        result = run("demo", "--db", f"sqlite:///{db}", "--port", str(port))

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
    assert "zpk_" not in result.stdout + result.stderr
    assert not db.exists()
    _no_traceback(result)


def test_a_directory_given_as_a_statement_file_says_so(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    assert run("init", "--db", db).returncode == 0

    result = run("import-statement", "--db", db, str(tmp_path))

    assert result.returncode == 2
    assert "is a directory" in result.stderr
    _no_traceback(result)


def test_an_import_of_one_entry_says_1_entry(tmp_path: Path) -> None:
    db = sqlite_url(tmp_path)
    assert run("init", "--db", db).returncode == 0
    statement = tmp_path / "one.sta"
    statement.write_text(
        ":20:STMT1\n:25:NL91ABNA0417164300\n:28C:1/1\n:60F:C261123EUR0,00\n"
        ":61:2611231123C10,00NTRFNONREF//B1\n:86:top-up without reference\n"
        ":62F:C261123EUR10,00\n-\n"
    )

    result = run("import-statement", "--db", db, str(statement))

    assert result.returncode == 0, result.stderr
    assert "1 entry, 1 credit:" in result.stdout, result.stdout
    assert "0 debits ignored" in result.stdout, result.stdout


def test_an_unsupported_database_scheme_is_one_line_and_exit_2() -> None:
    result = run("verify", "--db", "mysql://root@localhost/zeropools")

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "unsupported database URL" in result.stderr
    _no_traceback(result)


def test_an_unreachable_postgresql_fails_once_clearly_and_hides_the_password() -> None:
    started = time.monotonic()

    result = run("verify", "--db", f"postgresql://zp:s3cret@127.0.0.1:{free_port()}/zp")

    assert time.monotonic() - started < ONE_LINE_S
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "cannot reach PostgreSQL" in result.stderr
    assert "s3cret" not in result.stderr and "zp:***@" in result.stderr
    assert "pool" not in result.stderr  # no connection-pool retries and warnings
    _no_traceback(result)


def test_verify_counts_read_right(tmp_path: Path) -> None:
    url, _ = _funded_database(tmp_path)

    result = run("verify", "--db", url)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "verify ok: 1 partner, 1 entry, 0 problems" in result.stdout


def test_verify_names_partner_balance_and_field_in_currency_units(tmp_path: Path) -> None:
    url, partner_id = _funded_database(tmp_path)
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:  # partner balances have no append-only trigger: only verify guards them
        conn.execute(
            "UPDATE partner_currencies SET available_minor = 98500 WHERE partner_id = ?",
            (partner_id,),
        )
        conn.commit()
    finally:
        conn.close()

    result = run("verify", "--db", url)

    assert result.returncode == 1
    assert mismatch_lines(result.stdout) == [
        f"MISMATCH {partner_id} balance EUR: available 1000.00 EUR by the entries, "
        "stored 985.00 EUR"
    ]
    assert "verify failed: 1 partner, 1 entry, 1 problem" in result.stdout


def test_verify_names_the_entry_id_of_a_rewritten_entry(tmp_path: Path) -> None:
    url, partner_id = _funded_database(tmp_path)
    conn = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:
        [(entry_id,)] = conn.execute("SELECT id FROM ledger_entries").fetchall()
        conn.execute("DROP TRIGGER ledger_entries_no_update")
        conn.execute("UPDATE ledger_entries SET available_after_minor = 198500")
        conn.commit()
    finally:
        conn.close()

    result = run("verify", "--db", url)

    assert result.returncode == 1
    lines = mismatch_lines(result.stdout)
    assert (
        f"MISMATCH {partner_id} {entry_id} (#1): available_after 1000.00 EUR by the "
        "journal lines, stored 1985.00 EUR" in lines
    ), lines
    assert "2 problems" in result.stdout  # the altered field and the hash it breaks
