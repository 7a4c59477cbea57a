"""The installed ``zeropools`` command as processes: one-shot runs, and servers or workers that a
test can start, SIGKILL and start again.

- ``run``: ``zeropools ARGS...`` to completion (``init``, ``verify``...), environment cleaned of
  ``ZEROPOOLS_*`` settings that would leak in from the developer's shell.
- ``Daemon``: a long-running ``zeropools serve`` or ``zeropools worker``. ``start`` waits until
  it is ready (a ``serve`` answers ``/healthz``; a ``worker`` printed its banner); ``kill``
  sends SIGKILL (no shutdown code runs: what a power cut or the OOM killer does) and reaps it;
  ``restart`` starts the same command line again, on the same port. Output goes to a log file
  that every failure message quotes.

Free of pytest, like the rest of ``support``; ``tests/cli/cli_support.py`` re-exports the one-shot
helpers so the CLI tests and the reliability suites share one implementation.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ZEROPOOLS = Path(sys.executable).parent / "zeropools"
COMMAND_TIMEOUT_S = 60
READY_S = 120.0  # generous: a start-up on a 2-core machine shared with other runs took 17 s
STOP_S = 20.0
_KEY_ALPHABET = string.ascii_letters + string.digits


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any ``ZEROPOOLS_*`` setting leaking in, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEROPOOLS_")}
    # wide lines: rich wraps at 80 columns when not on a terminal
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """``zeropools ARGS...`` to completion, output captured."""
    return subprocess.run(
        [str(ZEROPOOLS), *args],
        capture_output=True,
        text=True,
        env=clean_env(**extra_env),
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def random_operator_key(mode: str = "test") -> str:
    """An operator key with real entropy, for ``ZEROPOOLS_OPERATOR_KEY``."""
    return f"zpk_{mode}_" + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(40))


@dataclass
class Daemon:
    """``zeropools serve`` (``port`` set) or ``zeropools worker`` (``port`` 0) as a process."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int = 0
    ready_line: str = ""  # a worker is ready once its log holds this
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    _log_offset: int = field(default=0, repr=False)

    @classmethod
    def serve(
        cls, db: str, log: Path, *, operator_key: str, webhook_worker: bool = True, **env: str
    ) -> Daemon:
        port = free_port()
        argv = [str(ZEROPOOLS), "serve", "--db", db, "--port", str(port)]
        argv.append("--webhook-worker" if webhook_worker else "--no-webhook-worker")
        return cls(argv, clean_env(ZEROPOOLS_OPERATOR_KEY=operator_key, **env), log, port)

    @classmethod
    def worker(cls, db: str, log: Path, *, threads: int = 2, **env: str) -> Daemon:
        argv = [str(ZEROPOOLS), "worker", "--db", db, "--threads", str(threads)]
        return cls(argv, clean_env(**env), log, ready_line="webhook worker")

    @property
    def base_url(self) -> str:
        assert self.port, "a worker serves no HTTP"
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the command and wait until it is ready."""
        assert not self.alive, "already running"
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(
                self.argv, stdout=sink, stderr=subprocess.STDOUT, env=self.env
            )
        self.starts += 1
        self._wait_ready()

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye; then reap the process."""
        assert self.process is not None and self.alive, self.tail()
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(STOP_S)
        self.kills += 1

    def restart(self) -> None:
        if self.alive:
            self.kill()
        self.start()

    def stop(self) -> None:
        """SIGTERM and wait (SIGKILL if it does not stop); idempotent."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_S)

    def tail(self, chars: int = 4000) -> str:
        """The end of this process's log, for failure messages."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def _wait_ready(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + READY_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.argv[1]} exited with {self.process.returncode}:\n" + self.tail()
                )
            if self._ready():
                return
            time.sleep(0.05)
        raise AssertionError(f"{self.argv[1]} not ready within {READY_S} s:\n{self.tail()}")

    def _ready(self) -> bool:
        if self.port:
            try:
                return httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200
            except httpx.TransportError:
                return False
        with self.log.open("rb") as source:
            source.seek(self._log_offset)
            return self.ready_line.encode() in source.read()
