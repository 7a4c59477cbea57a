"""The zeropools command line: create a database, serve the API, deliver webhooks, verify,
import bank statements and reconcile partner order files."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from zeropools import config
from zeropools.bootstrap import (
    BackupFailed,
    ConfigurationError,
    DatabaseUrlError,
    NotInitialized,
    SecretConfigError,
    Store,
    backup_database,
    database_missing,
    deployment,
    initialize,
    open_database,
    read_or_create_secret_file,
    secrets_folder,
)
from zeropools.domain import ids, limits
from zeropools.domain.clock import to_rfc3339, utc_now
from zeropools.domain.errors import DomainError
from zeropools.domain.keys import operator_secret_weakness
from zeropools.domain.matching import MatchResult, MatchSummary, RowError
from zeropools.domain.partners import MODES, new_api_key_secret
from zeropools.services import partners
from zeropools.services.context import Ctx, Deployment
from zeropools.services.verify import verify as verify_ledger

PORT_MAX = 65_535

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="zeropools: prefunded partner balances on a hash-chained ledger. Create a database "
    "with 'init', run the API with 'serve' (or try it all with 'demo'), check the ledger with "
    "'verify'.",
)
# soft_wrap: a summary piped into a log stays one line
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        metavar="URL",
        help="Database: sqlite:///FILE or postgresql://USER@HOST:PORT/DB. Default: "
        "$ZEROPOOLS_DB, else sqlite:///./var/zeropools.db.",
        show_default=False,
    ),
]
HostOption = Annotated[
    str | None,
    typer.Option(
        "--host",
        metavar="HOST",
        help="Address to listen on. Default: $ZEROPOOLS_HOST, else 127.0.0.1.",
        show_default=False,
    ),
]
PortOption = Annotated[
    int | None,
    typer.Option(
        "--port",
        metavar="PORT",
        min=1,
        max=PORT_MAX,
        help="TCP port to listen on (1-65535). Default: $ZEROPOOLS_PORT, else 8000.",
        show_default=False,
    ),
]


def plural(count: int, singular: str, many: str | None = None) -> str:
    """``1 entry``, ``2 entries``, ``0 problems``: counts that read right."""
    word = singular if count == 1 else (many or f"{singular}s")
    return f"{count} {word}"


def fail(message: str, code: int) -> typer.Exit:
    """Print one red line on stderr; the caller raises the returned exit."""
    err.print(f"[red]{message}[/red]", markup=True, highlight=False)
    return typer.Exit(code)


def _settings(db: str | None) -> config.Settings:
    try:
        settings = config.from_env()
    except ValueError as exc:  # a ZEROPOOLS_* variable that cannot be read
        raise fail(f"configuration: {exc}", 2) from exc
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
        typer.Option(
            "--mode",
            metavar="test|live",
            help="test or live; fixed forever at creation. Default: test for a new database, "
            "else the database's own.",
            show_default=False,
        ),
    ] = None,
    new_operator_key: Annotated[
        bool,
        typer.Option(
            "--new-operator-key",
            help="Issue (and print) another operator key, also when the database exists.",
        ),
    ] = False,
) -> None:
    """Create or upgrade the database schema; print an operator key the first time."""
    if mode is not None and mode not in MODES:
        raise fail(f"--mode must be one of {', '.join(MODES)}", 2)
    settings = _settings(db)
    store = _open_database(settings.db_url)
    try:
        before = store.pending_migrations()
        try:
            applied, kept_mode = initialize(store, mode)
        except DomainError as exc:
            raise fail(exc.detail, 1) from exc
        first_time = "0001_init" in before
        out.print(
            f"schema: {settings.db_url} ({', '.join(applied) or 'up to date'}); mode {kept_mode}"
        )
        if first_time or new_operator_key:
            try:
                dep = deployment(settings, store)
            except SecretConfigError as exc:  # live without ZEROPOOLS_KEY_PEPPER
                raise fail(f"{exc}; then run 'zeropools init --new-operator-key'", 2) from exc
            issued = partners.new_operator_key(dep, _system_ctx())
            out.print("operator key (shown once, store it now):")
            print(issued.secret)
        else:
            out.print("already initialized; pass --new-operator-key to issue another key")
    finally:
        store.close()


def _listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket before anything else happens, so a busy port fails at once
    (before ``demo`` prints keys that would never work) and uvicorn serves exactly this one."""
    if not 1 <= port <= PORT_MAX:  # $ZEROPOOLS_PORT is not checked by the option's range
        raise fail(f"port {port} is not a TCP port (1-{PORT_MAX})", 2)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise fail(f"cannot listen on {host}: {exc.strerror}", 2) from exc
    family, _, _, _, address = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn: TIME_WAIT is fine
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise fail(
            f"cannot listen on {host}:{port}: {exc.strerror}. Stop what is using it, or choose "
            "another port with --port N (or ZEROPOOLS_PORT=N).",
            2,
        ) from exc
    return sock


