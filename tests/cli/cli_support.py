"""Helpers for running the installed ``zeropools`` command in subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ZEROPOOLS = Path(sys.executable).parent / "zeropools"
COMMAND_TIMEOUT_S = 60


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any ``ZEROPOOLS_*`` setting leaking in, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZEROPOOLS_")}
    # wide lines: rich wraps at 80 columns when not on a terminal
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run(*args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
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


def mismatch_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("MISMATCH")]
