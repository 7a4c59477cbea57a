"""``zeropools`` command line: init, serve, verify, demo."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from zeropools import config
from zeropools.bootstrap import (
    ConfigurationError,
    NotInitialized,
    database_missing,
    deployment,
    initialize,
    open_store,
)
from zeropools.domain import ids
from zeropools.domain.clock import to_rfc3339, utc_now
from zeropools.domain.errors import DomainError
from zeropools.domain.partners import MODES, key_mode
from zeropools.services import partners
from zeropools.services.context import Ctx, Deployment
from zeropools.services.verify import verify as verify_ledger

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
# soft_wrap: a summary piped into a log stays one line
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="sqlite:///FILE or postgresql://...; default $ZEROPOOLS_DB or "
        "sqlite:///./var/zeropools.db",
    ),
]
HostOption = Annotated[str | None, typer.Option("--host")]
PortOption = Annotated[int | None, typer.Option("--port")]


def _settings(db: str | None) -> config.Settings:
    settings = config.from_env()
    if db:
        settings = config.Settings(**{**settings.__dict__, "db_url": db})
    return settings


def _system_ctx() -> Ctx:
    return Ctx(request_id=ids.new_id(ids.REQUEST), now=utc_now())


@app.command()
def init(
    db: DbOption = None,
    mode: Annotated[
        str | None,
        typer.Option("--mode", help="test or live, fixed forever; default: test, or kept"),
    ] = None,
    new_operator_key: Annotated[
        bool, typer.Option("--new-operator-key", help="issue another operator key")
    ] = False,
) -> None:
    """Create or upgrade the schema and print an operator key once."""
    if mode is not None and mode not in MODES:
        err.print(f"--mode must be one of {', '.join(MODES)}")
        raise typer.Exit(2)
    settings = _settings(db)
    store = open_store(settings.db_url)
    try:
        before = store.pending_migrations()
        try:
            applied, kept_mode = initialize(store, mode)
        except DomainError as exc:
            err.print(f"[red]{exc.detail}[/red]")
            raise typer.Exit(1) from exc
        first_time = "0001_init" in before
        out.print(
            f"schema: {settings.db_url} ({', '.join(applied) or 'up to date'}); mode {kept_mode}"
        )
        if first_time or new_operator_key:
            dep = deployment(settings, store)
            issued = partners.new_operator_key(dep, _system_ctx())
            out.print("operator key (shown once, store it now):")
            print(issued.secret)
        else:
            out.print("already initialized; pass --new-operator-key to issue another key")
    finally:
        store.close()


def _serve(dep: Deployment, host: str, port: int) -> None:
    import uvicorn

    from zeropools.api.app import create_app

    uvicorn.run(create_app(dep), host=host, port=port, log_level="info")


def _open(settings: config.Settings) -> Deployment:
    _require_database(settings.db_url)
    try:
        return deployment(settings)
    except (NotInitialized, ConfigurationError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def _require_database(url: str) -> None:
    """A missing SQLite file is a typo, not a new database: only ``init`` creates one."""
    if database_missing(url):
        err.print(f"[red]no database at {url}: run 'zeropools init --db {url}' first[/red]")
        raise typer.Exit(1)


@app.command()
def serve(db: DbOption = None, host: HostOption = None, port: PortOption = None) -> None:
    """Serve the HTTP API; applies pending migrations first."""
    settings = _settings(db)
    dep = _open(settings)
    if settings.operator_key:
        if key_mode(settings.operator_key) != dep.mode:
            err.print(f"ZEROPOOLS_OPERATOR_KEY must start with zpk_{dep.mode}_")
            raise typer.Exit(2)
        partners.ensure_operator_key(dep, settings.operator_key, to_rfc3339(utc_now()))
    for notice in dep.notices:
        err.print(f"[yellow]{notice}[/yellow]")
    _serve(dep, host or settings.host, port or settings.port)


@app.command()
def verify(
    db: DbOption = None,
    checkpoints: Annotated[
        bool, typer.Option("--checkpoints", help="also check every signed period checkpoint")
    ] = False,
) -> None:
    """Replay every ledger entry: hashes, sequences, journal sums, stored balances."""
    settings = _settings(db)
    _require_database(settings.db_url)
    store = open_store(settings.db_url)
    try:
        report = verify_ledger(store, checkpoints=checkpoints)
    except Exception as exc:  # unreachable server, not a zeropools database, ...
        err.print(f"[red]cannot verify {settings.db_url}: {exc}[/red]")
        raise typer.Exit(2) from exc
    finally:
        store.close()
    for problem in report.problems:
        out.print(f"[red]MISMATCH[/red] {problem}")
    summary = (
        f"{report.partners} partners, {report.entries} entries, {len(report.problems)} problems"
    )
    if not report.ok:
        out.print(f"[red]verify failed:[/red] {summary}")
        raise typer.Exit(1)
    out.print(f"[green]verify ok:[/green] {summary}")


@app.command("import-statement")
def import_statement(
    path: Annotated[str, typer.Argument(help="a camt.053, camt.054 or MT940 file")],
    db: DbOption = None,
) -> None:
    """Import a bank statement file: credits attributed, the rest to the review queue."""
    from pathlib import Path

    from rich.progress import Progress

    from zeropools.services import imports
    from zeropools.services.context import Actor

    settings = _settings(db)
    if not Path(path).is_file():
        err.print(f"[red]no such file: {path}[/red]")
        raise typer.Exit(2)
    dep = _open(settings)
    data = Path(path).read_bytes()
    ctx = Ctx(ids.new_id(ids.REQUEST), utc_now(), Actor("cli", "operator", None))
    try:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task(f"importing {Path(path).name}", total=None)
            summary = imports.import_statement(
                dep, ctx, data, progress=lambda done: bar.advance(task, done)
            )
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    finally:
        dep.store.close()
    out.print(
        f"{summary.format}: {summary.entries} entries, {summary.credits} credits: "
        f"{summary.credited} credited, {summary.needs_review} to review, "
        f"{summary.pending_confirmation} pending, {summary.duplicates} already known, "
        f"{summary.conflicts} conflicts; {summary.ignored_debits} debits ignored"
    )


@app.command()
def demo(db: DbOption = None, host: HostOption = None, port: PortOption = None) -> None:
    """A demo on SQLite: a partner, the brief's ledger sequence, a venue simulator; serve."""
    from zeropools.demo import seed
    from zeropools.workers import venue

    settings = _settings(db)
    store = open_store(settings.db_url)
    initialize(store, "test")
    dep = deployment(settings, store)
    operator_key = settings.operator_key or "zpk_test_demo_operator_key_for_local_use_only"
    partners.ensure_operator_key(dep, operator_key, to_rfc3339(utc_now()))
    seeded = seed(dep)
    venue.start(dep)
    host, port = host or settings.host, port or settings.port
    out.print(f"[bold]zeropools demo[/bold] on {settings.db_url}")
    out.print(f"  API          http://{host}:{port}  (OpenAPI: /openapi.json, docs: /docs)")
    out.print(f"  operator key {operator_key}")
    for line in seeded.lines():
        out.print(f"  {line}")
    _serve(dep, host, port)