def _json_logging() -> Callable[[str], None]:
    import logging
    import logging.config

    from zeropools.api.access_log import logging_config

    logging.config.dictConfig(logging_config())
    return logging.getLogger("zeropools.serve").info


WebhookWorkerOption = Annotated[
    bool | None,
    typer.Option(
        "--webhook-worker/--no-webhook-worker",
        help="Deliver webhooks in this process (default on; $ZEROPOOLS_WEBHOOK_WORKER=off turns "
        "it off when 'zeropools worker' processes deliver instead).",
    ),
]


def _serve(
    dep: Deployment,
    settings: config.Settings,
    sock: socket.socket,
    host: str,
    port: int,
    *,
    webhook_worker: bool,
    workers: int = 1,
    access_log: bool = False,
) -> None:
    import uvicorn

    from zeropools.api.access_log import logging_config
    from zeropools.api.app import create_app
    from zeropools.api.server import guarded_http_protocol, tune_gc
    from zeropools.workers import webhooks

    served: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": logging_config(access_log=access_log),
        "access_log": False,  # uvicorn's logs raw paths with their query strings; ours replaces it
        "http": guarded_http_protocol(settings.header_timeout_s),
    }
    if workers > 1:
        _serve_workers(dep, sock, served, webhook_worker, workers)
        return
    # started and stopped with the app (its lifespan), so it never outlives the server
    background = [webhooks.Worker(dep)] if webhook_worker else []
    app = create_app(
        dep, background, rate_limits=settings.rate_limits, body_timeout_s=settings.body_timeout_s
    )
    tune_gc()
    uvicorn.Server(uvicorn.Config(app, **served)).run(sockets=[sock])


