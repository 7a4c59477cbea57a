"""``zeropools worker`` and the worker inside ``zeropools serve``, as installed commands.

Goal: ``zeropools worker --db URL`` delivers due webhooks without serving the API and stops
cleanly on SIGTERM (exit 0); ``zeropools serve`` delivers them by default, and not with
``--no-webhook-worker`` (for deployments that run workers apart).
Method: a database made by ``zeropools init``; a partner, its endpoint (a local receiver) and a
credit written through the services in this process; the venv's ``zeropools`` in subprocesses,
waited on for a bounded time.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

from cli_support import ZEROPOOLS, clean_env, free_port, run

from support import onboard, sqlite_url
from webhook_support import Receiver, fund, receiving, register
from zeropools.bootstrap import deployment
from zeropools.config import Settings

DELIVERED_S = 20.0
STOPPED_S = 20.0
QUIET_S = 2.0  # a serve without its worker delivers nothing in this long (it polls every 1 s)


def _prepared(tmp_path: Path, receiver: Receiver) -> str:
    """A database with one partner, its endpoint at ``receiver`` and one credit to deliver."""
    db = sqlite_url(tmp_path)
    assert run("init", "--db", db).returncode == 0
    dep = deployment(Settings(db_url=db))
    try:
        new = onboard(dep)
        register(dep, new, receiver.url)
        fund(dep, new, "10.00", "cli-1")
    finally:
        dep.store.close()
    return db


def _wait_for_delivery(receiver: Receiver, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + DELIVERED_S
    while not receiver.requests:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "nothing delivered"
        time.sleep(0.05)


def _stop(process: subprocess.Popen[str]) -> tuple[int, str]:
    process.send_signal(signal.SIGTERM)
    out, _ = process.communicate(timeout=STOPPED_S)
    return process.returncode, out


def test_the_worker_command_delivers_and_stops_on_sigterm(tmp_path: Path) -> None:
    with receiving() as receiver:
        db = _prepared(tmp_path, receiver)
        worker = subprocess.Popen(
            [str(ZEROPOOLS), "worker", "--db", db, "--threads", "2"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=clean_env(),
        )
        try:
            _wait_for_delivery(receiver, worker)
        finally:
            code, out = _stop(worker)

        assert receiver.event_types() == ["payin.credited"]
    assert code == 0, out
    assert "webhook worker" in out and "(2 senders)" in out and "stopped" in out


def test_serve_delivers_by_default_and_not_without_its_worker(tmp_path: Path) -> None:
    with receiving() as receiver:
        db = _prepared(tmp_path, receiver)

        def serve(*flags: str) -> subprocess.Popen[str]:
            return subprocess.Popen(
                [str(ZEROPOOLS), "serve", "--db", db, "--port", str(free_port()), *flags],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=clean_env(),
            )

        quiet = serve("--no-webhook-worker")
        try:
            time.sleep(QUIET_S)
            assert quiet.poll() is None, quiet.communicate()
            assert receiver.requests == []
        finally:
            _stop(quiet)

        delivering = serve()
        try:
            _wait_for_delivery(receiver, delivering)
        finally:
            code, out = _stop(delivering)

        assert receiver.event_types() == ["payin.credited"]
    # uvicorn re-raises the TERM after its shutdown, so the exit code is -15; what matters is
    # that the shutdown (stopping the worker with the app) ran to its end
    assert "Application shutdown complete" in out, (code, out)
