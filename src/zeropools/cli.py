"""``zeropools`` command line: init, serve, verify, import-statement, reconcile, demo."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
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
from zeropools.domain.matching import MatchResult, MatchSummary, RowError
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
    _serve(dep, host or settings.host, port or settings.port)


@app.command()
def verify(db: DbOption = None) -> None:
    """Replay every ledger entry: hashes, sequences, journal sums, stored balances; and check
    every trade and pay-in against its entries."""
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
        f"{report.partners} partners, {report.entries} entries, {report.trades} trades, "
        f"{report.payins} pay-ins, {len(report.problems)} problems"
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


NOTABLE_ROWS_SHOWN = 20  # rows of the "needs a look" table; --out has them all
_MEDIA_TYPES = {
    ".csv": "text/csv",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
}


@app.command()
def reconcile(
    path: Annotated[str, typer.Argument(help="the partner's order file: CSV or JSON lines")],
    partner: Annotated[str, typer.Option("--partner", help="the partner's id (partner_...)")],
    tolerance_s: Annotated[
        int, typer.Option("--tolerance-s", help="how far apart amount + time matches may be")
    ] = 300,
    date: Annotated[
        str | None, typer.Option("--date", help="the ledger day (default: the file's days)")
    ] = None,
    tz: Annotated[str | None, typer.Option("--tz", help="IANA time zone of the day")] = None,
    out_path: Annotated[
        str | None, typer.Option("--out", help="write every result as JSON lines here")
    ] = None,
    db: DbOption = None,
) -> None:
    """Match a partner's order file against the ledger: durable ids first, then amount and
    time. Exit 0 when every row and trade matched, 1 when some did not, 2 when the file
    cannot be matched at all."""
    from pathlib import Path

    from rich.progress import Progress

    from zeropools.representations import objects as views
    from zeropools.representations.encoding import json_bytes
    from zeropools.services import matching
    from zeropools.services.context import Actor

    source = Path(path)
    if not source.is_file():
        err.print(f"[red]no such file: {path}[/red]")
        raise typer.Exit(2)
    dep = _open(_settings(db))
    ctx = Ctx(ids.new_id(ids.REQUEST), utc_now(), Actor("cli", "operator", None))
    notable: list[MatchResult | RowError] = []
    try:
        with source.open("rb") as file, Progress(console=err, transient=True) as bar:
            task = bar.add_task(f"reading {source.name}", total=None)

            def progress(phase: str, done: int) -> None:
                bar.update(task, description=f"{phase} {source.name}", completed=done)

            run = matching.match_file(
                dep,
                ctx,
                partner_id=partner,
                file=file,
                media_type=_MEDIA_TYPES.get(source.suffix.lower()),
                tolerance_s=tolerance_s,
                date=date,
                tz=tz,
                progress=progress,
            )
            bar.update(task, total=run.summary.rows_read, completed=0)
            with open(out_path, "wb") if out_path else _nowhere() as sink:
                for item in run.items():
                    if isinstance(item, RowError):
                        body = views.match_error(item)
                    else:
                        body = views.match_result(item)
                    if sink is not None:
                        sink.write(json_bytes(body) + b"\n")
                    if len(notable) < NOTABLE_ROWS_SHOWN and (
                        isinstance(item, RowError) or item.outcome != "matched"
                    ):
                        notable.append(item)
                if sink is not None:
                    summary_line = views.match_summary(run.summary, ctx.request_id)
                    sink.write(json_bytes(summary_line) + b"\n")
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2) from exc
    finally:
        dep.store.close()
    _print_match(source.name, run.summary, notable)
    counts = run.summary.counts
    all_matched = counts.matched == run.summary.rows_read and counts.missing_in_file == 0
    raise typer.Exit(0 if all_matched else 1)


def _print_match(name: str, summary: MatchSummary, notable: list[MatchResult | RowError]) -> None:
    """The summary table, and the first rows that did not match."""
    from rich.table import Table

    counts = summary.counts
    table = Table(title=f"{name}: {summary.format}, partner {summary.partner_id}")
    table.add_column("rows and trades")
    table.add_column("count", justify="right")
    for label, value in (
        ("rows read", summary.rows_read),
        ("matched by id", counts.by_tier["id"]),
        (f"matched by amount and time (±{summary.tolerance_s} s)", counts.by_tier["amount_time"]),
        ("  of which mismatched (amount, currency or status)", counts.mismatched),
        ("missing in the ledger (or duplicates)", counts.missing_in_ledger),
        ("missing in the file", counts.missing_in_file),
        ("bad rows", summary.invalid),
        ("acknowledged by this match", summary.acknowledged),
    ):
        table.add_row(label, str(value))
    out.print(table)
    if not notable:
        return
    detail = Table(title=f"needs a look (first {NOTABLE_ROWS_SHOWN})")
    for column in ("line", "order", "trade", "outcome", "tier", "differences"):
        detail.add_column(column)
    for item in notable:
        if isinstance(item, RowError):
            detail.add_row(str(item.line), "", "", "bad row", "", f"{item.field}: {item.message}")
            continue
        differences = "; ".join(
            f"{d.field}: file {d.file} / ledger {d.ledger}" for d in item.differences
        )
        if item.duplicate_of_line is not None:
            differences = f"duplicate of line {item.duplicate_of_line}"
        detail.add_row(
            "" if item.line is None else str(item.line),
            item.partner_order_id or "",
            item.trade_id or "",
            item.outcome,
            item.tier or "",
            differences,
        )
    out.print(detail)


@contextmanager
def _nowhere() -> Iterator[None]:
    yield None


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


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