def _serve_workers(
    dep: Deployment,
    sock: socket.socket,
    served: dict[str, Any],
    webhook_worker: bool,
    workers: int,
) -> None:
    """Several processes on one socket: uvicorn starts them and each builds its own app from
    the import-string factory, configured through the environment (set here from the options,
    so ``--db`` and ``--no-webhook-worker`` reach every worker)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ["ZEROPOOLS_DB"] = dep.store.url
    os.environ["ZEROPOOLS_WEBHOOK_WORKER"] = "on" if webhook_worker else "off"
    dep.store.close()  # the supervisor serves nothing itself: its connections go
    config = uvicorn.Config(
        "zeropools.asgi:app",
        factory=True,
        workers=workers,
        # a worker answers the supervisor's health pings only once it has imported the app;
        # on a busy machine that takes longer than uvicorn's 5 s, and it would be killed as hung
        timeout_worker_healthcheck=limits.SERVE_WORKER_HEALTHCHECK_S,
        **served,
    )
    sock.set_inheritable(True)  # as uvicorn's own bind: the workers accept on this socket
    Multiprocess(config, sockets=[sock]).run()


def _open_database(url: str) -> Store:
    try:
        return open_database(url)
    except DatabaseUrlError as exc:
        raise fail(str(exc), 2) from exc


def _open(settings: config.Settings) -> Deployment:
    _require_database(settings.db_url)
    try:
        return deployment(settings)
    except NotInitialized as exc:
        raise fail(str(exc), 1) from exc
    except (DatabaseUrlError, SecretConfigError) as exc:  # unreachable server, no pepper...
        raise fail(str(exc), 2) from exc
    except ConfigurationError as exc:  # e.g. currency scales that contradict the stored data
        raise fail(str(exc), 1) from exc


def _refuse_weak_operator_key(secret: str | None, mode: str, source: str) -> None:
    """Exit 2 when the configured operator key is guessable: it opens everything."""
    if secret is None:
        return
    weakness = operator_secret_weakness(secret, mode)
    if weakness:
        raise fail(
            f"{source} refused: {weakness}. Print a strong one with 'zeropools keys operator "
            f"--mode {mode}'.",
            2,
        )


def _warn(message: str) -> None:
    err.print(f"[yellow]{message}[/yellow]", highlight=False)


def _register_operator_key(
    dep: Deployment, secret: str, source: str, say: Callable[[str], None] = _warn
) -> None:
    """Register the configured operator key; it replaces the one an earlier value registered."""
    _refuse_weak_operator_key(secret, dep.mode, source)
    configured = partners.ensure_operator_key(dep, secret, to_rfc3339(utc_now()))
    if configured.key.revoked_at is not None:
        raise fail(
            f"{source} names operator key {configured.key.id}, revoked at "
            f"{configured.key.revoked_at}; configure a new key",
            2,
        )
    for old in configured.revoked:
        say(
            f"revoked operator key {old.id} (ending {old.last4}), registered by an earlier "
            f"value of {source}"
        )


def _require_database(url: str) -> None:
    """A missing SQLite file is a typo, not a new database: only ``init`` creates one."""
    if database_missing(url):
        raise fail(f"no database at {url}: run 'zeropools init --db {url}' first", 1)


@app.command()
def serve(
    db: DbOption = None,
    host: HostOption = None,
    port: PortOption = None,
    webhook_worker: WebhookWorkerOption = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            metavar="N",
            envvar="ZEROPOOLS_WORKERS",
            help="Server processes sharing the port (each with its own connections and "
            "writer; on SQLite the writers take turns on a lock file beside the database). "
            "2 on a machine of 2 cores or more.",
        ),
    ] = 1,
    access_log: Annotated[
        bool | None,
        typer.Option(
            "--access-log/--no-access-log",
            envvar="ZEROPOOLS_ACCESS_LOG",
            help="A JSON line per request (request id, route, status, latency, caller). On by "
            "default in test mode, off in live mode, where it costs a third of the edge's time "
            "per request (bench/edge.py).",
        ),
    ] = None,
) -> None:
    """Serve the HTTP API and deliver webhooks (applies pending migrations first)."""
    settings = _settings(db)
    host, port = host or settings.host, port or settings.port
    sock = _listen(host, port)
    dep = _open(settings)
    # from here on the server logs JSON lines (start-up notices included), as it will serving
    say = _json_logging()
    if settings.operator_key:
        _register_operator_key(dep, settings.operator_key, "ZEROPOOLS_OPERATOR_KEY", say)
    for notice in dep.notices:
        say(notice)
    _serve(
        dep,
        settings,
        sock,
        host,
        port,
        webhook_worker=settings.webhook_worker if webhook_worker is None else webhook_worker,
        workers=workers,
        access_log=dep.mode == "test" if access_log is None else access_log,
    )


@app.command()
def worker(
    db: DbOption = None,
    threads: Annotated[
        int,
        typer.Option(
            "--threads",
            min=1,
            max=256,
            metavar="N",
            help="Delivery attempts in flight at once (one per endpoint).",
        ),
    ] = limits.WEBHOOK_WORKER_THREADS,
) -> None:
    """Deliver webhooks without serving the API; several may run against one PostgreSQL."""
    import signal
    import threading

    from zeropools.workers import webhooks

    settings = _settings(db)
    dep = _open(settings)
    # the worker registers no key, but one deployment's processes share one configuration
    _refuse_weak_operator_key(settings.operator_key, dep.mode, "ZEROPOOLS_OPERATOR_KEY")
    _json_logging()  # delivery failures and lease losses as JSON lines, as `serve` logs them
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
def verify(
    db: DbOption = None,
    checkpoints: Annotated[
        bool,
        typer.Option("--checkpoints", help="Also check every signed period checkpoint."),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            min=1,
            metavar="N",
            help=(
                "Processes checking partners in parallel (this one and N-1 workers), a "
                "partner of 100,000 entries or more as ranges of its chain. Default: every "
                "core for ledgers of 200,000 entries or more in all, else 1 (a worker takes "
                "about half a second to start)."
            ),
        ),
    ] = None,
) -> None:
    """Replay every ledger entry (hashes, sequences, balances) and check every trade and pay-in
    against its entries; exit 1 on a mismatch."""
    settings = _settings(db)
    _require_database(settings.db_url)
    store = _open_database(settings.db_url)
    try:
        report = verify_ledger(store, checkpoints=checkpoints, jobs=jobs, opener=open_database)
    except Exception as exc:  # not a zeropools database, a server gone mid-way, ...
        raise fail(f"cannot verify {settings.db_url}: {exc}", 2) from exc
    finally:
        store.close()
    for problem in report.problems:
        out.print(f"[red]MISMATCH[/red] {problem}", highlight=False)
    summary = (
        f"{plural(report.partners, 'partner')}, {plural(report.entries, 'entry', 'entries')}, "
        f"{plural(len(report.problems), 'problem')} "
        f"({plural(report.trades, 'trade')}, {plural(report.payins, 'pay-in')} and "
        f"{plural(report.heads, 'published head')} checked)"
    )
    if not report.ok:
        out.print(f"[red]verify failed:[/red] {summary}", highlight=False)
        raise typer.Exit(1)
    out.print(f"[green]verify ok:[/green] {summary}", highlight=False)


@app.command()
def backup(
    dest: Annotated[
        str,
        typer.Argument(
            metavar="DEST",
            help="The file to write (replaced if it exists). SQLite: a database file; "
            "PostgreSQL: a pg_dump custom-format archive (restore with pg_restore).",
            show_default=False,
        ),
    ],
    db: DbOption = None,
) -> None:
    """Copy the database to DEST while the API keeps running: SQLite's online backup API, or
    pg_dump (custom format) for PostgreSQL. Run 'zeropools verify' on the restored copy."""
    settings = _settings(db)
    _require_database(settings.db_url)
    _open_database(settings.db_url).close()  # an unreachable server: one line, exit 2
    try:
        made = backup_database(settings.db_url, Path(dest))
    except BackupFailed as exc:
        raise fail(str(exc), 1) from exc
    out.print(
        f"[green]backup written:[/green] {made.path} ({made.dialect}, {made.size_bytes} bytes)",
        highlight=False,
    )


@app.command("import-statement")
def import_statement(
    path: Annotated[
        str,
        typer.Argument(
            metavar="FILE",
            help="A bank statement: camt.053, camt.054 (XML) or MT940.",
            show_default=False,
        ),
    ],
    db: DbOption = None,
) -> None:
    """Import a bank statement file: attributed credits are credited, the rest waits for review."""
    from pathlib import Path

    from rich.progress import Progress

    from zeropools.services import imports
    from zeropools.services.context import Actor

    settings = _settings(db)
    file = Path(path)
    if file.is_dir():
        raise fail(f"{path} is a directory: name one statement file in it", 2)
    if not file.is_file():
        raise fail(f"no such file: {path}", 2)
    dep = _open(settings)
    data = file.read_bytes()
    ctx = Ctx(ids.new_id(ids.REQUEST), utc_now(), Actor("cli", "operator", None))
    try:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task(f"importing {file.name}", total=None)
            summary = imports.import_statement(
                dep, ctx, data, progress=lambda done: bar.advance(task, done)
            )
    except DomainError as exc:
        raise fail(exc.detail, 1) from exc
    finally:
        dep.store.close()
    out.print(
        f"{summary.format}: {plural(summary.entries, 'entry', 'entries')}, "
        f"{plural(summary.credits, 'credit')}: {summary.credited} credited, "
        f"{summary.needs_review} to review, {summary.pending_confirmation} pending, "
        f"{summary.duplicates} already known, {plural(summary.conflicts, 'conflict')}; "
        f"{plural(summary.ignored_debits, 'debit')} ignored",
        highlight=False,
    )


VENUE_CHOICES = ("demo", "all", "off")


NOTABLE_ROWS_SHOWN = 20  # rows of the "needs a look" table; --out has them all
_MEDIA_TYPES = {
    ".csv": "text/csv",
    ".jsonl": "application/x-ndjson",
    ".ndjson": "application/x-ndjson",
}


@app.command()
def reconcile(
    path: Annotated[
        str,
        typer.Argument(metavar="FILE", help="The partner's order file: CSV or JSON lines."),
    ],
    partner: Annotated[
        str,
        typer.Option("--partner", metavar="PARTNER", help="The partner's id (partner_...)."),
    ],
    tolerance_s: Annotated[
        int,
        typer.Option(
            "--tolerance-s",
            metavar="SECONDS",
            help="How far apart in time an amount + time match may be.",
        ),
    ] = 300,
    date: Annotated[
        str | None,
        typer.Option(
            "--date", metavar="YYYY-MM-DD", help="The ledger day (default: the file's days)."
        ),
    ] = None,
    tz: Annotated[
        str | None, typer.Option("--tz", metavar="TZ", help="IANA time zone of the day.")
    ] = None,
    out_path: Annotated[
        str | None,
        typer.Option("--out", metavar="FILE", help="Write every result as JSON lines here."),
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
def demo(
    db: DbOption = None,
    host: HostOption = None,
    port: PortOption = None,
    fresh: Annotated[
        bool,
        typer.Option(
            "--fresh", help="Start from a new, empty SQLite database (deletes the old file)."
        ),
    ] = False,
    venue_scope: Annotated[
        str,
        typer.Option(
            "--venue",
            metavar="demo|all|off",
            help="Whose open trades the venue simulator settles (one in ten: fails) after "
            "5 s: the demo partner's (default), every partner's, or nobody's (settle, fail and "
            "return them yourself).",
        ),
    ] = "demo",
    webhook_worker: WebhookWorkerOption = None,
) -> None:
    """Try it out: a demo partner with the brief's ledger sequence and a venue simulator; serve."""
    from zeropools.demo import seed
    from zeropools.workers import venue

    if venue_scope not in VENUE_CHOICES:
        raise fail(f"--venue must be one of {', '.join(VENUE_CHOICES)}", 2)
    settings = _settings(db)
    host, port = host or settings.host, port or settings.port
    sock = _listen(host, port)  # before any key is printed: a busy port fails here
    if fresh:
        _delete_sqlite(settings.db_url)
    store = _open_database(settings.db_url)
    initialize(store, "test")
    try:
        dep = deployment(settings, store)
    except ConfigurationError as exc:  # a weak ZEROPOOLS_KEY_PEPPER, changed currency scales
        raise fail(str(exc), 2 if isinstance(exc, SecretConfigError) else 1) from exc
    if settings.operator_key:
        operator_key, source = settings.operator_key, "ZEROPOOLS_OPERATOR_KEY"
    else:
        key_file = secrets_folder(settings.db_url) / DEMO_KEY_FILE
        operator_key, _ = read_or_create_secret_file(key_file, lambda: new_api_key_secret("test"))
        source = f"the demo's key file {key_file}"
    _register_operator_key(dep, operator_key, source)
    seeded = seed(dep)
    if venue_scope != "off":
        venue.start(dep, partner_id=seeded.partner_id if venue_scope == "demo" else None)
    out.print(f"[bold]zeropools demo[/bold] on {settings.db_url}")
    out.print(
        f"  API          http://{host}:{port}  (docs: /docs and /redoc, OpenAPI: /openapi.json)"
    )
    out.print(
        f"  dashboard    http://{host}:{port}/dashboard  (sign in with the admin or operator key)"
    )
    out.print(f"  operator key {operator_key}  ({source})", highlight=False)
    for line in seeded.lines():
        out.print(f"  {line}")
    out.print(f"  venue        settles {_VENUE_NOTE[venue_scope]}")
    _serve(
        dep,
        settings,
        sock,
        host,
        port,
        webhook_worker=settings.webhook_worker if webhook_worker is None else webhook_worker,
    )


