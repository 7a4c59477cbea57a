"""``zeropools`` command line: init, serve, worker, verify, import-statement, demo."""

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
from zeropools.domain import ids, limits
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


WebhookWorkerOption = Annotated[
    bool | None,
    typer.Option(
        "--webhook-worker/--no-webhook-worker",
        help="deliver webhooks in this process; default on ($ZEROPOOLS_WEBHOOK_WORKER=off "
        "turns it off when 'zeropools worker' processes deliver instead)",
    ),
]


def _serve(dep: Deployment, host: str, port: int, *, webhook_worker: bool) -> None:
    import uvicorn

    from zeropools.api.app import create_app
    from zeropools.workers import webhooks

    # started and stopped with the app (its lifespan), so it never outlives the server
    background = [webhooks.Worker(dep)] if webhook_worker else []
    uvicorn.run(create_app(dep, background), host=host, port=port, log_level="info")


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
def serve(
    db: DbOption = None,
    host: HostOption = None,
    port: PortOption = None,
    webhook_worker: WebhookWorkerOption = None,
) -> None:
    """Serve the HTTP API (and deliver webhooks); applies pending migrations first."""
    settings = _settings(db)
    dep = _open(settings)
    if settings.operator_key:
        if key_mode(settings.operator_key) != dep.mode:
            err.print(f"ZEROPOOLS_OPERATOR_KEY must start with zpk_{dep.mode}_")
            raise typer.Exit(2)
        partners.ensure_operator_key(dep, settings.operator_key, to_rfc3339(utc_now()))
    _serve(
        dep,
        host or settings.host,
        port or settings.port,
        webhook_worker=settings.webhook_worker if webhook_worker is None else webhook_worker,
    )


@app.command()
def worker(
    db: DbOption = None,
    threads: Annotated[
        int,
        typer.Option(
            "--threads", min=1, max=256, help="attempts in flight at once (one per endpoint)"
        ),
    ] = limits.WEBHOOK_WORKER_THREADS,
) -> None:
    """Deliver webhooks without serving the API; several may run against one PostgreSQL."""
    import signal
    import threading

    from zeropools.workers import webhooks

    settings = _settings(db)
    dep = _open(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # process managers stop with TERM
    delivering = webhooks.Worker(dep, threads=threads)
    delivering.start()
    out.print(f"webhook worker {delivering.worker_id} on {settings.db_url} ({threads} senders)")
    try:
        while not stop.wait(limits.WEBHOOK_POLL_INTERVAL_S):
            pass
    finally:
        delivering.stop()
        dep.store.close()
    out.print("webhook worker stopped")


@app.command()
def verify(db: DbOption = None) -> None:
    """Replay every ledger entry: hashes, sequences, journal sums, stored balances."""
    settings = _settings(db)
    _require_database(settings.db_url)
    store = open_store(settings.db_url)
    try:
        report = verify_ledger(store)
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
def demo(
    db: DbOption = None,
    host: HostOption = None,
    port: PortOption = None,
    webhook_worker: WebhookWorkerOption = None,
) -> None:
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
    _serve(
        dep,
        host,
        port,
        webhook_worker=settings.webhook_worker if webhook_worker is None else webhook_worker,
    )


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
