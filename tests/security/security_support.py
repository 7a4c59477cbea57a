"""``zeropools serve`` in a subprocess for the security tests: its log captured whole, its
configuration given as environment variables, on a fresh SQLite file or PostgreSQL database."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from support.processes import ZEROPOOLS, clean_env, free_port, random_operator_key, run

STARTUP_S = 120.0  # a bound against hangs on a loaded machine, not a timing claim
strong_operator_key = random_operator_key  # the name these tests read best with


@dataclass
class Served:
    base_url: str
    port: int
    operator_key: str
    db: str
    log: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> str:
        """Terminate the server, wait for it, and return everything it logged."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return self.log.read_text(encoding="utf-8")


@contextmanager
def serving(db: str, log: Path, **env: str) -> Iterator[Served]:
    """``zeropools serve`` on ``db`` (initialized here) with ``env``; healthy when yielded."""
    init = run("init", "--db", db, **env)
    assert init.returncode == 0, init.stdout + init.stderr
    operator_key = env.setdefault("ZEROPOOLS_OPERATOR_KEY", strong_operator_key())
    port = free_port()
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(ZEROPOOLS), "serve", "--db", db, "--host", "127.0.0.1", "--port", str(port)],
            stdout=sink, stderr=subprocess.STDOUT, env=clean_env(**env),
        )  # fmt: skip
    served = Served(f"http://127.0.0.1:{port}", port, operator_key, db, log, process)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            assert process.poll() is None, f"serve exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"serve not healthy:\n{log.read_text()}"
            try:
                if httpx.get(f"{served.base_url}/healthz", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield served
    finally:
        served.stop()