# the demo's operator key, generated on first use beside its SQLite file (README "Try it" reads it)
DEMO_KEY_FILE = "demo-operator-key"

_VENUE_NOTE = {
    "demo": "the demo partner's open trades after 5 s (--venue all|off to change)",
    "all": "every partner's open trades after 5 s",
    "off": "nothing: settle, fail and return trades yourself",
}


def _delete_sqlite(url: str) -> None:
    """``--fresh``: remove the SQLite file and its WAL companions; other databases are refused
    (dropping a PostgreSQL database is not a demo's decision)."""
    from pathlib import Path

    if not url.startswith("sqlite:///"):
        raise fail("--fresh works on a SQLite --db only; drop a PostgreSQL database yourself", 2)
    path = Path(url.removeprefix("sqlite:///"))
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


keys_app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Signing keys and operator keys."
)
app.add_typer(keys_app, name="keys")


@keys_app.command("operator")
def keys_operator(
    mode: Annotated[
        str, typer.Option("--mode", metavar="test|live", help="The deployment's mode.")
    ] = "test",
) -> None:
    """Print a new random operator key for ZEROPOOLS_OPERATOR_KEY (nothing is stored)."""
    if mode not in MODES:
        raise fail(f"--mode must be one of {', '.join(MODES)}", 2)
    print(new_api_key_secret(mode))