keys_app = typer.Typer(add_completion=False, no_args_is_help=True, help="Signing keys.")
app.add_typer(keys_app, name="keys")


@keys_app.command("generate")
def keys_generate(
    out_file: Annotated[str, typer.Option("--out", help="where to write the PEM (PKCS#8)")],
) -> None:
    """Write a new Ed25519 signing key for ZEROPOOLS_SIGNING_KEY_FILE (mode 0600)."""
    from pathlib import Path

    from zeropools.services import signing

    try:
        new_id = signing.generate_key_file(Path(out_file))
    except FileExistsError as exc:
        err.print(f"[red]{out_file} exists: a key file is never overwritten[/red]")
        raise typer.Exit(1) from exc
    out.print(f"signing key {new_id} written to {out_file}")
    out.print(f"use it with: export ZEROPOOLS_SIGNING_KEY_FILE={out_file}")


@app.command()
def export(
    partner: Annotated[str, typer.Option("--partner", help="partner_...")],
    date: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    currency: Annotated[str | None, typer.Option("--currency")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl")] = "csv",
    tz: Annotated[str | None, typer.Option("--tz", help="IANA zone; default UTC")] = None,
    out_file: Annotated[
        str | None, typer.Option("--out", help="default: ledger_..._DATE.FMT")
    ] = None,
    db: DbOption = None,
) -> None:
    """The finance export of one day, with a progress bar; writes FILE and FILE.sha256."""
    import hashlib
    from pathlib import Path

    from rich.progress import Progress

    from zeropools.services import exports
    from zeropools.services.context import Actor

    dep = _open(_settings(db))
    ctx = Ctx(ids.new_id(ids.REQUEST), utc_now(), Actor("cli", "operator", None))
    try:
        request = exports.export_request(
            dep, ctx, partner, date=date, currency=currency, fmt=fmt, tz=tz
        )
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task(f"exporting {partner} {date}", total=None)
            export = exports.open_export(
                dep, request, progress=lambda done: bar.update(task, completed=done)
            )
            target = Path(out_file or export.filename)
            digest = hashlib.sha256()
            try:
                with target.open("wb") as handle:
                    for chunk in export.chunks:
                        digest.update(chunk)
                        handle.write(chunk)
            finally:
                export.close()
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    finally:
        dep.store.close()
    sha256 = digest.hexdigest()
    assert sha256 == export.sha256, "the written bytes differ from the announced sha256"
    Path(f"{target}.sha256").write_text(f"{sha256}  {target.name}\n", encoding="utf-8")
    state = "closed, signed" if export.closed else "open, unsigned"
    out.print(f"{target} ({state}) sha256 {sha256}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