@keys_app.command("generate")
def keys_generate(
    out_file: Annotated[
        str, typer.Option("--out", metavar="FILE", help="Where to write the PEM (PKCS#8) key.")
    ],
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
    partner: Annotated[
        str, typer.Option("--partner", metavar="PARTNER", help="The partner's id (partner_...).")
    ],
    date: Annotated[str, typer.Option("--date", metavar="YYYY-MM-DD", help="The day to export.")],
    currency: Annotated[
        str | None, typer.Option("--currency", metavar="CODE", help="One currency (default: each).")
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", metavar="csv|jsonl", help="CSV or JSON lines.")
    ] = "csv",
    tz: Annotated[
        str | None,
        typer.Option("--tz", metavar="TZ", help="IANA time zone of the day (default UTC)."),
    ] = None,
    out_file: Annotated[
        str | None,
        typer.Option(
            "--out", metavar="FILE", help="Where to write it (default: ledger_..._DATE.FMT)."
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """The finance export of one day, with a progress bar; writes FILE and FILE.sha256."""
    from pathlib import Path

    from rich.progress import Progress

    from zeropools.domain.exports import RollForwardBroken
    from zeropools.services import exports
    from zeropools.services.context import Actor

    dep = _open(_settings(db))
    ctx = Ctx(ids.new_id(ids.REQUEST), utc_now(), Actor("cli", "operator", None))
    try:
        request = exports.export_request(
            dep, ctx, partner, date=date, currency=currency, fmt=fmt, tz=tz
        )
        target = Path(out_file or exports.filename(request))
        # written beside the target and renamed into place once whole: an export that fails
        # half-way (a broken roll-forward) never leaves a file that looks like an export
        partial = target.with_name(f".{target.name}.partial")
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task(f"exporting {partner} {date}", total=None)
            try:
                with partial.open("wb") as handle:
                    sha256, closed = exports.write_export(
                        dep, request, handle, progress=lambda n: bar.update(task, completed=n)
                    )
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)
    except DomainError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from exc
    except RollForwardBroken as exc:
        err.print(f"[red]export refused: {exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        dep.store.close()
    Path(f"{target}.sha256").write_text(f"{sha256}  {target.name}\n", encoding="utf-8")
    state = "closed, signed" if closed else "open, unsigned"
    out.print(f"{target} ({state}) sha256 {sha256}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
